"""Token ids and first-sub-token slot labels of a dataset, ready for `nlu_tf.data.dataset`.

Each word's slot id sits on its first sub-token; every other position (later sub-tokens,
`[CLS]`, `[SEP]`) carries `IGNORE`, which the loss and the metrics skip. Words dropped by
truncation, or left without any sub-token, have no position at all: they keep counting in
evaluation through `num_words` (their predicted tag is "O").
"""

import dataclasses
import logging

import numpy as np

logger = logging.getLogger(__name__)

IGNORE = -100


@dataclasses.dataclass(frozen=True)
class Features:
    """Encoded utterances, one entry per utterance, variable lengths.

    Attributes:
        input_ids: int32 arrays of token ids, `[CLS] ... [SEP]`.
        word_starts: int32 arrays, same lengths: the word index at a word's first
            sub-token, else -1.
        num_words: int32 array, the number of words of every utterance.
        pad_id: the id that pads batches.
        slot_labels: int32 arrays, same lengths: the word's slot id at its first sub-token,
            `IGNORE` elsewhere; None for unlabelled text.
        intent: int32 array of intent ids; None for unlabelled text.
        truncated: bool array, True where words were dropped to fit `max_seq_len`.
        token_type_ids: always None: an utterance is one segment (padded batches give it
            segment 0; `PairFeatures` carries its own).
    """

    input_ids: list
    word_starts: list
    num_words: np.ndarray
    pad_id: int = 0
    slot_labels: list = None
    intent: np.ndarray = None
    truncated: np.ndarray = None
    token_type_ids: list = None

    def __len__(self):
        return len(self.input_ids)

    @property
    def labelled(self):
        """True if intent and slot targets are present."""
        return self.intent is not None and self.slot_labels is not None

    @property
    def lengths(self):
        """int32 array of the token length of every utterance."""
        return np.array([len(ids) for ids in self.input_ids], dtype=np.int32)

    @staticmethod
    def target_spec():
        """{target name: (dtype, rank)} of `batch_targets`."""
        return {"intent": ("int32", 1), "slots": ("int32", 2)}

    def batch_targets(self, indices, length):
        """The targets of the examples `indices`, padded to `length` tokens: int32 (B,)
        `intent` and int32 (B, L) `slots`, `IGNORE` beyond each utterance."""
        slots = np.full((len(indices), length), IGNORE, dtype=np.int32)
        for r, i in enumerate(indices):
            slots[r, :len(self.slot_labels[i])] = self.slot_labels[i]
        return {"intent": self.intent[indices].astype(np.int32), "slots": slots}


def features_from_encodings(encodings, pad_id=0):
    """Builds unlabelled `Features` (for prediction) from tokenizer `Encoding`s.

    Args:
        encodings: `Encoding`s from `WordPieceTokenizer.encode_words` or `encode_text`.
        pad_id: the tokenizer's `pad_id`.

    Returns:
        `Features` without `intent` and `slot_labels`.
    """
    return Features(
        input_ids=[np.asarray(e.input_ids, dtype=np.int32) for e in encodings],
        word_starts=[np.asarray(e.word_starts, dtype=np.int32) for e in encodings],
        num_words=np.array([e.num_words for e in encodings], dtype=np.int32).reshape(-1),
        pad_id=int(pad_id),
        truncated=np.array([e.truncated for e in encodings], dtype=bool).reshape(-1))


def encode_examples(examples, tokenizer, labels, max_seq_len, source=""):
    """Tokenizes labelled examples and aligns each word's slot id to its first sub-token.

    Logs one warning counting the utterances that had to be truncated.

    Args:
        examples: `Example`s from `nlu_tf.data.reader.read_split`.
        tokenizer: a `WordPieceTokenizer`.
        labels: the `LabelMaps` of the model.
        max_seq_len: the longest token sequence, `[CLS]` and `[SEP]` included.
        source: a name for the examples (e.g. "snips/train") used in warnings.

    Returns:
        Labelled `Features`; augmented examples get `IGNORE` as intent and slot ids.
    """
    encodings = [tokenizer.encode_words(example.words, max_seq_len) for example in examples]
    features = features_from_encodings(encodings, tokenizer.pad_id)
    slot_ids = labels.slot_ids(examples, source)
    slot_labels = [_align(starts, word_slots)
                   for starts, word_slots in zip(features.word_starts, slot_ids)]
    intent = np.array(labels.intent_ids(examples, source), dtype=np.int32).reshape(-1)
    for i, example in enumerate(examples):
        if example.augmented:  # learns from the teacher only: no gold targets
            intent[i] = IGNORE
            slot_labels[i] = np.full_like(slot_labels[i], IGNORE)
    truncated = int(features.truncated.sum())
    if truncated:
        logger.warning("%s: %d of %d utterance(s) longer than max_seq_len=%d tokens were "
                       "truncated; their dropped words are predicted as 'O'",
                       source or "data", truncated, len(examples), max_seq_len)
    return dataclasses.replace(features, slot_labels=slot_labels, intent=intent)


def _align(word_starts, word_slots):
    """Puts each word's slot id on its first sub-token and `IGNORE` everywhere else."""
    labels = np.full(len(word_starts), IGNORE, dtype=np.int32)
    firsts = word_starts >= 0
    labels[firsts] = np.asarray(word_slots, dtype=np.int32)[word_starts[firsts]]
    return labels
