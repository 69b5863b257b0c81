"""Which vocabulary entries are whole English words, and which dataset words can be replaced."""

import numpy as np

from nlu_tf.augment.stopwords import STOP_WORDS


def is_whole_word(token):
    """True for an alphabetic vocabulary entry that is a word of its own.

    Special tokens (`[CLS]`, `[unused0]`), continuations (`##ing`), punctuation and digits
    are not whole words; neither are stop words, which are never used as replacements.
    """
    return token.isalpha() and token.isascii() and token not in STOP_WORDS


def whole_word_mask(vocab):
    """A bool array over the vocabulary: True where `is_whole_word` holds."""
    return np.array([is_whole_word(token) for token in vocab], dtype=bool)


def replaceable_token(word, tokenizer):
    """The single vocabulary piece of a replaceable `O` word, or None if it must be kept.

    A word is kept when it is not alphabetic, is a stop word, or is not exactly one
    whole-word vocabulary piece (its sub-words have no neighbours of their own).
    """
    if not word.isalpha() or word.lower() in STOP_WORDS:
        return None
    pieces = tokenizer.word_pieces(word)
    if len(pieces) != 1 or not is_whole_word(pieces[0]):
        return None
    return pieces[0]


def match_case(replacement, original):
    """Gives `replacement` the capitalisation of `original` (all caps, title case or as is)."""
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement
