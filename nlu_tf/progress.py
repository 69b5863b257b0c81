"""A minimal progress bar on stderr (no TensorFlow import: augmentation and caching share it)."""

import sys
import time


class ProgressBar:
    """Redraws `label [#####.....] done/total` on one stderr line, at most 10 times a second.

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

    def update(self, steps=1):
        """Advances the bar by `steps`; redraws if enough time passed or the bar is full."""
        self.done = min(self.done + steps, self.total)
        now = time.monotonic()
        if self.stream is not None and (now - self._drawn > 0.1 or self.done == self.total):
            self._drawn = now
            filled = self.width * self.done // self.total if self.total else self.width
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} "
                              f"{now - self._start:.0f}s")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
