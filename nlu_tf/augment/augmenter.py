"""Copies of one utterance: O words replaced word for word, slot values replaced by others."""

import dataclasses

import numpy as np

from nlu_tf.augment.slots import span_tags
from nlu_tf.augment.vocabulary import match_case
from nlu_tf.data.reader import Example
from nlu_tf.tag_rules import bio_spans
from nlu_tf.training.setting_fields import setting


@dataclasses.dataclass(frozen=True)
class AugmentSettings:
    """How much to augment, each setting declared once (`setting_fields`); the flags keep
    the names of TinyBERT's (N, M, p), the pipeline recipe's `augment` section the fields'."""

    copies: int = setting(30, "Augmented copies attempted per utterance.", flag="N")
    candidates: int = setting(15, "Replacement candidates per word.", flag="M")
    probability: float = setting(0.4, "Probability of replacing each word / slot value.",
                                 flag="p")
    seed: int = setting(42, "Random seed: same seed, same output, byte for byte.")
    batch_size: int = setting(128, "Masked utterances per forward pass.")

    # Checked by hand, not by `check_fields`: the messages name TinyBERT's flags, which a
    # user of nlu-data-augmentation typed, beside what they mean.
    def __post_init__(self):
        if self.copies < 0:
            raise ValueError(f"N (copies per utterance) must be >= 0, got {self.copies}")
        if self.candidates < 1:
            raise ValueError(f"M (candidates per word) must be >= 1, got {self.candidates}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"p (replacement probability) must be in [0, 1], got {self.probability}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def _units(example, word_candidates, inventory):
    """The replaceable units of an utterance, left to right.

    A unit is `(start, end, slot_type)` for a slot span with other values to choose from,
    or `(index, index + 1, None)` for an `O` word with candidates.
    """
    units = [(start, end, slot_type) for start, end, slot_type in bio_spans(example.tags)
             if inventory.num_alternatives(slot_type, example.words[start:end]) > 0]
    units += [(index, index + 1, None) for index in word_candidates]
    return sorted(units)


def augment_example(example, word_candidates, inventory, copies, probability, rng):
    """Returns `copies` augmented versions of `example` (some may equal the original).

    Each copy replaces each eligible `O` word with probability `probability` by a random
    one of its candidates (capitalised like the word), and each slot span with the same
    probability by another value of its type, re-tagged `B-x I-x ...`. The intent and the
    slot types, in order, are those of the original.

    Args:
        example: an `Example`.
        word_candidates: {word index: tuple of replacement tokens} for its `O` words.
        inventory: a `SlotValues` of the training split.
        copies: how many copies to draw.
        probability: the replacement probability p.
        rng: a `numpy.random.Generator`, advanced in a fixed order (copy, unit).
    """
    units = _units(example, word_candidates, inventory)
    result = []
    for _ in range(copies):
        words, tags, last = [], [], 0
        for start, end, slot_type in units:
            words.extend(example.words[last:start])
            tags.extend(example.tags[last:start])
            original = example.words[start:end]
            replace = rng.random() < probability
            if slot_type is None:
                choices = word_candidates[start]
                new = (match_case(choices[int(rng.integers(len(choices)))], original[0]),) \
                    if replace else original
                words.extend(new)
                tags.append(example.tags[start])
            elif replace:
                new = inventory.alternative(slot_type, original, rng)
                words.extend(new)
                tags.extend(span_tags(slot_type, len(new)))
            else:
                words.extend(original)
                tags.extend(example.tags[start:end])
            last = end
        words.extend(example.words[last:])
        tags.extend(example.tags[last:])
        result.append(Example(tuple(words), tuple(tags), example.intent, example.line))
    return result


def utterance_key(words):
    """The form under which two utterances count as equal: the uncased, space-joined words."""
    return " ".join(words).lower()


def new_generator(seed):
    """The numpy Generator every augmentation run draws from."""
    return np.random.default_rng(seed)
