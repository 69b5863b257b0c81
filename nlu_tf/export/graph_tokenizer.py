"""WordPiece tokenization and first-sub-token alignment as TensorFlow ops (TF Text).

`GraphTokenizer` reproduces `nlu_tf.data.tokenizer.WordPieceTokenizer.encode_text` inside a
graph, so a SavedModel can take raw strings: split on whitespace into words, clean and
(optionally) lower-case each word, BERT basic tokenization (punctuation and CJK splits) and
WordPiece per word, whole words dropped from the end past `max_seq_len`, `[CLS] ... [SEP]`.

Known differences from the Python tokenizer, all outside normal text: words longer than
`max_chars_per_word` *bytes* (not characters) become `[UNK]`; unassigned code points (Cn)
are kept instead of dropped.
"""

import tensorflow as tf
import tensorflow_text as text

from nlu_tf.data.tokenizer import CLS, SEP, UNK

# Python's `str.isspace()` set, which `WordPieceTokenizer.split_text` (regex `\S+`) uses.
WHITESPACE = (r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
              r"\x{202f}\x{205f}\x{3000}]+")
# Dropped before tokenization, as `WordPieceTokenizer.basic_tokens` does.
CONTROL = r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}\x{FFFD}]"
ACCENT = r"\p{Mn}"
# The one context-dependent lower-casing rule (final sigma); Python lower-cases per character.
CAPITAL_SIGMA, SMALL_SIGMA = "\u03a3", "\u03c3"


class GraphTokenizer(tf.Module):
    """Encodes a batch of raw utterances into padded model inputs plus word alignment.

    Args:
        vocab: the tokens in id order (the model's `vocab.txt`).
        lower_case: strip accents and lower-case (uncased checkpoints).
        max_seq_len: the longest token sequence, `[CLS]` and `[SEP]` included.
        pad_id: the id that pads the batch.
        max_chars_per_word: longer words become `[UNK]` (counted in UTF-8 bytes).

    Example:
    >>> tokenizer = GraphTokenizer(vocab, lower_case=True, max_seq_len=50, pad_id=0)
    >>> encoded = tokenizer.encode(tf.constant(["play some jazz"]))
    >>> encoded["input_ids"]  # (1, 5) int32
    """

    def __init__(self, vocab, lower_case, max_seq_len, pad_id, max_chars_per_word=100,
                 name=None):
        super().__init__(name=name)
        # Last occurrence wins for a duplicated token, as in `WordPieceTokenizer`.
        index = {token: i for i, token in enumerate(vocab)}
        initializer = tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(index), tf.string), tf.constant(list(index.values()), tf.int64))
        self._table = tf.lookup.StaticVocabularyTable(initializer, num_oov_buckets=1)
        self._wordpiece = text.BertTokenizer(
            self._table, suffix_indicator="##", max_bytes_per_word=max_chars_per_word,
            token_out_type=tf.int64, unknown_token=UNK, lower_case=False)
        self._lower_case = bool(lower_case)
        self._budget = int(max_seq_len) - 2
        self._cls_id, self._sep_id = index[CLS], index[SEP]
        self._pad_id = int(pad_id)

    def _normalize(self, words):
        words = tf.strings.regex_replace(words, CONTROL, "")
        if self._lower_case:
            words = text.normalize_utf8(words, "NFD")
            words = tf.strings.regex_replace(words, ACCENT, "")
            words = tf.strings.regex_replace(words, CAPITAL_SIGMA, SMALL_SIGMA)
            words = tf.strings.lower(words, encoding="utf-8")
        return words

    def encode(self, texts):
        """Tokenizes `texts` (tf.string, (B,)).

        Returns:
            A dict: `input_ids`, `attention_mask`, `token_type_ids` (int32, (B, L), padded to
            the longest utterance of the batch); `words`, the whitespace-separated words
            (ragged (B, (W))); and, one entry per word of `words.flat_values`: `word_row`
            (its utterance), `word_position` (the position of its first sub-token) and
            `word_has_token` (False for a word truncated away or left without pieces).
        """
        words = text.regex_split(texts, WHITESPACE)
        pieces = self._wordpiece.tokenize(self._normalize(words.flat_values)).merge_dims(1, 2)
        counts = pieces.row_lengths()
        # Pieces up to and including each word, counted inside its own utterance.
        total = tf.cumsum(counts)
        before_row = tf.gather(tf.concat([[0], total], 0), words.row_splits[:-1])
        word_row = words.value_rowids()
        ends = total - tf.gather(before_row, word_row)
        # Whole words are dropped from the end; cumulative counts only grow, so the first
        # word that does not fit is followed only by words that do not either.
        keep = ends <= self._budget
        kept = tf.ragged.boolean_mask(
            tf.RaggedTensor.from_row_splits(pieces, words.row_splits),
            tf.RaggedTensor.from_row_splits(keep, words.row_splits)).merge_dims(1, 2)
        batch = tf.shape(texts, out_type=tf.int64)[0]
        cls = tf.fill([batch, 1], tf.constant(self._cls_id, tf.int64))
        sep = tf.fill([batch, 1], tf.constant(self._sep_id, tf.int64))
        ids = tf.concat([cls, kept, sep], axis=1)
        # At least [CLS] [SEP] wide, so that an empty batch still has a [CLS] column.
        width = tf.maximum(ids.bounding_shape(axis=1), 2)
        input_ids = tf.cast(ids.to_tensor(default_value=self._pad_id,
                                          shape=tf.stack([batch, width])), tf.int32)
        attention_mask = tf.sequence_mask(ids.row_lengths(), tf.shape(input_ids)[1],
                                          dtype=tf.int32)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": tf.zeros_like(input_ids),
            "words": words,
            "word_row": word_row,
            "word_position": 1 + ends - counts,
            "word_has_token": keep & (counts > 0),
        }
