"""Vocabulary trimming of a model bundle: which WordPiece tokens to keep, and the bundle
with only those embedding rows (see `nlu_tf.export.trim_model_dir` for the model-directory
command and its reports).

Kept are the special tokens, the single-character fallbacks (every one, or with
`fallback_characters="latin"` those of `LATIN_RANGES` and of the characters the sources
use) and the pieces the sources use at least `min_count` times. Everything up to
`trim_bundle` runs without TensorFlow.
"""

import collections
import logging
import os

from nlu_tf.choices import FallbackCharacters, names
from nlu_tf.data.reader import read_split
from nlu_tf.data.tokenizer import CLS, CONTINUATION, MASK, PAD, SEP, UNK, WordPieceTokenizer
from nlu_tf.errors import InputError

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
# Words are cached per tokenizer; clearing the cache this often bounds the memory a long
# corpus takes to the counts plus the words of this many lines.
CLEAR_CACHE_EVERY = 10_000
# Code points whose single-character fallbacks `fallback_characters="latin"` keeps: Basic
# Latin to Latin Extended-B, general punctuation, currency and letterlike symbols.
LATIN_RANGES = ((0x0000, 0x0250), (0x2000, 0x2070), (0x20A0, 0x20D0), (0x2100, 0x2150))
FALLBACK_CHARACTERS = names(FallbackCharacters)


def is_latin(char):
    """True for a character in `LATIN_RANGES`."""
    return any(low <= ord(char) < high for low, high in LATIN_RANGES)


def is_placeholder(token):
    """True for a bracketed token: `[unused0]`, and the special tokens, which are bracketed
    too (`select_tokens` tests those first)."""
    return token.startswith("[") and token.endswith("]")


def used_fallbacks(tokens):
    """The fallback pieces (`c`, `##c`) of every character inside `tokens` (bracketed
    tokens, the special ones among them, aside): what WordPiece needs to spell their words
    from characters."""
    needed = set()
    for token in tokens:
        if is_placeholder(token):
            continue
        if token.startswith(CONTINUATION):
            continued = token[len(CONTINUATION):]
        else:
            needed.add(token[0])
            continued = token[1:]
        needed.update(CONTINUATION + char for char in continued)
    return needed


def is_fallback(token):
    """True for a single-character piece (`a`) or its continuation form (`##a`)."""
    return len(token) == 1 or (token.startswith(CONTINUATION)
                               and len(token) == len(CONTINUATION) + 1)


def fallback_gaps(vocab):
    """Characters inside the pieces of `vocab` whose single-character fallback is missing.

    Keeping every single-character piece guarantees "no new `[UNK]`" only if each character
    that starts a piece exists as a piece, and each character that continues a word exists
    as `##c`. The BERT vocabularies have no gap; another vocabulary may.

    Returns:
        A sorted list of the pieces (`c` or `##c`) that would be needed but are absent.
    """
    present = set(vocab)
    needed = used_fallbacks(present)
    return sorted(needed - present)


def corpus_lines(path):
    """Yields the lines of a UTF-8 text file one at a time (a corpus: one sentence a line).

    Raises:
        InputError: the file is missing or not UTF-8 (naming the line).
    """
    if not os.path.isfile(path):
        raise InputError(path, "corpus file not found")
    # Lines are decoded one by one: a text-mode file decodes whole buffers, and its error
    # would name no line.
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(path, "not UTF-8 text", line=number) from None


def count_pieces(tokenizer, utterances, counts):
    """Adds the WordPiece tokens of `utterances` to `counts`.

    Args:
        tokenizer: the model's `WordPieceTokenizer`.
        utterances: an iterable of word lists.
        counts: a `collections.Counter`, updated in place.

    Returns:
        The number of utterances read.
    """
    total = 0
    for total, words in enumerate(utterances, 1):
        for word in words:
            counts.update(tokenizer.iter_pieces(word))
        if total % CLEAR_CACHE_EVERY == 0:
            tokenizer.clear_cache()
    tokenizer.clear_cache()
    return total


