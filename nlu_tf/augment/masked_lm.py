"""Word substitution candidates from a masked LM: mask one word, take the top-M whole words."""

import numpy as np
import tensorflow as tf

from nlu_tf.augment.vocabulary import whole_word_mask

MASK = "[MASK]"
_LENGTH_STEP = 8  # batches are padded to a multiple of this, so few shapes are traced


class MaskedLMCandidates:
    """Runs the Keras encoder and its masked-LM head over masked utterances, in batches.

    Each request masks one single-piece word of an utterance (the context is the original
    utterance, as in TinyBERT); the answer is the M most probable whole-word vocabulary
    entries at that position, the original token excluded. Requests are sorted by length
    and padded per batch, and identical masked inputs are predicted once.

    Args:
        encoder: a built `BertEncoder` with the checkpoint's weights.
        head: a loaded `MaskedLMHead`.
        tokenizer: the checkpoint's `WordPieceTokenizer` (its vocabulary must hold [MASK]).
        top_m: candidates per masked word.
        batch_size: masked utterances per forward pass.
        max_seq_len: longest token sequence; words beyond it get no candidates.
    """

    def __init__(self, encoder, head, tokenizer, top_m, batch_size=128, max_seq_len=None):
        if MASK not in tokenizer.vocab:
            raise ValueError(f"the vocabulary has no {MASK} token")
        self._encoder = encoder
        self._head = head
        self._tokenizer = tokenizer
        self._mask_id = tokenizer.token_to_id(MASK)
        self._batch_size = int(batch_size)
        self._max_seq_len = max_seq_len or encoder.max_position_embeddings
        allowed = whole_word_mask(tokenizer.vocab)
        self._top_m = min(int(top_m), max(int(allowed.sum()) - 1, 0))
        self._penalty = tf.constant(np.where(allowed, 0.0, -1e9), dtype=tf.float32)
        self._predict = tf.function(self._top_ids, reduce_retracing=True)

    def _top_ids(self, input_ids, attention_mask, positions, originals):
        output = self._encoder({"input_ids": input_ids, "attention_mask": attention_mask,
                                "token_type_ids": tf.zeros_like(input_ids)}, training=False)
        hidden = tf.gather(output["sequence_output"], positions, batch_dims=1)
        logits = self._head(hidden) + self._penalty
        logits += -1e9 * tf.one_hot(originals, tf.shape(logits)[-1])
        return tf.math.top_k(logits, k=self._top_m).indices

    def _masked_input(self, words, word_index):
        """Token ids with the word's single piece masked, its position, and its original id."""
        encoding = self._tokenizer.encode_words(words, self._max_seq_len)
        if word_index not in encoding.word_starts:
            return None
        position = encoding.word_starts.index(word_index)
        ids = list(encoding.input_ids)
        original, ids[position] = ids[position], self._mask_id
        return tuple(ids), position, original

    def candidates(self, requests, progress=None):
        """Returns one tuple of candidate tokens per `(words, word_index)` request.

        Args:
            requests: a list of `(words, word_index)`; the word must be one vocabulary piece.
            progress: an optional `ProgressBar`, advanced by one per distinct masked input.
        """
        inputs = [self._masked_input(words, index) for words, index in requests]
        if self._top_m == 0:
            return [() for _ in inputs]
        unique = sorted({item for item in inputs if item is not None},
                        key=lambda item: (len(item[0]), item))
        answers = {}
        for start in range(0, len(unique), self._batch_size):
            batch = unique[start:start + self._batch_size]
            length = -(-max(len(ids) for ids, _, _ in batch) // _LENGTH_STEP) * _LENGTH_STEP
            length = min(length, self._max_seq_len)
            ids = np.full((len(batch), length), self._tokenizer.pad_id, dtype=np.int32)
            mask = np.zeros((len(batch), length), dtype=np.int32)
            for row, (tokens, _, _) in enumerate(batch):
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            positions = np.array([position for _, position, _ in batch], dtype=np.int32)
            originals = np.array([original for _, _, original in batch], dtype=np.int32)
            top = self._predict(tf.constant(ids), tf.constant(mask), tf.constant(positions),
                                tf.constant(originals)).numpy()
            for item, row in zip(batch, top):
                answers[item] = tuple(self._tokenizer.id_to_token(int(i)) for i in row)
            if progress is not None:
                progress.update(len(batch))
        return [answers.get(item, ()) if item is not None else () for item in inputs]

    def count_inputs(self, requests):
        """The number of distinct masked inputs `candidates` would run (for a progress bar)."""
        return len({item for item in (self._masked_input(w, i) for w, i in requests)
                    if item is not None})
