"""The inventory of slot values seen in training, and re-tagging."""

import collections

from nlu_tf.tag_rules import bio_spans


def span_tags(slot_type, length):
    """The BIO tags of a slot value of `length` words: `B-type` then `I-type`s."""
    return (f"B-{slot_type}",) + (f"I-{slot_type}",) * (length - 1)


class SlotValues:
    """The distinct values (word tuples) of every slot type, in order of first appearance.

    Args:
        values: {slot_type: sequence of distinct word tuples}.

    Example:
    >>> inventory = SlotValues.from_examples(train_examples)
    >>> inventory.alternative("artist", ("miles", "davis"), np.random.default_rng(0))
    """

    def __init__(self, values):
        self._values = {slot_type: tuple(words) for slot_type, words in values.items()}
        self._index = {slot_type: {value: i for i, value in enumerate(words)}
                       for slot_type, words in self._values.items()}

    @classmethod
    def from_examples(cls, examples):
        """Collects the slot values of labelled `Example`s."""
        values = collections.defaultdict(dict)
        for example in examples:
            for start, end, slot_type in bio_spans(example.tags):
                values[slot_type].setdefault(tuple(example.words[start:end]), None)
        return cls({slot_type: list(seen) for slot_type, seen in values.items()})

    def num_alternatives(self, slot_type, value):
        """How many values of `slot_type` differ from `value` (0 for an unseen type)."""
        values = self._values.get(slot_type, ())
        return len(values) - (tuple(value) in self._index.get(slot_type, {}))

    def alternative(self, slot_type, value, rng):
        """A value of `slot_type` other than `value`, uniformly among the distinct ones.

        Args:
            slot_type: the slot type, e.g. "artist".
            value: the current value, a tuple of words.
            rng: a `numpy.random.Generator`.

        Returns:
            A tuple of words, or None if the type has no other value.
        """
        count = self.num_alternatives(slot_type, value)
        if count <= 0:
            return None
        choice = int(rng.integers(count))
        current = self._index[slot_type].get(tuple(value))
        if current is not None and choice >= current:
            choice += 1
        return self._values[slot_type][choice]

    def __len__(self):
        return sum(len(values) for values in self._values.values())
