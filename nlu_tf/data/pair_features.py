"""Token ids, segment ids and labels of GLUE examples: one sentence or a sentence pair.

A single sentence is `[CLS] a [SEP]`, all segment 0; a pair is `[CLS] a [SEP] b [SEP]`, with
segment 0 up to the first `[SEP]` and segment 1 after it, as BERT was pre-trained. Pieces
come from the same `WordPieceTokenizer` as the joint-NLU features, so every artefact sees
the same ids. Too long a sentence loses its last pieces; too long a pair loses pieces
longest-first, BERT's `_truncate_seq_pair` rule (BERT-EMD's too): while the two do not
fit, drop the last piece of the longer one, of the second one when they are as long.
"""

import dataclasses
import itertools
import logging

import numpy as np

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PairFeatures:
    """Encoded examples, one entry per example, variable lengths.

    Attributes:
        input_ids: int32 arrays of token ids.
        token_type_ids: int32 arrays, same lengths: 0 on the first segment, 1 on the second.
        labels: int32 class ids (the index in the task's label list), or float32 scores
            for a regression task.
        pad_id: the id that pads batches.
        truncated: bool array, True where pieces were dropped to fit `max_seq_len`.
    """

    input_ids: list
    token_type_ids: list
    labels: np.ndarray
    pad_id: int = 0
    truncated: np.ndarray = None

    def __len__(self):
        return len(self.input_ids)

    @property
    def lengths(self):
        """int32 array of the token length of every example."""
        return np.array([len(ids) for ids in self.input_ids], dtype=np.int32)

    @property
    def labelled(self):
        """True if the examples have gold labels."""
        return self.labels is not None

    def target_spec(self):
        """{target name: (dtype, rank)} of `batch_targets`."""
        return {"label": (str(self.labels.dtype), 1)}

    def batch_targets(self, indices, length):
        """The targets of the examples `indices`: (B,) `label`, int32 class ids or float32
        scores (`length` unused: one label an example)."""
        del length
        return {"label": self.labels[np.asarray(indices)]}

    def padded(self, indices=None, length=None):
        """The model inputs of `indices` (all by default), padded to `length` (default: their
        longest): int32 (N, L) `input_ids`, `attention_mask` and `token_type_ids`."""
        indices = range(len(self)) if indices is None else indices
        rows = [(self.input_ids[i], self.token_type_ids[i]) for i in indices]
        length = max((len(ids) for ids, _ in rows), default=0) if length is None else length
        input_ids = np.full((len(rows), length), self.pad_id, dtype=np.int32)
        mask = np.zeros((len(rows), length), dtype=np.int32)
        types = np.zeros((len(rows), length), dtype=np.int32)
        for r, (ids, segments) in enumerate(rows):
            if len(ids) > length:
                raise ValueError(f"example of {len(ids)} tokens does not fit length {length}")
            input_ids[r, :len(ids)], mask[r, :len(ids)], types[r, :len(ids)] = ids, 1, segments
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}


def text_pieces(tokenizer, text, limit):
    """The first `limit` WordPiece tokens of `text` (all if fewer); the words after them are
    never tokenized, so a hostile text costs no more than `limit` pieces."""
    pieces = []
    for word in tokenizer.iter_words(text):
        room = limit - len(pieces)
        if room <= 0:
            break
        pieces.extend(itertools.islice(tokenizer.iter_pieces(word, room), room))
    return pieces


def truncate_pair(a, b, budget):
    """Drops pieces from the ends of lists `a` and `b` in place until both fit `budget`
    together: from the longer one, from `b` when they are as long (BERT's rule)."""
    while len(a) + len(b) > budget:
        (a if len(a) > len(b) else b).pop()


def encode_pair(tokenizer, text_a, text_b, max_seq_len):
    """Encodes one sentence (`text_b` None) or one sentence pair.

    Args:
        tokenizer: a `WordPieceTokenizer`.
        text_a: the first sentence.
        text_b: the second sentence, or None.
        max_seq_len: the longest sequence, special tokens included (at least 2 for a
            sentence, 3 for a pair).

    Returns:
        `(input_ids, token_type_ids, truncated)`: two lists of ints of the same length
        and whether pieces were dropped.
    """
    specials = 2 if text_b is None else 3
    if max_seq_len < specials:
        raise ValueError(f"max_seq_len must be at least {specials}, got {max_seq_len}")
    budget = max_seq_len - specials
    # One piece beyond the budget tells whether anything is cut; the rule's outcome only
    # depends on lengths up to the budget, so nothing further is tokenized.
    a = text_pieces(tokenizer, text_a, budget + 1)
    b = [] if text_b is None else text_pieces(tokenizer, text_b, budget + 1)
    truncated = len(a) + len(b) > budget
    truncate_pair(a, b, budget)
    ids = [tokenizer.cls_id, *map(tokenizer.token_to_id, a), tokenizer.sep_id]
    types = [0] * len(ids)
    if text_b is not None:
        ids += [*map(tokenizer.token_to_id, b), tokenizer.sep_id]
        types += [1] * (len(b) + 1)
    return ids, types, truncated


def encode_glue(examples, tokenizer, task, max_seq_len, source=""):
    """Encodes `GlueExample`s of `task` and maps their labels to class ids (or scores).

    Logs one warning counting the examples that had to be truncated.

    Args:
        examples: from `nlu_tf.data.glue.read_glue_split`.
        tokenizer: a `WordPieceTokenizer`.
        task: the `GlueTask` (its label list gives the class ids).
        max_seq_len: the longest token sequence, special tokens included.
        source: a name for the examples (e.g. "MRPC/dev") used in the warning.

    Returns:
        `PairFeatures`.
    """
    encoded = [encode_pair(tokenizer, e.text_a, e.text_b, max_seq_len) for e in examples]
    if task.is_regression:
        labels = np.array([float(e.label) for e in examples], dtype=np.float32)
    else:
        index = {label: i for i, label in enumerate(task.labels)}
        labels = np.array([index[e.label] for e in examples], dtype=np.int32)
    features = PairFeatures(
        input_ids=[np.asarray(ids, dtype=np.int32) for ids, _, _ in encoded],
        token_type_ids=[np.asarray(types, dtype=np.int32) for _, types, _ in encoded],
        labels=labels.reshape(-1), pad_id=int(tokenizer.pad_id),
        truncated=np.array([cut for _, _, cut in encoded], dtype=bool).reshape(-1))
    cut = int(features.truncated.sum())
    if cut:
        logger.warning("%s: %d of %d example(s) longer than max_seq_len=%d tokens were "
                       "truncated", source or task.key, cut, len(examples), max_seq_len)
    return features
