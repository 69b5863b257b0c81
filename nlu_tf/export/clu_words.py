"""nlu_tf's words among the Task Library's, guessed from token ids inside the graph.

`BertCluAnnotator` splits words at whitespace *and* at punctuation, and reads a tag at the
first piece of each of its words; nlu_tf's words are whitespace-separated, so "top-rated"
is one word tagged once. The ids do not show where the whitespace was, so the export
guesses, by a rule chosen on Snips and ATIS dev (docs/results.md): a piece starts an
nlu_tf word when it is not a `##` piece, not a special token, not punctuation, and does
not directly follow a joining mark (`- ' /`; not ".", which ends "st." in ATIS) or a colon
between digits ("06:42"). On dev it finds nlu_tf's words in all but 8 of 700 Snips
utterances (a spaced "&" or "-" inside a name) and all 500 of ATIS, against 42 and 56
for the Task Library's own words. The
Task Library's other words take the continuation of the current word's tag (`B-x` ->
`I-x`), so its spans cover the whole nlu_tf word.
"""

import numpy as np
import tensorflow as tf

from nlu_tf.data.char_classes import is_punctuation
from nlu_tf.data.tokenizer import CLS, CONTINUATION, SEP
from nlu_tf.data.tokenizer import PAD as PAD_TOKEN

JOINERS = ("-", "'", "/")


def vocabulary_tables(vocab):
    """Per vocabulary id, bool arrays: `first` (a Task Library word starts here),
    `punctuation`, `joiner`, `colon`, `digit_start`, `digit_end`."""
    first = [not token.startswith(CONTINUATION) and token not in (CLS, SEP, PAD_TOKEN)
             for token in vocab]
    punctuation = [len(token) == 1 and is_punctuation(token) for token in vocab]
    bare = [token.removeprefix(CONTINUATION) for token in vocab]
    return {"first": np.array(first), "punctuation": np.array(punctuation),
            "joiner": np.array([token in JOINERS for token in vocab]),
            "colon": np.array([token == ":" for token in vocab]),
            "digit_start": np.array([text[:1].isdigit() for text in bare]),
            "digit_end": np.array([text[-1:].isdigit() for text in bare])}


def word_starts(ids, tables):
    """bool (L,): the positions of `ids` (int32 (L,)) that start an nlu_tf word (the rule
    above); `tables`: `vocabulary_tables` as constants."""
    def lookup(name, shift=0):
        values = tf.gather(tables[name], ids)
        if shift == 0:
            return values
        return tf.concat([tf.zeros((shift,), tf.bool), values[:-shift]], axis=0)

    after_joiner = lookup("joiner", 1)
    clock = lookup("colon", 1) & lookup("digit_end", 2) & lookup("digit_start")
    return (lookup("first") & ~lookup("punctuation") & ~after_joiner & ~clock)


def continuation_tags(slots):
    """int32 (S,): per tag, the tag of a later piece of the same word (`B-x`, `I-x` ->
    `I-x` where `I-x` is a label; anything else -> "O")."""
    index = {label: i for i, label in enumerate(slots)}
    outside = index["O"]
    return np.array([index.get("I-" + label[2:], outside) if label[:2] in ("B-", "I-")
                     else outside for label in slots], np.int32)
