"""User-facing errors: one line naming the file, the line and the problem."""

import reprlib

QUOTE_LIMIT = 80
# Bounded depth and width: quoting a YAML alias bomb must not expand it.
_REPR = reprlib.Repr()
_REPR.maxlevel = 2
for _name in ("maxtuple", "maxlist", "maxarray", "maxdict", "maxset", "maxfrozenset",
              "maxdeque"):
    setattr(_REPR, _name, 4)
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT
_REPR.maxlong = 40


def quoted(value, limit=QUOTE_LIMIT):
    """`repr(value)` cut to at most `limit` characters, at bounded cost for any value."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class InputError(ValueError):
    """Bad user input (a dataset, a vocabulary, a model directory, a flag value).

    Command lines catch it, print `str(error)` on one line and exit with status 2.

    Args:
        path: the file or directory the problem is in.
        problem: what is wrong, in words.
        line: 1-based line number inside `path`, if the problem has one.
    """

    def __init__(self, path, problem, line=None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class RunError(RuntimeError):
    """A run that cannot go on (e.g. its loss became NaN); nothing is marked complete.

    Command lines catch it, print `str(error)` on one line and exit with status 1.
    """
