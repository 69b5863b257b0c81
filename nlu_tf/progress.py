"""A minimal progress bar on stderr (no TensorFlow import: augmentation and caching share it)."""

import sys
import time


class ProgressBar:
    """Redraws `label [#####.....] done/total` on one stderr line, at most 10 times a second.

    A stream that is not a terminal (a log file under `nohup`) gets one line per tenth of
    the way instead, so logs stay short and readable.

    Args:
        total: the number of steps.
        label: a word shown before the bar.
        stream: where to draw (stderr by default); None draws nothing.
    """

    def __init__(self, total, label="", stream=sys.stderr, width=30):
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream
        self.width = width
        self.done = 0
        self._start = time.monotonic()
        self._drawn = 0.0
        self._tenths = -1
        self._terminal = is_terminal(stream)

    def update(self, steps=1):
        """Advances the bar by `steps`; redraws if enough time passed or the bar is full."""
        self.done = min(self.done + steps, self.total)
        if self.stream is None:
            return
        now = time.monotonic()
        finished = self.done == self.total
        if self._terminal:
            if now - self._drawn <= 0.1 and not finished:
                return
            start, end = "\r", "\n" if finished else ""
        else:
            tenths = 10 * self.done // self.total if self.total else 10
            if tenths == self._tenths:
                return
            self._tenths = tenths
            start, end = "", "\n"
        self._drawn = now
        filled = self.width * self.done // self.total if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"{start}{self.label} [{bar}] {self.done}/{self.total} "
                          f"{now - self._start:.0f}s{end}")
        self.stream.flush()


def fit_verbosity(verbose, stream=None):
    """Keras `fit` verbosity for `verbose`: 1 (a bar redrawn at every step) becomes 2 (one
    line an epoch) when `stream` (stdout by default) is not a terminal, since Keras redraws
    its bar with carriage returns and colour codes even into a log file."""
    if verbose == 1 and not is_terminal(sys.stdout if stream is None else stream):
        return 2
    return verbose


def is_terminal(stream):
    """True for a stream that is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
