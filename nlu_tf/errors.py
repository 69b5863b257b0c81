"""User-facing input errors: one line naming the file, the line and the problem."""


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
