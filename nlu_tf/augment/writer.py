"""Keeps the augmented copies worth writing and writes a split folder atomically."""

import dataclasses
import os

from nlu_tf.augment.augmenter import utterance_key
from nlu_tf.io_utils import atomic_dir

SPLIT_FILES = ("seq.in", "seq.out", "label")


@dataclasses.dataclass
class AugmentCounts:
    """What an augmentation run wrote and left out.

    Attributes:
        originals: training utterances, written first and unchanged.
        augmented: augmented utterances written after them.
        dropped_dev_test: copies dropped because they equal a dev or test utterance.
        duplicates: copies skipped because they equal an original or an earlier copy.
    """

    originals: int = 0
    augmented: int = 0
    dropped_dev_test: int = 0
    duplicates: int = 0


class CopyFilter:
    """Accepts a copy unless it equals a dev/test utterance, an original or an accepted copy.

    Utterances are compared uncased (`utterance_key`), as an uncased model sees them.

    Args:
        originals: the training `Example`s.
        held_out: the dev and test `Example`s.
        counts: an `AugmentCounts` updated as copies are judged.
    """

    def __init__(self, originals, held_out, counts):
        self._held_out = {utterance_key(example.words) for example in held_out}
        self._seen = {utterance_key(example.words) for example in originals}
        self.counts = counts
        self.counts.originals = len(originals)

    def accept(self, copy):
        """True if `copy` is new and not a dev/test utterance; counts the reason otherwise."""
        key = utterance_key(copy.words)
        if key in self._held_out:
            self.counts.dropped_dev_test += 1
            return False
        if key in self._seen:
            self.counts.duplicates += 1
            return False
        self._seen.add(key)
        self.counts.augmented += 1
        return True


def write_split(path, examples):
    """Writes `examples` as a split folder (seq.in, seq.out, label), atomically.

    The folder appears at `path` only once every file is complete; an existing folder is
    replaced.
    """
    columns = {"seq.in": [" ".join(e.words) for e in examples],
               "seq.out": [" ".join(e.tags) for e in examples],
               "label": [e.intent for e in examples]}
    with atomic_dir(path, "split") as tmp:
        for name in SPLIT_FILES:
            with open(os.path.join(tmp, name), "w", encoding="utf-8", newline="\n") as f:
                f.writelines(line + "\n" for line in columns[name])
    return path
