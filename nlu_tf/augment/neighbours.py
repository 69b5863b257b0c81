"""Word substitution candidates: nearest neighbours in a checkpoint's input-embedding space."""

import numpy as np

from nlu_tf.augment.vocabulary import whole_word_mask


class EmbeddingNeighbours:
    """The top-M whole-word vocabulary entries closest (cosine) to a token's input embedding.

    Args:
        embeddings: float array (vocab_size, hidden), the checkpoint's word embeddings.
        vocab: the tokens in id order.
        top_m: candidates per token.
        batch_size: query tokens per similarity matrix (bounds memory to
            batch_size x vocab_size floats).

    Example:
    >>> neighbours = EmbeddingNeighbours(embeddings, tokenizer.vocab, top_m=15)
    >>> neighbours.candidates(["song", "weather"])["song"][:3]
    """

    def __init__(self, embeddings, vocab, top_m, batch_size=512):
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape[0] != len(vocab):
            raise ValueError(f"{embeddings.shape[0]} embeddings for {len(vocab)} vocabulary entries")
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        self._unit = embeddings / np.maximum(norms, 1e-12)
        self._vocab = list(vocab)
        self._index = {token: i for i, token in enumerate(self._vocab)}
        self._candidate_ids = np.flatnonzero(whole_word_mask(self._vocab))
        self._top_m = int(top_m)
        self._batch_size = int(batch_size)

    def candidates(self, tokens, progress=None):
        """Returns {token: tuple of up to M neighbour tokens, nearest first} for vocab tokens.

        The token itself is never its own candidate; among equally close entries the one
        with the lower vocabulary id comes first.

        Args:
            tokens: vocabulary entries (unknown ones are ignored).
            progress: an optional `ProgressBar`, advanced by one per token.
        """
        tokens = sorted({token for token in tokens if token in self._index})
        pool = self._unit[self._candidate_ids]
        result = {}
        for start in range(0, len(tokens), self._batch_size):
            batch = tokens[start:start + self._batch_size]
            ids = np.array([self._index[token] for token in batch])
            similarity = self._unit[ids] @ pool.T
            similarity[self._candidate_ids[None, :] == ids[:, None]] = -np.inf
            keep = min(self._top_m, pool.shape[0] - 1)
            if keep <= 0:
                result.update((token, ()) for token in batch)
                continue
            top = np.argpartition(-similarity, keep - 1, axis=1)[:, :keep]
            for row, token in enumerate(batch):
                order = sorted(top[row], key=lambda column: (-similarity[row, column], column))
                result[token] = tuple(self._vocab[self._candidate_ids[c]] for c in order)
            if progress is not None:
                progress.update(len(batch))
        return result
