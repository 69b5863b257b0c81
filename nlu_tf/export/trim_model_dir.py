"""Vocabulary trimming: a model directory that keeps only the WordPiece tokens it needs.

Most of a small student's weights are its token embedding (30,522 rows for the BERT
vocabulary). A trimmed model keeps

- the special tokens `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` (never `[unusedN]`);
- every single-character piece and its `##` form, so that greedy WordPiece can always fall
  back to single characters: a word that tokenized without `[UNK]` still does (though an
  out-of-domain word may now take more pieces). With `fallback_characters="latin"` only the
  fallbacks of Latin-script letters, digits, punctuation and common symbols
  (`LATIN_RANGES`), and of every character the training data and corpora use, are kept:
  a word with any other character (Cyrillic, CJK, ...) becomes `[UNK]`;
- the pieces that the training data and the given corpora use, at least `min_count` times.

Tokens keep their original relative order; the embedding rows follow them. The position
embedding keeps only the model's `max_seq_len` rows (positions 0..max_seq_len-1 are all any
consumer uses; `trim_positions=False` keeps every row). Every other weight is copied. On
text whose pieces were all kept (the training data, with `min_count=1`), the trimmed model
gives the same tokens and the same logits: greedy
longest-match over a subset of the vocabulary that contains the original match picks it
again. The result is an ordinary model directory plus `trim_vocab.json`, which records the
sizes and the sources, and, for each report corpus, how the trimmed vocabulary tokenizes it
against the original one (`tokenization_report`): new `[UNK]`s and the longer sequences.
A model with trimmed positions cannot be trained further with a longer `max_seq_len`
(`nlu_tf.model_io.model_dir.load_any` refuses it with one line).

The choice of tokens and `trim_bundle` live in `nlu_tf.surgery.vocab_trim`.
"""

import logging
import os
import shutil

from nlu_tf.data.reader import resolve_data_dir
from nlu_tf.data.tokenizer import UNK, WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir, read_json_object, write_json
from nlu_tf.model_io.model_files import check_model_dir
from nlu_tf.output_dirs import check_output_dir
from nlu_tf.surgery.vocab_trim import (CLEAR_CACHE_EVERY, FALLBACK_CHARACTERS, corpus_lines,
                                      plan_trim, trim_bundle)

logger = logging.getLogger(__name__)

TRIM_FILE = "trim_vocab.json"


def tokenization_report(original, trimmed, lines):
    """How a trimmed vocabulary tokenizes text, against the original vocabulary.

    Tokens are the WordPiece tokens of the words (no `[CLS]`/`[SEP]`, no truncation); blank
    lines are skipped. A trimmed vocabulary that keeps every single-character fallback gives
    no new `[UNK]` (see `fallback_gaps`), but words take more pieces.

    Args:
        original: the untrimmed `WordPieceTokenizer`.
        trimmed: the trimmed `WordPieceTokenizer`.
        lines: an iterable of raw sentences (split on whitespace like `encode_text`).

    Returns:
        A dict: `sentences`; `tokens` and `unk` (totals) and `mean_tokens` (per sentence), each
        `{"original": ..., "trimmed": ...}`; `new_unk`, the `[UNK]`s that the trimmed
        vocabulary adds, counted word by word (a word that loses an `[UNK]` does not
        offset another that gains one), and `sentences_with_new_unk`.
    """
    totals = {"tokens": [0, 0], "unk": [0, 0]}
    sentences = new_unk = with_new_unk = 0
    for line in lines:
        if not line or line.isspace():
            continue
        sentences += 1
        added = 0
        for word in WordPieceTokenizer.iter_words(line):
            unks = []
            for column, tokenizer in enumerate((original, trimmed)):
                pieces = unk = 0
                for piece in tokenizer.iter_pieces(word):
                    pieces += 1
                    unk += piece == UNK
                unks.append(unk)
                totals["tokens"][column] += pieces
                totals["unk"][column] += unk
            added += max(0, unks[1] - unks[0])
        new_unk += added
        with_new_unk += added > 0
        if sentences % CLEAR_CACHE_EVERY == 0:
            original.clear_cache()
            trimmed.clear_cache()
    original.clear_cache()
    trimmed.clear_cache()
    report = {"sentences": sentences}
    for key, (before, after) in totals.items():
        report[key] = {"original": before, "trimmed": after}
    report["mean_tokens"] = {name: round(total / sentences, 3) if sentences else 0.0
                             for name, total in report["tokens"].items()}
    report.update(new_unk=new_unk, sentences_with_new_unk=with_new_unk)
    return report


def training_data(model_dir):
    """The dataset folder and split a model was trained on, from its `settings.json`.

    Returns:
        `(folder, split)`, or None when the model directory does not record it.

    Raises:
        InputError: `settings.json` names a dataset that is not there.
    """
    path = os.path.join(model_dir, "settings.json")
    if not os.path.isfile(path):
        return None
    data = read_json_object(path).get("data") or {}
    if not isinstance(data, dict):
        raise InputError(path, "malformed settings.json (data is not an object)")
    if not data.get("data_dir"):
        return None
    folder = resolve_data_dir(data["data_dir"], data.get("task") or None)
    return folder, data.get("train_split") or "train"


