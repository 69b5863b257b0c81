"""Reads and validates joint intent / slot datasets in the seq.in / seq.out / label layout.

A dataset directory holds `intent_label.txt`, `slot_label.txt` and one folder per split,
each with three line-aligned files: `seq.in` (whitespace-separated words), `seq.out` (one
BIO tag per word) and `label` (the intent). Every problem is reported as an `InputError`
naming the file and line.
"""

import dataclasses
import logging
import os
import re

from nlu_tf.data.label_check import check_train_labels
from nlu_tf.data.text_lines import iter_lines
from nlu_tf.errors import InputError, quote

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
UNK = "UNK"
PAD = "PAD"
_TAG = re.compile(r"^(O|[BI]-\S+)$")


@dataclasses.dataclass(frozen=True)
class Example:
    """One utterance: its words, one BIO tag per word, its intent and where it came from.

    An augmented utterance's tags and intent were copied from its source utterance: they
    are read and validated, but training never takes them as gold labels.
    """

    words: tuple
    tags: tuple
    intent: str
    line: int = 0
    augmented: bool = False  # written by augmentation: its labels are not gold


def read_lines(path):
    """Returns the lines of a UTF-8 text file without line endings (LF or CRLF)."""
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    return list(iter_lines(path))


def read_vocab(path):
    """Reads a label vocabulary (one label per line, no duplicates, no blank lines)."""
    labels = read_lines(path)
    if not labels:
        raise InputError(path, "empty vocabulary")
    seen = {}
    for number, label in enumerate(labels, 1):
        label = label.strip()
        if not label or " " in label:
            raise InputError(path, f"bad label {quote(label)}", number)
        if label in seen:
            raise InputError(path, f"duplicate label {quote(label)} (first on line {seen[label]})", number)
        seen[label] = number
    return [label.strip() for label in labels]


def resolve_data_dir(data_dir, task=None):
    """Returns the dataset folder: `data_dir/task` if it exists, else `data_dir` itself."""
    if task and os.path.isdir(os.path.join(data_dir, task)):
        return os.path.join(data_dir, task)
    if not os.path.isdir(data_dir):
        raise InputError(data_dir, "data directory not found")
    return data_dir


def split_name(folder, split):
    """A short name of a split for messages: `<dataset folder name>/<split>`."""
    return f"{os.path.basename(os.path.normpath(folder))}/{split}"


def read_split(data_dir, split):
    """Reads and validates one split folder into a list of `Example`s."""
    folder = os.path.join(data_dir, split)
    paths = {name: os.path.join(folder, name) for name in ("seq.in", "seq.out", "label")}
    if not os.path.isdir(folder):
        raise InputError(folder, f"split folder '{split}' not found")
    content = {name: read_lines(path) for name, path in paths.items()}
    counts = {name: len(lines) for name, lines in content.items()}
    if len(set(counts.values())) > 1:
        shortest = min(counts, key=counts.get)
        detail = ", ".join(f"{name} {count}" for name, count in counts.items())
        raise InputError(paths[shortest], f"line counts differ ({detail})", counts[shortest] + 1)
    examples = []
    rows = zip(content["seq.in"], content["seq.out"], content["label"])
    for number, (text, tag_line, intent) in enumerate(rows, 1):
        words, tags, intent = text.split(), tag_line.split(), intent.strip()
        if not words:
            raise InputError(paths["seq.in"], "empty utterance", number)
        if len(tags) != len(words):
            raise InputError(paths["seq.out"],
                             f"{len(tags)} tags for {len(words)} words in seq.in", number)
        for tag in tags:
            if not _TAG.match(tag):
                raise InputError(paths["seq.out"],
                                 f"malformed tag {quote(tag)} (expected O, B-x or I-x)", number)
        if not intent or len(intent.split()) != 1:
            raise InputError(paths["label"], f"bad intent {quote(intent)}", number)
        examples.append(Example(tuple(words), tuple(tags), intent, number))
    return examples