def select_tokens(vocab, counts, min_count=1, fallback_characters="all"):
    """The tokens a trimmed vocabulary keeps, in their original order.

    Args:
        vocab: the original tokens in id order.
        counts: occurrences of each piece in the trimming texts.
        min_count: a used piece is kept if it occurs at least this often.
        fallback_characters: "all" keeps every single-character piece and its `##` form;
            "latin" those of `LATIN_RANGES` and of the characters inside used pieces.

    Returns:
        `(kept tokens, dict of how many were kept for which reason)`.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if fallback_characters not in FALLBACK_CHARACTERS:
        raise ValueError(f"fallback_characters must be one of {FALLBACK_CHARACTERS}")
    needed = used_fallbacks(counts) if fallback_characters == "latin" else None
    kept, seen, reasons = [], set(), collections.Counter()
    for token in vocab:
        if token in seen:
            continue
        if token in SPECIAL_TOKENS:
            reason = "special"
        elif is_placeholder(token):
            continue
        elif is_fallback(token) and (needed is None or is_latin(token[-1])
                                     or token in needed):
            reason = "single_character"
        elif counts.get(token, 0) >= min_count:
            reason = "used"
        else:
            continue
        kept.append(token)
        seen.add(token)
        reasons[reason] += 1
    return kept, dict(reasons)


def plan_trim(tokenizer, data=(), corpora=(), min_count=1, fallback_characters="all",
              vocab_size=0):
    """Counts the pieces of the training data and corpora and picks the tokens to keep.

    Args:
        tokenizer: the model's `WordPieceTokenizer`.
        data: `(dataset folder, split)` pairs.
        corpora: paths of plain-text files, one sentence a line, streamed.
        min_count, fallback_characters: see `select_tokens`.
        vocab_size: 0: the corpora count with the data (`min_count`). Else the data's
            pieces are kept, then the corpora's most used pieces up to `vocab_size` tokens
            (`fill_vocabulary`).

    Returns:
        `(kept tokens, summary dict)`; the summary is what `trim_vocab.json` records.
    """
    counts = collections.Counter()
    sources = []
    for folder, split in data:
        examples = read_split(folder, split)
        read = count_pieces(tokenizer, (example.words for example in examples), counts)
        sources.append({"kind": "data", "path": os.path.normpath(folder), "split": split,
                        "utterances": read})
    return plan_with_corpora(tokenizer, counts, sources, corpora, min_count,
                             fallback_characters, vocab_size)


def plan_with_corpora(tokenizer, counts, sources, corpora=(), min_count=1,
                      fallback_characters="all", vocab_size=0):
    """`plan_from_counts` on the data's `counts` (and their `sources`) after the corpora
    are counted: with the data (`vocab_size` 0), or apart to rank the fill up to
    `vocab_size` tokens. `counts` and `sources` are updated in place."""
    fill_counts = collections.Counter() if vocab_size else counts
    sources += count_corpora(tokenizer, corpora, fill_counts)
    return plan_from_counts(tokenizer, counts, sources, min_count, fallback_characters,
                            fill_counts, vocab_size)


def count_corpora(tokenizer, paths, counts):
    """Adds the pieces of the plain-text files `paths` (one sentence a line, streamed) to
    `counts`; returns one source dict per file, as `plan_from_counts` records them."""
    sources = []
    for path in paths:
        lines = (WordPieceTokenizer.iter_words(line) for line in corpus_lines(path))
        sources.append({"kind": "corpus", "path": os.path.normpath(path),
                        "utterances": count_pieces(tokenizer, lines, counts)})
    return sources


def fill_vocabulary(vocab, kept, fill_counts, vocab_size):
    """`kept` grown to at most `vocab_size` tokens with the pieces of `vocab` that
    `fill_counts` counts most (ties in vocabulary order); all in vocabulary order.

    Raises:
        ValueError: `kept` has more than `vocab_size` tokens already.
    """
    if len(kept) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is below the {len(kept)} tokens that the "
                         "training data and the single-character fallbacks keep")
    chosen = set(kept)
    order = {}
    for index, token in enumerate(vocab):
        order.setdefault(token, index)
    candidates = sorted((token for token, n in fill_counts.items()
                         if n > 0 and token in order and token not in chosen
                         and not is_placeholder(token)),
                        key=lambda token: (-fill_counts[token], order[token]))
    chosen.update(candidates[:vocab_size - len(kept)])
    return [token for index, token in enumerate(vocab)
            if token in chosen and order[token] == index]


def plan_from_counts(tokenizer, counts, sources, min_count=1, fallback_characters="all",
                     fill_counts=None, vocab_size=0):
    """Picks the tokens to keep from piece counts already taken (`count_pieces`).

    Args:
        tokenizer: the model's `WordPieceTokenizer`.
        counts: a `collections.Counter` of pieces.
        sources: what was counted, recorded as is in the summary (a list of dicts).
        min_count, fallback_characters: see `select_tokens`.
        fill_counts, vocab_size: with a `vocab_size`, the selection grows to that many
            tokens with the pieces `fill_counts` (a Counter) counts most
            (`fill_vocabulary`); without one, `fill_counts` is not read.

    Returns:
        `(kept tokens, summary dict)`, as `plan_trim`.
    """
    kept, reasons = select_tokens(tokenizer.vocab, counts, min_count, fallback_characters)
    if vocab_size:
        before = len(kept)
        kept = fill_vocabulary(tokenizer.vocab, kept, fill_counts, vocab_size)
        reasons["corpus_fill"] = len(kept) - before
    used = sum(1 for token in counts if token != UNK)
    summary = {"original_vocab_size": tokenizer.vocab_size, "vocab_size": len(kept),
               "min_count": min_count, "fallback_characters": fallback_characters,
               "kept": reasons, "used_pieces": used,
               "used_pieces_below_min_count": sum(
                   1 for token, n in counts.items()
                   if n < min_count and token != UNK and not is_fallback(token)),
               "unk_in_sources": counts.get(UNK, 0), "sources": sources}
    if vocab_size:
        summary["fill_to_vocab_size"] = vocab_size
    gaps = fallback_gaps(tokenizer.vocab)
    if gaps:
        logger.warning("%d single-character fallbacks are missing from the vocabulary "
                       "(e.g. %s): an out-of-domain word may become [UNK]",
                       len(gaps), ", ".join(gaps[:5]))
        summary["fallback_gaps"] = gaps
    return kept, summary


def trim_bundle(bundle, kept, trim_positions=True, share_rows=False):
    """A copy of a `ModelBundle` whose token table keeps the rows of `kept` (a subset of
    its own tokens), in that order.

    Without `share_rows` the vocabulary becomes `kept`. With `share_rows` it stays whole
    and each dropped token reads the row of its nearest kept token (`shared_rows`). With
    `trim_positions`, the position embedding keeps its first `bundle.max_seq_len` rows (the
    encoder's position ids are 0..L-1 and every consumer encodes at most `max_seq_len`
    tokens), and the config's `max_position_embeddings` follows. Every other weight is
    copied unchanged.
    """
    from nlu_tf.model_io.model_dir import ModelBundle
    from nlu_tf.models.bert_encoder import full_token_table
    from nlu_tf.models.joint_model import rebuilt_model
    from nlu_tf.surgery.shared_rows import nearest_kept_rows

    old = bundle.model
    rows = [bundle.tokenizer.token_to_id(token) for token in kept]
    if any(bundle.tokenizer.id_to_token(row) != token for row, token in zip(rows, kept)):
        raise ValueError("the kept tokens must all be in the model's vocabulary")
    positions = kept_positions(old.encoder.max_position_embeddings, bundle.max_seq_len,
                               trim_positions)
    encoder = old.encoder
    table = full_token_table(encoder)
    values = {"encoder/token_embedding/embeddings": table[rows],
              "encoder/position_embedding/embeddings":
                  encoder.position_embedding.embeddings.numpy()[:positions]}
    config = {**old.encoder_config, "max_position_embeddings": positions}
    config.pop("embedding_rows", None)
    if share_rows:
        tokenizer = bundle.tokenizer
        config["embedding_rows"] = len(kept)
        values["encoder/token_row_map"] = nearest_kept_rows(table, tokenizer.vocab, kept)
    else:
        tokenizer = WordPieceTokenizer(kept, lower_case=bundle.tokenizer.lower_case)
        config["vocab_size"] = len(kept)
    # Each table keeps its selected rows; every other weight is copied whole.
    model = rebuilt_model(old, config, values)
    return ModelBundle(model, tokenizer, bundle.labels, bundle.max_seq_len)


def kept_positions(original, max_seq_len, trim_positions=True):
    """The position embedding rows a trimmed model keeps: `max_seq_len` with
    `trim_positions` (never more than `original`), else all `original` rows."""
    return min(original, max_seq_len) if trim_positions else original
