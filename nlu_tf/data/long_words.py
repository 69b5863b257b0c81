"""Basic tokens of a long word, computed chunk by chunk so that memory does not grow with it.

`WordPieceTokenizer.basic_tokens` cleans, normalises and splits a whole string at once,
holding several copies of it. Every step is per character except NFD's canonical
reordering of combining marks (lower-casing tokenizers only), so a word can be cut

- anywhere when the tokenizer does not lower-case;
- else before a character kept by cleaning whose decomposition starts with a character of
  canonical combining class 0 (a starter: nothing is reordered across it). Characters that
  leave nothing behind (dropped by cleaning, or decomposing only into non-spacing marks of
  class > 0, which are stripped whatever their order) are skipped at a cut. A run of other
  combining characters (spacing marks, never separators) longer than `max_chars_per_word`
  may be cut anywhere: its basic token is `[UNK]` whatever the order.

Basic tokens that span a cut are joined; once one is longer than `max_chars_per_word` only
that fact is kept (it is `[UNK]`). The result equals `basic_tokens` on the whole word
(tests/test_tokenizer.py checks it with a tiny `CHUNK_CHARS`).
"""

import unicodedata

# Characters per chunk; words up to this length take the plain path.
CHUNK_CHARS = 4096

TOO_LONG = None  # the basic token yielded for one longer than `max_chars_per_word`


def _leaves_nothing(decomposed):
    return all(unicodedata.combining(c) and unicodedata.category(c) == "Mn" for c in decomposed)


def cut_point(tokenizer, word, end):
    """`(cut, resume)`: the chunk ending near `end` ends at `cut`; the next starts at `resume`
    (the characters between leave nothing behind)."""
    if not tokenizer.lower_case or end >= len(word):
        return end, end
    cut, surviving = end, 0
    for index in range(end, len(word)):
        char = word[index]
        if tokenizer.dropped(char):
            continue
        decomposed = unicodedata.normalize("NFD", char)
        if _leaves_nothing(decomposed):
            continue
        if not unicodedata.combining(decomposed[0]) or surviving > tokenizer.max_chars_per_word:
            return cut, index
        # A combining character that stays: this chunk takes it.
        surviving += len(decomposed)
        cut = index + 1
    return cut, len(word)


def long_basic_tokens(tokenizer, word):
    """Yields the basic tokens of `word` (as `basic_tokens`), `TOO_LONG` for an over-long one."""
    limit = tokenizer.max_chars_per_word
    parts, length = [], 0  # the token still open at the end of the last chunk
    position = 0
    while position < len(word):
        cut, resume = cut_point(tokenizer, word, min(position + CHUNK_CHARS, len(word)))
        text = tokenizer.normalize(word[position:cut])
        position = resume
        if not text:
            continue
        tokens = tokenizer.split_normalized(text)
        joins = not text[0].isspace() and not tokenizer.is_punctuation(text[0])
        for number, token in enumerate(tokens):
            if number or not joins:
                if length:
                    yield TOO_LONG if length > limit else "".join(parts)
                parts, length = [], 0
            length += len(token)
            parts = [] if length > limit else parts + [token]
        if text[-1].isspace() or tokenizer.is_punctuation(text[-1]):
            if length:
                yield TOO_LONG if length > limit else "".join(parts)
            parts, length = [], 0
    if length:
        yield TOO_LONG if length > limit else "".join(parts)