@dataclasses.dataclass(frozen=True)
class LabelMaps:
    """Intent and slot vocabularies of a dataset or a model; index 0..n-1 in file order."""

    head = "joint"  # the head kind these labels are for (`nlu_tf.model_io.heads`)

    intents: tuple
    slots: tuple

    @classmethod
    def from_dir(cls, directory):
        """Reads `intent_label.txt` and `slot_label.txt` from a dataset or model directory."""
        intents = read_vocab(os.path.join(directory, "intent_label.txt"))
        slots = read_vocab(os.path.join(directory, "slot_label.txt"))
        for path, labels, needed in ((os.path.join(directory, "intent_label.txt"), intents, (UNK,)),
                                     (os.path.join(directory, "slot_label.txt"), slots, (PAD, UNK, "O"))):
            missing = [label for label in needed if label not in labels]
            if missing:
                raise InputError(path, f"vocabulary lacks {', '.join(missing)}")
        # A model predicts only its own tags: held to the rule of the data's tags, they are
        # what slot F1 and the slot spans can read (`tag_rules.bio_spans`).
        for number, label in enumerate(slots, 1):
            if label not in (PAD, UNK) and not _TAG.match(label):
                raise InputError(os.path.join(directory, "slot_label.txt"),
                                 f"malformed tag {quote(label)} (expected O, B-x or I-x)", number)
        return cls(tuple(intents), tuple(slots))

    def intent_ids(self, examples, source=""):
        """Maps intents to ids; unknown intents become UNK and are counted in a warning."""
        index = {label: i for i, label in enumerate(self.intents)}
        ids = [index.get(example.intent, index[UNK]) for example in examples]
        unknown = sum(example.intent not in index for example in examples)
        if unknown:
            logger.warning("%s: %d utterance(s) with an intent outside the vocabulary, mapped to "
                           "UNK (they count as errors)", source or "data", unknown)
        return ids

    def slot_ids(self, examples, source=""):
        """Maps tags to ids per word; unknown tags become UNK and are counted in a warning."""
        index = {label: i for i, label in enumerate(self.slots)}
        ids, unknown = [], 0
        for example in examples:
            row = [index.get(tag, index[UNK]) for tag in example.tags]
            unknown += any(tag not in index for tag in example.tags)
            ids.append(row)
        if unknown:
            logger.warning("%s: %d utterance(s) with a slot tag outside the vocabulary, mapped to "
                           "UNK (they count as errors)", source or "data", unknown)
        return ids


def mark_augmented(examples, data_dir):
    """Marks the examples of an augmented training split that are not utterances of the
    dataset's `train` split (same words, tags and intent) as `augmented`.

    Without a `train` folder nothing is known to be original, and nothing is marked.
    """
    if not os.path.isdir(os.path.join(data_dir, "train")):
        return examples
    originals = {(e.words, e.tags, e.intent) for e in read_split(data_dir, "train")}
    return [e if (e.words, e.tags, e.intent) in originals
            else dataclasses.replace(e, augmented=True) for e in examples]


def read_dataset(data_dir, max_train_examples=0, train_split="train"):
    """Reads and validates a whole dataset: its vocabularies and every split.

    Returns `(labels, {"train": [...], "dev": [...], "test": [...]})`; with
    `max_train_examples` only the first utterances of train are kept. `train_split` names
    the folder read as training data (e.g. `train_aug` for an augmented set); a training
    label outside the vocabulary is an `InputError` (see `check_train_labels`).
    """
    labels = LabelMaps.from_dir(data_dir)
    if not os.path.isdir(os.path.join(data_dir, train_split)):
        raise InputError(os.path.join(data_dir, train_split),
                         f"no '{train_split}' folder: training split not found")
    splits = {split: read_split(data_dir, train_split if split == "train" else split)
              for split in SPLITS}
    if train_split != "train":
        splits["train"] = mark_augmented(splits["train"], data_dir)
    if max_train_examples:
        splits["train"] = splits["train"][:max_train_examples]
    check_train_labels(labels, splits["train"], os.path.join(data_dir, train_split))
    return labels, splits
