"""User-facing errors: one line naming the file, the line and the problem."""

QUOTE_LIMIT = 80
# A list, tuple, set or mapping shows at most this many items, this many levels deep:
# quoting a YAML alias bomb must not expand it.
_ITEMS = 4
_DEPTH = 2
_BRACKETS = ((dict, "{}"), (list, "[]"), (tuple, "()"), (set, "{}"), (frozenset, "{}"))


def quote(value, limit=QUOTE_LIMIT):
    """`value` read from a file, a recipe or a flag, shown on one line at bounded cost.

    A string is shown as `repr` shows it, in quotes with newlines and terminal escapes
    escaped, cut to `limit` characters; None, a bool or a number by its `repr`; a list,
    tuple, set or mapping by at most 4 items, 2 levels deep; anything else by its type
    only, so quoting never calls the `repr` of an object a file built. A string longer
    than `limit` is cut and followed by "..."; any other value's text ends in "..." where
    it is cut to `limit` characters.
    """
    if isinstance(value, str):
        return repr(value[:limit]) + ("..." if len(value) > limit else "")
    text = _shown(value, _DEPTH)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _shown(value, depth):
    if isinstance(value, str):
        return repr(value[:QUOTE_LIMIT]) + ("..." if len(value) > QUOTE_LIMIT else "")
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    brackets = next((pair for kind, pair in _BRACKETS if isinstance(value, kind)), None)
    if brackets is None:
        return f"<{type(value).__name__}>"
    if not value:
        return "set()" if isinstance(value, (set, frozenset)) else brackets
    if depth == 0:
        return f"{brackets[0]}...{brackets[1]}"
    pairs = isinstance(value, dict)
    items = []
    for item in (value.items() if pairs else value):
        if len(items) == _ITEMS:
            items.append("...")
            break
        items.append(f"{_shown(item[0], depth - 1)}: {_shown(item[1], depth - 1)}" if pairs
                     else _shown(item, depth - 1))
    comma = "," if isinstance(value, tuple) and len(value) == 1 else ""
    return f"{brackets[0]}{', '.join(items)}{comma}{brackets[1]}"


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
