"""Training labels must be in the vocabulary: a model cannot learn a label it has no id for.

Dev and test may hold labels outside the vocabulary (they are scored as errors); a
training utterance with one would be trained towards `UNK`, so it is refused instead.
"""

import collections
import difflib
import os

from nlu_tf.errors import InputError, quote


def _closest(label, vocabulary):
    match = difflib.get_close_matches(label, vocabulary, n=1, cutoff=0.6)
    return f"closest in the vocabulary: {quote(match[0])}" if match else \
        "nothing close in the vocabulary"


def check_train_labels(labels, examples, split_dir):
    """Raises `InputError` if a training intent or slot tag is not in `labels`.

    The message names the first unknown label (intents before tags), how many utterances
    carry it, its first file:line, the closest vocabulary entry and how many other unknown
    labels there are.

    Args:
        labels: the `LabelMaps` the model is trained with.
        examples: the training `Example`s (with their line numbers).
        split_dir: the folder the examples were read from (e.g. `data/snips/train_aug`).
    """
    unknown = []
    for kind, file_name, vocabulary, values in (
            ("intent", "label", labels.intents, lambda e: (e.intent,)),
            ("slot tag", "seq.out", labels.slots, lambda e: e.tags)):
        known = set(vocabulary)
        carriers, first_line = collections.Counter(), {}
        for example in examples:
            for label in set(values(example)) - known:
                carriers[label] += 1
                first_line.setdefault(label, example.line)
        unknown += sorted((first_line[label], label, carriers[label], kind, file_name, vocabulary)
                          for label in carriers)
    if not unknown:
        return
    line, label, count, kind, file_name, vocabulary = unknown[0]
    others = len(unknown) - 1
    raise InputError(
        os.path.join(split_dir, file_name),
        f"training {kind} {quote(label)} is not in the vocabulary ({count} utterance(s) carry "
        f"it; {_closest(label, vocabulary)})"
        + (f"; {others} other unknown label(s)" if others else ""), line)
