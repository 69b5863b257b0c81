"""A shared token table: a trimmed student that keeps its teacher's whole vocabulary.

Trimming drops the embedding rows of the pieces the training data never uses; a word of
the test set made of such pieces is then spelled with other, shorter pieces, so the
trimmed model reads it differently from the model it was cut from. With shared rows the
vocabulary stays whole: the table keeps the rows of the kept pieces only, and every
dropped piece reads the row of the kept piece nearest to it (cosine of the rows of the
table being trimmed; a `##` continuation among continuations, a word start among word
starts). Tokenization is the untrimmed model's, so no word gains an `[UNK]` or a new
spelling; the cost is one int32 per vocabulary entry in the weights file (122 KB for
BERT's 30,522) and one int16 in a `.tflite` while the table has at most 32,768 rows (61 KB).
"""

import numpy as np

from nlu_tf.data.tokenizer import CONTINUATION

# Rows of cosine similarities computed at a time: bounds the memory to this many times
# the kept rows (2,048 x 9,477 float32 = 78 MB).
CHUNK = 2048


def _is_candidate(token):
    """A kept piece a dropped one may borrow from: not `[CLS]`, `[unused3]` and the like."""
    return not (token.startswith("[") and token.endswith("]"))


def nearest_kept_rows(table, vocab, kept):
    """For each token of `vocab`, the index in `kept` of the row it reads.

    Args:
        table: (len(vocab), width) rows, in `vocab` order (the table being trimmed).
        vocab: the whole vocabulary, in id order.
        kept: the tokens whose rows stay (a subset of `vocab`, in the new table's order).

    Returns:
        An int32 array of len(vocab): a kept token's own index, a dropped token's the index
        of the kept token with the most similar row of the same kind (word start or `##`
        continuation; any kind when none of its kind is kept).
    """
    table = np.asarray(table, np.float32)
    index = {token: row for row, token in enumerate(vocab)}
    position = {token: i for i, token in enumerate(kept)}
    rows = np.array([position.get(token, -1) for token in vocab], np.int64)
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    for continuation in (True, False):
        same_kind = [i for i, token in enumerate(kept)
                     if _is_candidate(token) and token.startswith(CONTINUATION) == continuation]
        candidates = np.array(same_kind or [i for i, t in enumerate(kept) if _is_candidate(t)]
                              or list(range(len(kept))))
        vectors = unit[[index[kept[i]] for i in candidates]]
        dropped = [i for i, token in enumerate(vocab) if rows[i] < 0
                   and token.startswith(CONTINUATION) == continuation]
        for start in range(0, len(dropped), CHUNK):
            chunk = dropped[start:start + CHUNK]
            rows[chunk] = candidates[np.argmax(unit[chunk] @ vectors.T, axis=1)]
    return rows.astype(np.int32)
