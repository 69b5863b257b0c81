"""BERT WordPiece tokenization of pre-split words, with first-sub-token alignment.

One tokenizer serves training, evaluation, prediction and export, so every artefact sees
the same ids. It reproduces the Hugging Face fast BERT tokenizer (`BertNormalizer`,
`BertPreTokenizer`, `WordPiece`) in pure Python:

1. clean: drop NUL, U+FFFD and control characters; every whitespace becomes a space;
2. put spaces around CJK ideographs, so each one is a token of its own;
3. when lower-casing: strip accents (NFD, drop non-spacing marks), then lower-case;
4. split on whitespace and on punctuation (Unicode P* plus the ASCII symbol ranges);
5. greedy longest-match-first WordPiece with `##` continuations; a token that cannot be
   covered, or is longer than `max_chars_per_word`, becomes `[UNK]`.

A dataset word can therefore give several pieces ("don't" -> don ' t), or none at all (a
lone control character); a word without pieces has no token, and decoding tags it "O".
"""

import dataclasses
import itertools
import os
import unicodedata

from nlu_tf.data import long_words
from nlu_tf.data.char_classes import is_cjk, is_control, is_punctuation, is_whitespace
from nlu_tf.data.word_spans import WORD, WordSpans
from nlu_tf.errors import InputError
from nlu_tf.io_utils import read_json_object

CLS, SEP, PAD, UNK, MASK = "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"
CONTINUATION = "##"

# Words longer than this are not kept as keys of the per-word cache.
CACHE_WORD_CHARS = 256


@dataclasses.dataclass(frozen=True)
class Encoding:
    """Token ids of one utterance and where each word's first sub-token sits.

    Attributes:
        input_ids: token ids, `[CLS] ... [SEP]`.
        word_starts: per position, the index of the word whose first sub-token is there,
            else -1 (later sub-tokens and the special tokens).
        truncated: True if words had to be dropped to fit `max_seq_len`.
        num_words: number of words in the input, dropped and piece-less ones included.
        word_spans: for `encode_text`, the `(start, end)` character offsets of each word in
            the original text; empty for `encode_words`.
    """

    input_ids: list
    word_starts: list
    truncated: bool
    num_words: int
    word_spans: tuple = ()

    def __len__(self):
        return len(self.input_ids)


