"""Per-word views of one line that do not hold one Python object per word.

A line of millions of words (a hostile or careless input) is cut to `max_seq_len` tokens,
but its output still names every word: where it is (`WordSpans`), what it is
(`WordTexts`) and its tag, "O" for all but the few that got tokens (`SparseTags`). Each
is an immutable sequence computed from the line on demand, equal to the tuple it stands
for; memory does not grow with the number of words.
"""

import collections.abc
import re

WORD = re.compile(r"\S+")  # the words of `WordPieceTokenizer.encode_text`


class _View(collections.abc.Sequence):
    """An immutable sequence equal to (and hashed like) the tuple of its items."""

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._item(index)

    def __reversed__(self):
        return reversed(tuple(self))

    def __eq__(self, other):
        if not isinstance(other, (tuple, list, _View)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __hash__(self):
        return hash(tuple(self))

    def __repr__(self):
        return repr(tuple(self)) if len(self) <= 64 else f"<{type(self).__name__} of {len(self)}>"


class WordSpans(_View):
    """The `(start, end)` offsets of the whitespace words of `text`, found again on demand.

    Args:
        text: the line.
        count: its number of words.
        known: `{word index: span}` of the words looked up often (those that got tokens).
    """

    def __init__(self, text, count, known=None):
        self.text, self._count, self._known = text, count, dict(known or {})

    def __len__(self):
        return self._count

    def __iter__(self):
        return (match.span() for match in WORD.finditer(self.text))

    def _item(self, index):
        span = self._known.get(index)
        if span is None:
            span = next(span for number, span in enumerate(self) if number == index)
        return span


class WordTexts(_View):
    """The words of a line, cut from it on demand by their `spans`."""

    def __init__(self, text, spans):
        self.text, self.spans = text, spans

    def __len__(self):
        return len(self.spans)

    def __iter__(self):
        return (self.text[start:end] for start, end in self.spans)

    def _item(self, index):
        start, end = self.spans[index]
        return self.text[start:end]


class SparseTags(_View):
    """`count` tags, "O" except the `{word index: tag}` of `tagged`."""

    def __init__(self, count, tagged):
        self._count, self._tagged = count, dict(tagged)

    def __len__(self):
        return self._count

    def __iter__(self):
        return (self._tagged.get(index, "O") for index in range(self._count))

    def _item(self, index):
        return self._tagged.get(index, "O")


def count_words(text, start=0):
    """The number of whitespace words of `text[start:]`, counted without keeping them."""
    return sum(1 for _ in WORD.finditer(text, start))