def trim_model_dir(model_dir, output_dir, data=None, corpora=(), min_count=1,
                   report_corpora=(), trim_positions=True, fallback_characters="all",
                   vocab_size=0, share_rows=False):
    """Writes a trimmed copy of the model directory `model_dir` at `output_dir`.

    Args:
        model_dir: an nlu_tf model directory.
        output_dir: where the trimmed model directory goes (written atomically).
        data: `(dataset folder, split)` pairs whose utterances decide the kept pieces;
            None: the training data named by the model's `settings.json`.
        corpora: plain-text files (one sentence a line) whose pieces are kept too.
        min_count: a used piece is kept if it occurs at least this often, over all sources.
        report_corpora: plain-text files (one sentence a line) that do not decide the kept
            pieces; each gets a `tokenization_report` under the summary's `reports`.
        trim_positions: keep only the model's `max_seq_len` position embedding rows (see
            `trim_bundle`); the summary records `original_max_position_embeddings` and
            `max_position_embeddings`.
        fallback_characters: "all" or "latin" (see `select_tokens`).
        vocab_size: 0, or the size the vocabulary is filled to with the corpora's most
            used pieces after the data's (`plan_trim`; the corpora then rank the fill
            instead of counting with the data).
        share_rows: keep the whole vocabulary; the table keeps the rows of the kept pieces
            and each dropped piece reads its nearest kept piece's row (`shared_rows`).

    Returns:
        The summary written to `trim_vocab.json`.

    Raises:
        InputError: an incomplete model directory, missing data or corpus, no source at all,
            or an `output_dir` that holds an input or files nlu_tf did not write
            (`nlu_tf.output_dirs.check_output_dir`, before any work).
    """
    check_model_dir(model_dir)
    if os.path.abspath(output_dir) == os.path.abspath(model_dir):
        raise InputError(output_dir, "the output directory must differ from --model_dir")
    if min_count < 1:
        raise InputError("command line", f"min_count must be at least 1, got {min_count}")
    if fallback_characters not in FALLBACK_CHARACTERS:
        raise InputError("command line", f"fallback_characters must be one of "
                                         f"{', '.join(FALLBACK_CHARACTERS)}")
    if vocab_size < 0:
        raise InputError("command line", f"vocab_size must be 0 or more, got {vocab_size}")
    if vocab_size and not corpora:
        raise InputError("command line", "vocab_size fills the vocabulary from the corpora: "
                                         "give --corpus, or leave it at 0")
    if data is None:
        found = training_data(model_dir)
        if found is None:
            raise InputError(model_dir, "no settings.json naming the training data: pass "
                                        "the dataset (--data_dir, --task)")
        data = [found]
    data, corpora, report_corpora = list(data), list(corpora), list(report_corpora)
    for path in corpora + report_corpora:
        if not os.path.isfile(path):
            raise InputError(path, "corpus file not found")
    check_output_dir(output_dir, "model",
                     [model_dir] + [folder for folder, _ in data] + corpora + report_corpora)
    tokenizer = WordPieceTokenizer.from_model_dir(model_dir)
    try:
        kept, summary = plan_trim(tokenizer, data, corpora, min_count, fallback_characters,
                                  vocab_size)
    except ValueError as error:
        raise InputError("command line", str(error)) from None
    summary["source_model"] = os.path.normpath(model_dir)
    summary["share_rows"] = bool(share_rows)
    if report_corpora:
        trimmed_tokenizer = (tokenizer if share_rows
                             else WordPieceTokenizer(kept, lower_case=tokenizer.lower_case))
        summary["reports"] = [
            {"path": os.path.normpath(path),
             **tokenization_report(tokenizer, trimmed_tokenizer, corpus_lines(path))}
            for path in report_corpora]

    from nlu_tf.model_io.model_dir import load_model_dir, write_model_files

    bundle = load_model_dir(model_dir)
    trimmed = trim_bundle(bundle, kept, trim_positions, share_rows)
    summary.update(trim_positions=bool(trim_positions),
                   original_max_position_embeddings=bundle.model.encoder.max_position_embeddings,
                   max_position_embeddings=trimmed.model.encoder.max_position_embeddings,
                   max_seq_len=trimmed.max_seq_len)
    settings = os.path.join(model_dir, "settings.json")
    with atomic_dir(output_dir, "model") as tmp:
        write_model_files(trimmed, tmp)
        if os.path.isfile(settings):
            shutil.copy2(settings, tmp)
        write_json(os.path.join(tmp, TRIM_FILE), summary)
    kind = (f"embedding rows (all {summary['original_vocab_size']} tokens kept: shared rows)"
            if share_rows else "tokens")
    logger.info("trimmed %s: %d -> %d %s, %d -> %d positions", model_dir,
                summary["original_vocab_size"], summary["vocab_size"], kind,
                summary["original_max_position_embeddings"], summary["max_position_embeddings"])
    return summary