class WordPieceTokenizer:
    """BERT basic tokenization followed by WordPiece, over words that are already split.

    Args:
        vocab: the tokens in id order (line order of `vocab.txt`); must hold `[CLS]`,
            `[SEP]`, `[PAD]` and `[UNK]`.
        lower_case: lower-case and strip accents (uncased checkpoints).
        max_chars_per_word: longer tokens become `[UNK]` without being split.

    Example:

    >>> tokenizer = WordPieceTokenizer.from_model_dir("path/to/bert")
    >>> encoding = tokenizer.encode_words(["play", "Café", "del", "Mar"], max_seq_len=16)
    >>> encoding.input_ids, encoding.word_starts
    """

    def __init__(self, vocab, lower_case=True, max_chars_per_word=100):
        self._vocab = list(vocab)
        self._index = {token: i for i, token in enumerate(self._vocab)}
        missing = [token for token in (CLS, SEP, PAD, UNK) if token not in self._index]
        if missing:
            raise ValueError(f"vocabulary lacks {', '.join(missing)}")
        self._lower_case = bool(lower_case)
        self._max_chars_per_word = int(max_chars_per_word)
        self._cache = {}

    def clear_cache(self):
        """Forgets the word pieces of the words seen so far (the next encodes start cold)."""
        self._cache.clear()

    @classmethod
    def from_model_dir(cls, path, max_chars_per_word=100):
        """Reads `vocab.txt` and the lower-casing setting of a model directory.

        Lower-casing comes from `tokenizer_config.json` (`do_lower_case`) if it says so,
        else from our own `config.json` (`lower_case`), else defaults to True.

        Args:
            path: a Hugging Face style model directory.
            max_chars_per_word: see the class arguments.

        Returns:
            A `WordPieceTokenizer`.

        Raises:
            InputError: `vocab.txt` is missing or lacks a special token, or a JSON file is
                malformed.
        """
        vocab_path = os.path.join(path, "vocab.txt")
        if not os.path.isfile(vocab_path):
            raise InputError(path, "no vocab.txt in the model directory")
        with open(vocab_path, encoding="utf-8") as f:
            vocab = [line.rstrip("\n").rstrip("\r") for line in f]
        lower_case = True
        sources = (("tokenizer_config.json", "do_lower_case"), ("config.json", "lower_case"))
        for name, key in sources:
            setting = _read_json(os.path.join(path, name)).get(key)
            if setting is not None:
                lower_case = bool(setting)
                break
        try:
            return cls(vocab, lower_case=lower_case, max_chars_per_word=max_chars_per_word)
        except ValueError as error:
            raise InputError(vocab_path, str(error)) from None

    @property
    def vocab(self):
        """The tokens in id order."""
        return list(self._vocab)

    @property
    def vocab_size(self):
        return len(self._vocab)

    @property
    def lower_case(self):
        return self._lower_case

    @property
    def max_chars_per_word(self):
        return self._max_chars_per_word

    @property
    def cls_id(self):
        return self._index[CLS]

    @property
    def sep_id(self):
        return self._index[SEP]

    @property
    def pad_id(self):
        return self._index[PAD]

    @property
    def unk_id(self):
        return self._index[UNK]

    def token_to_id(self, token):
        """Returns the id of `token`, or the `[UNK]` id if it is not in the vocabulary."""
        return self._index.get(token, self.unk_id)

    def id_to_token(self, token_id):
        """Returns the token with id `token_id`."""
        return self._vocab[token_id]

    def basic_tokens(self, text):
        """Cleans, normalises and splits `text` on whitespace and punctuation.

        Args:
            text: any string.

        Returns:
            The list of basic tokens, before WordPiece.
        """
        return self.split_normalized(self.normalize(text))

    @staticmethod
    def dropped(char):
        """True for the characters that cleaning drops (NUL, U+FFFD, control characters)."""
        return char in ("\x00", "\ufffd") or is_control(char)

    is_punctuation = staticmethod(is_punctuation)

    def normalize(self, text):
        """Steps 1-3 of the module docstring: `text` cleaned (and lower-cased)."""
        chars = []
        for char in text:
            if self.dropped(char):
                continue
            if is_whitespace(char):
                chars.append(" ")
            elif is_cjk(char):
                chars.extend((" ", char, " "))
            else:
                chars.append(char)
        text = "".join(chars)
        if self._lower_case:
            text = unicodedata.normalize("NFD", text)
            # Per character, as the fast tokenizer does (no context-dependent final sigma).
            text = "".join(char.lower() for char in text if unicodedata.category(char) != "Mn")
        return text

    @staticmethod
    def split_normalized(text):
        """Step 4: normalised `text` split on whitespace and punctuation."""
        tokens = []
        for token in text.split():
            start = 0
            for i, char in enumerate(token):
                if is_punctuation(char):
                    if start < i:
                        tokens.append(token[start:i])
                    tokens.append(char)
                    start = i + 1
            if start < len(token):
                tokens.append(token[start:])
        return tokens

    def _wordpiece(self, token):
        """Greedy longest-match-first WordPiece of one basic token."""
        if len(token) > self._max_chars_per_word:
            return [UNK]
        pieces, start = [], 0
        while start < len(token):
            end = len(token)
            while end > start:
                piece = token[start:end] if start == 0 else CONTINUATION + token[start:end]
                if piece in self._index:
                    pieces.append(piece)
                    break
                end -= 1
            else:
                return [UNK]
            start = end
        return pieces

    def word_pieces(self, word):
        """Returns the WordPiece tokens of one word (possibly none), cached per short word.

        Args:
            word: one whitespace-free word; whitespace inside is treated as a separator.

        Returns:
            The list of pieces; empty if nothing is left after cleaning.
        """
        return list(self.iter_pieces(word))

    def iter_pieces(self, word, limit=None):
        """The WordPiece tokens of one word as an iterable; a long word's are computed lazily
        in bounded chunks (`nlu_tf.data.long_words`), so taking only the first `limit` (or
        counting them) holds none of its copies.

        Args:
            word: see `word_pieces`.
            limit: None, or a hint that no more than this many pieces will be read.

        Returns:
            An iterable of pieces (a cached tuple for a word of up to `CACHE_WORD_CHARS`).
        """
        if len(word) > long_words.CHUNK_CHARS:
            tokens = long_words.long_basic_tokens(self, word)
            pieces = (piece for token in tokens
                      for piece in ((UNK,) if token is long_words.TOO_LONG
                                    else self._wordpiece(token)))
            return pieces if limit is None else tuple(itertools.islice(pieces, limit))
        pieces = self._cache.get(word)
        if pieces is None:
            pieces = tuple(piece for token in self.basic_tokens(word)
                           for piece in self._wordpiece(token))
            if len(word) <= CACHE_WORD_CHARS:
                self._cache[word] = pieces
        return pieces

    def encode_words(self, words, max_seq_len=None):
        """Encodes pre-split words as `[CLS] pieces... [SEP]`.

        When the pieces do not fit, whole words are dropped from the end (a word is never
        cut in the middle), and `truncated` is set. Dropped and piece-less words have no
        first sub-token; their tags are predicted as "O". Once the budget is spent, a long
        word is tokenized only as far as it takes to know that it does not fit.

        Args:
            words: the words of one utterance (a sequence, or any iterable).
            max_seq_len: the longest allowed length, the two special tokens included; None
                for no limit.

        Returns:
            An `Encoding`.
        """
        words = iter(words)
        encoding, visited = self._encode(words, max_seq_len)
        count = visited + sum(1 for _ in words)
        return dataclasses.replace(encoding, num_words=count)

    def _encode(self, words, max_seq_len, on_start=None):
        """`encode_words` over an iterator, which is left after the first word that did not
        fit; returns `(Encoding, words read)`. `on_start(index)` is called for every word
        that gets tokens."""
        if max_seq_len is not None and max_seq_len < 2:
            raise ValueError(f"max_seq_len must be at least 2, got {max_seq_len}")
        budget = None if max_seq_len is None else max_seq_len - 2
        input_ids, word_starts, truncated = [self.cls_id], [-1], False
        index = -1
        for index, word in enumerate(words):
            limit = None if budget is None else budget - len(input_ids) + 2
            pieces = self.iter_pieces(word, limit)
            if not isinstance(pieces, tuple):
                pieces = tuple(pieces)
            if not pieces:
                continue
            if budget is not None and len(input_ids) - 1 + len(pieces) > budget:
                truncated = True
                break
            input_ids.extend(self._index[piece] for piece in pieces)
            word_starts.append(index)
            word_starts.extend([-1] * (len(pieces) - 1))
            if on_start is not None:
                on_start(index)
        input_ids.append(self.sep_id)
        word_starts.append(-1)
        return Encoding(input_ids, word_starts, truncated, index + 1), index + 1

    def encode_text(self, text, max_seq_len=None):
        """Splits raw text on whitespace, then encodes it like `encode_words`.

        Only the words that fit are tokenized; the others are counted, and their offsets
        are found again when read (`nlu_tf.data.word_spans.WordSpans`).

        Args:
            text: one raw query.
            max_seq_len: see `encode_words`.

        Returns:
            An `Encoding` whose `word_spans` hold the character offsets `(start, end)` of
            every word in `text`.
        """
        matches = WORD.finditer(text)
        current, known = [None], {}

        def words():
            for match in matches:
                current[0] = match.span()
                yield match.group()

        def on_start(index):
            known[index] = current[0]

        encoding, visited = self._encode(words(), max_seq_len, on_start)
        count = visited + sum(1 for _ in matches)
        return dataclasses.replace(encoding, num_words=count,
                                   word_spans=WordSpans(text, count, known))

    @staticmethod
    def iter_words(text):
        """The words of `split_text`, one at a time (a line of millions is not listed)."""
        return (match.group() for match in WORD.finditer(text))

    @staticmethod
    def split_text(text):
        """Returns the whitespace-separated words of `text`, as `encode_text` sees them."""
        return WORD.findall(text)


def id_map(source, target):
    """For every token id of `source`, the id of the same token in `target` (`[UNK]`'s if absent).

    Args:
        source: a `WordPieceTokenizer` (e.g. a student's trimmed vocabulary).
        target: a `WordPieceTokenizer` (e.g. its teacher's vocabulary).

    Returns:
        A list of `source.vocab_size` ids, or None when both vocabularies are the same.
    """
    if source.vocab == target.vocab:
        return None
    return [target.token_to_id(token) for token in source.vocab]


def _read_json(path):
    """Returns the object in a JSON file, or {} if there is no such file."""
    if not os.path.isfile(path):
        return {}
    return read_json_object(path)
