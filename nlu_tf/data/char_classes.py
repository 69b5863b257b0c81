"""The character classes of BERT's basic tokenization (as the Hugging Face fast tokenizer's
`BertNormalizer` and `BertPreTokenizer` draw them): whitespace, control characters,
punctuation and CJK ideographs. Shared by the tokenizer and the Task Library export, which
must split words exactly where the tokenizer does.
"""

import unicodedata

_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_whitespace(char):
    """Space, tab, newline, carriage return, and the Unicode separators (Zs, Zl, Zp)."""
    return char in " \t\n\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def is_control(char):
    """Other (C*) characters, except tab, newline and carriage return (treated as space)."""
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def is_punctuation(char):
    """Unicode punctuation, plus every ASCII non-alphanumeric printable character ($, +, ^)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_cjk(char):
    cp = ord(char)
    return any(low <= cp <= high for low, high in _CJK_RANGES)
