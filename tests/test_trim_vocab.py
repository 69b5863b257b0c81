"""Vocabulary trimming: token choice, identical logits, no new [UNK], the three tokenizers
agreeing on every Snips and ATIS utterance, and a trimmed model in every tool; position
trimming: max_seq_len rows, the same logits at every kept position in Keras, SavedModel and
TFLite, and one clear error for longer sequences."""

import collections
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nlu_tf.data.reader import SPLITS, read_split
from nlu_tf.data.tokenizer import UNK, WordPieceTokenizer, id_map
from nlu_tf.errors import InputError
from nlu_tf.export.trim_model_dir import TRIM_FILE, tokenization_report, trim_model_dir
from nlu_tf.surgery.vocab_trim import count_pieces, fallback_gaps, select_tokens
from tests.tiny import REPO, TINY_CONFIG, random_bert_state

DATASETS = ("snips", "atis")
MAX_SEQ_LEN = 32
OUT_OF_DOMAIN = ["naïve résumé ÉCOLE Straße", "what's the weather in 東京 today?",
                 "play😀now $5.00 e-mail ¿qué? l'été", "antidisestablishmentarianism",
                 "pneumonoultramicroscopicsilicovolcanoconiosis " + "x" * 101,
                 "x\u0301y \u200b zzzqqq jjjjkkk"]


def _read_vocab(path):
    with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
        return f.read().splitlines()


def _unk_free(tokenizer, word):
    """Per basic token of `word`: True where its pieces hold no [UNK]."""
    return [UNK not in tokenizer.word_pieces(token) for token in tokenizer.basic_tokens(word)]


def test_select_tokens_keeps_specials_characters_and_used_pieces():
    vocab = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b",
             "ab", "ba", "##ab", "abab", "[PAD]"]
    counts = collections.Counter({"ab": 3, "##ab": 1, "a": 5, "zz": 9})
    kept, reasons = select_tokens(vocab, counts)
    assert kept == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b", "ab",
                    "##ab"]
    assert reasons == {"special": 5, "single_character": 4, "used": 2}
    assert select_tokens(vocab, counts, min_count=2)[0][-1] == "ab"
    with pytest.raises(ValueError, match="min_count"):
        select_tokens(vocab, counts, min_count=0)


def test_latin_fallbacks_keep_latin_and_used_characters_only():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "é", "##é", "—", "ж", "##ж",
             "я", "##я", "字", "##字", "жя", "##符", "符", "##x"]
    # "жя" is used (below min_count): its characters' fallbacks stay so the word still spells.
    counts = collections.Counter({"a": 4, "жя": 1, "字": 3})
    kept, reasons = select_tokens(vocab, counts, min_count=2, fallback_characters="latin")
    assert kept == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "é", "##é", "—",
                    "ж", "##я", "字", "##x"]
    assert reasons == {"special": 5, "single_character": 9}
    assert select_tokens(vocab, counts, 2)[1]["single_character"] == 14
    with pytest.raises(ValueError, match="fallback_characters"):
        select_tokens(vocab, counts, fallback_characters="cyrillic")


def test_fallback_gaps_name_missing_single_characters():
    assert fallback_gaps(["[PAD]", "[unused3]", "a", "##a", "b", "##b", "ab", "##ba"]) == []
    assert fallback_gaps(["a", "##a", "ac", "##db", "b"]) == ["##b", "##c", "##d"]


def test_tokenization_report_counts_new_unks_word_by_word_and_tokens():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # No "##d": "abd" dead-ends after "ab" in the full vocabulary, but not without "ab".
    full = WordPieceTokenizer(specials + ["a", "b", "c", "d", "##a", "##b", "##c", "ab", "abc",
                                          "##bd"])
    lines = ["abc ab", " \n", "abd abc xyz", "ab"]
    # Without "##c": "abc" gains an [UNK]; "abd" loses one, which must not offset it.
    gap = WordPieceTokenizer(specials + ["a", "b", "c", "d", "##a", "##b", "##bd"])
    assert tokenization_report(full, gap, lines) == {
        "sentences": 3, "tokens": {"original": 6, "trimmed": 9},
        "unk": {"original": 2, "trimmed": 3}, "mean_tokens": {"original": 2.0, "trimmed": 3.0},
        "new_unk": 2, "sentences_with_new_unk": 2}
    # Keeping the single-character fallbacks: no new [UNK], more tokens.
    fallbacks = WordPieceTokenizer(select_tokens(full.vocab, collections.Counter())[0])
    report = tokenization_report(full, fallbacks, lines)
    assert report["new_unk"] == report["sentences_with_new_unk"] == 0
    assert report["unk"] == {"original": 2, "trimmed": 2}
    assert report["tokens"] == {"original": 6, "trimmed": 12}
    assert tokenization_report(full, full, []) == {
        "sentences": 0, "tokens": {"original": 0, "trimmed": 0},
        "unk": {"original": 0, "trimmed": 0}, "mean_tokens": {"original": 0.0, "trimmed": 0.0},
        "new_unk": 0, "sentences_with_new_unk": 0}


@pytest.fixture(scope="module")
def trimmed_tiny(export_model_dir, tiny_data_dir, tmp_path_factory):
    """`export_model_dir` trimmed on the tiny training split."""
    path = str(tmp_path_factory.mktemp("trim") / "trimmed")
    summary = trim_model_dir(export_model_dir, path, [(tiny_data_dir, "train")])
    return path, summary


def test_trimming_round_trips_with_identical_logits(trimmed_tiny, export_model_dir,
                                                    tiny_data_dir):
    from nlu_tf.data.dataset import pad_batch
    from nlu_tf.data.features import encode_examples
    from nlu_tf.decoding import keras_logits_fn
    from nlu_tf.model_io.model_dir import load_model_dir

    path, summary = trimmed_tiny
    original, trimmed = load_model_dir(export_model_dir), load_model_dir(path)
    assert trimmed.tokenizer.vocab_size == summary["vocab_size"] < summary["original_vocab_size"]
    assert trimmed.model.encoder.vocab_size == trimmed.tokenizer.vocab_size
    assert trimmed.labels == original.labels and trimmed.max_seq_len == original.max_seq_len
    # The position table keeps its first max_seq_len rows (of the tiny BERT's 64).
    table = trimmed.model.encoder.position_embedding.embeddings.numpy()
    full = original.model.encoder.position_embedding.embeddings.numpy()
    assert full.shape[0] == 64 and table.shape[0] == MAX_SEQ_LEN
    assert trimmed.model.encoder.max_position_embeddings == MAX_SEQ_LEN
    np.testing.assert_array_equal(table, full[:MAX_SEQ_LEN])
    with open(os.path.join(path, TRIM_FILE), encoding="utf-8") as f:
        recorded = json.load(f)
    assert recorded["trim_positions"] is True and recorded["max_seq_len"] == MAX_SEQ_LEN
    assert (recorded["original_max_position_embeddings"],
            recorded["max_position_embeddings"]) == (64, MAX_SEQ_LEN)
    assert recorded["sources"] == [{"kind": "data", "path": os.path.normpath(tiny_data_dir),
                                    "split": "train", "utterances": 64}]
    assert recorded["source_model"] == os.path.normpath(export_model_dir)

    examples = read_split(tiny_data_dir, "train")
    logits = []
    for bundle in (original, trimmed):
        features = encode_examples(examples, bundle.tokenizer, bundle.labels, MAX_SEQ_LEN)
        # Padded to max_seq_len: every kept position takes part.
        batch = pad_batch(features, np.arange(len(features)), MAX_SEQ_LEN, MAX_SEQ_LEN)[0]
        assert batch["input_ids"].shape[1] == MAX_SEQ_LEN
        logits.append((batch, keras_logits_fn(bundle.model, jit_compile=False)(batch)))
    (before, (intent_a, slot_a)), (after, (intent_b, slot_b)) = logits
    to_original = np.asarray(id_map(trimmed.tokenizer, original.tokenizer))
    np.testing.assert_array_equal(to_original[after["input_ids"]], before["input_ids"])
    np.testing.assert_array_equal(after["attention_mask"], before["attention_mask"])
    np.testing.assert_allclose(intent_b, intent_a, atol=1e-6, rtol=0)
    np.testing.assert_allclose(slot_b, slot_a, atol=1e-6, rtol=0)


def test_trimmed_student_trains_against_the_untrimmed_teacher(tiny_model_dir, tiny_data_dir,
                                                              settings_factory, tmp_path):
    from nlu_tf.data.dataset import pad_batch
    from nlu_tf.data.features import encode_examples
    from nlu_tf.distill.distiller import Distiller
    from nlu_tf.distill.objectives import PredictionObjective
    from nlu_tf.model_io.model_dir import load_model_dir
    from nlu_tf.training.stage import run_stage

    # No data given: the training data comes from the teacher's settings.json.
    trimmed_dir = str(tmp_path / "trimmed")
    summary = trim_model_dir(tiny_model_dir, trimmed_dir)
    assert summary["sources"][0]["split"] == "train"
    teacher, student = load_model_dir(tiny_model_dir), load_model_dir(trimmed_dir)
    ids = id_map(student.tokenizer, teacher.tokenizer)
    assert ids is not None and id_map(teacher.tokenizer, teacher.tokenizer) is None
    distiller = Distiller(student.model, PredictionObjective(), teacher.model, teacher_ids=ids)
    examples = read_split(tiny_data_dir, "dev")
    features = encode_examples(examples, student.tokenizer, student.labels, MAX_SEQ_LEN)
    batch = pad_batch(features, np.arange(16), 8, MAX_SEQ_LEN)[0]
    # The same weights on the student's ids and on their teacher ids: the same logits.
    teacher_out = teacher.model(distiller.teacher_inputs(batch))
    student_out = student.model(batch)
    np.testing.assert_allclose(student_out["intent_logits"], teacher_out["intent_logits"],
                               atol=1e-5)

    output = str(tmp_path / "student")
    metrics = run_stage(settings_factory(output, tiny_model_dir, stage="2.2",
                                         student_model=trimmed_dir, num_train_epochs=1))
    assert 0 <= metrics["dev"]["sentence_acc"] <= 1
    assert _read_vocab(output) == _read_vocab(trimmed_dir)


def test_stage_2_1_trims_its_new_student_and_stage_2_2_keeps_the_vocabulary(
        tiny_model_dir, tiny_data_dir, settings_factory, tmp_path):
    from nlu_tf.training.settings import StudentSettings, TrimSettings
    from nlu_tf.training.stage import run_stage

    counts = collections.Counter()
    teacher = WordPieceTokenizer.from_model_dir(tiny_model_dir)
    count_pieces(teacher, (e.words for e in read_split(tiny_data_dir, "train")), counts)
    expected, _ = select_tokens(teacher.vocab, counts, 2, "latin")
    assert len(expected) < teacher.vocab_size
    first = str(tmp_path / "student_2.1")
    run_stage(settings_factory(first, tiny_model_dir, stage="2.1", num_train_epochs=1,
                               trim=TrimSettings(enabled=True, min_count=2,
                                                 fallback_characters="latin"),
                               student=StudentSettings(num_layers=1)))
    assert _read_vocab(first) == expected
    second = str(tmp_path / "student_2.2")
    metrics = run_stage(settings_factory(second, tiny_model_dir, stage="2.2",
                                         student_model=first, num_train_epochs=1))
    assert _read_vocab(second) == expected
    assert 0 <= metrics["dev"]["sentence_acc"] <= 1
    with pytest.raises(ValueError, match="trim_vocab"):
        settings_factory(second, tiny_model_dir, stage="2.2", student_model=first,
                         trim=TrimSettings(enabled=True))


def _padded_batch(tokenizer, texts, width):
    """int32 inputs of `texts` (encoded at `width` tokens at most), zero-padded to `width`."""
    rows = [tokenizer.encode_text(text, width).input_ids for text in texts]
    ids = np.full((len(rows), width), tokenizer.pad_id, np.int32)
    mask = np.zeros((len(rows), width), np.int32)
    for i, row in enumerate(rows):
        ids[i, :len(row)], mask[i, :len(row)] = row, 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def test_evaluate_predict_and_convert_accept_a_trimmed_model(trimmed_tiny, tiny_data_dir,
                                                             tmp_path):
    import tensorflow as tf

    from nlu_tf.serving.evaluation import evaluate_split
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.serving.prediction import predict_lines
    from nlu_tf.serving.artefact import load_predictor

    path, _ = trimmed_tiny
    runner = load_predictor(path, jit_compile=False)
    assert evaluate_split(runner, tiny_data_dir, "test")["examples"] == 32
    results = predict_lines(runner, OUT_OF_DOMAIN + ["play some jazz"])
    assert len(results) == len(OUT_OF_DOMAIN) + 1 and results[-1].intent
    convert = tmp_path / "convert"
    written = convert_model_dir(path, str(convert), ("float32", "dynamic"))
    assert {info["vocab_size"] for info in written.values()} == {runner.tokenizer.vocab_size}
    tflite = load_predictor(str(convert / "tflite_dynamic"))
    assert tflite.tokenizer.vocab == runner.tokenizer.vocab
    assert evaluate_split(tflite, tiny_data_dir, "test")["examples"] == 32

    # The exports of the trimmed model give the Keras logits, up to its last kept position.
    texts = ["play some jazz", "book a table for two at a sushi bar in paris tonight",
             " ".join(["play"] * 40)]
    batch = _padded_batch(runner.tokenizer, texts, MAX_SEQ_LEN)
    assert batch["attention_mask"][-1].sum() == MAX_SEQ_LEN
    real = batch["attention_mask"].astype(bool)
    intent, slots = runner.logits_fn(batch)
    saved_model = load_predictor(str(convert / "saved_model"))
    float32 = load_predictor(str(convert / "tflite_float32"))
    for artefact, atol in ((saved_model, 1e-5), (float32, 1e-4)):
        got_intent, got_slots = artefact.logits_fn(batch)
        np.testing.assert_allclose(got_intent, intent, atol=atol, err_msg=artefact.name)
        np.testing.assert_allclose(got_slots[real], slots[real], atol=atol,
                                   err_msg=artefact.name)
    # One token more than the kept positions: a clear refusal, never a silent lookup.
    too_long = {name: np.concatenate([value, value[:, :1]], axis=1)
                for name, value in batch.items()}
    with pytest.raises(tf.errors.InvalidArgumentError, match="32 position embeddings"):
        saved_model.logits_fn(too_long)
    with pytest.raises(RuntimeError):
        float32.logits_fn.run({name: value[-1:] for name, value in too_long.items()})


def test_longer_max_seq_len_than_the_kept_positions_is_refused(trimmed_tiny, export_model_dir,
                                                              tiny_bert_dir, tiny_data_dir,
                                                              settings_factory, tmp_path):
    import dataclasses

    from nlu_tf.data.reader import LabelMaps
    from nlu_tf.model_io.model_dir import from_pretrained, load_any, save_model_dir
    from nlu_tf.training.stage import run_stage

    path, _ = trimmed_tiny
    labels = LabelMaps.from_dir(tiny_data_dir)
    assert load_any(path, labels, MAX_SEQ_LEN).max_seq_len == MAX_SEQ_LEN
    assert load_any(export_model_dir, labels, 64).max_seq_len == MAX_SEQ_LEN  # 64 positions
    # Fine-tuning the trimmed model (stage 2.0) at a longer max_seq_len.
    settings = settings_factory(str(tmp_path / "teacher"), path)
    settings = dataclasses.replace(settings, data=dataclasses.replace(settings.data,
                                                                      max_seq_len=48))
    with pytest.raises(InputError, match=rf"^{path}: max_seq_len 48 is longer than the "
                                         rf"model's 32 position embeddings"):
        run_stage(settings)
    # A student directory of 48 tokens under the trimmed teacher: the teacher would read
    # past its 32 positions.
    student = from_pretrained(tiny_bert_dir, labels, 48)
    student_dir = save_model_dir(student, str(tmp_path / "student48"))
    with pytest.raises(InputError, match=rf"^{path}: max_seq_len 48 is longer"):
        run_stage(settings_factory(str(tmp_path / "distilled"), path, stage="2.2",
                                   student_model=student_dir))
    assert not (tmp_path / "teacher").exists() and not (tmp_path / "distilled").exists()
    # Without position trimming the table stays whole, and so does the longer limit.
    whole = str(tmp_path / "whole")
    summary = trim_model_dir(export_model_dir, whole, [(tiny_data_dir, "train")],
                             trim_positions=False)
    assert (summary["trim_positions"], summary["original_max_position_embeddings"],
            summary["max_position_embeddings"]) == (False, 64, 64)
    assert load_any(whole, labels, 48).model.encoder.position_embedding.embeddings.shape[0] == 64


def test_command_line(export_model_dir, tiny_data_dir, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("antidisestablishmentarianism forever\nzzz\n", encoding="utf-8")
    tool = [sys.executable, os.path.join(REPO, "tools", "trim_vocab.py")]

    def run(*args):
        return subprocess.run(tool + list(args), capture_output=True, text=True, cwd=REPO,
                              timeout=300)

    for args, problem in [(["--output_dir", str(tmp_path / "x")], "--model_dir is required"),
                          (["--model_dir", str(tmp_path / "nope"), "--output_dir",
                            str(tmp_path / "x")], "model directory not found"),
                          (["--model_dir", export_model_dir, "--output_dir",
                            str(tmp_path / "x")], "no settings.json"),
                          (["--model_dir", export_model_dir, "--output_dir", str(tmp_path / "x"),
                            "--data_dir", tiny_data_dir, "--corpus", str(tmp_path / "nope.txt")],
                           "corpus file not found"),
                          (["--model_dir", export_model_dir, "--output_dir", str(tmp_path / "x"),
                            "--data_dir", tiny_data_dir, "--report_corpus",
                            str(tmp_path / "nope.txt")], "corpus file not found")]:
        result = run(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ") and problem in lines[0], lines
    assert not (tmp_path / "x").exists()

    output = tmp_path / "trimmed"
    held_out = tmp_path / "held_out.txt"
    held_out.write_text("\n".join(OUT_OF_DOMAIN) + "\n\n", encoding="utf-8")
    result = run("--model_dir", export_model_dir, "--output_dir", str(output), "--data_dir",
                 tiny_data_dir, "--corpus", str(corpus), "--min_count", "2",
                 "--report_corpus", str(held_out))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    recorded = json.loads((output / TRIM_FILE).read_text(encoding="utf-8"))
    assert recorded["min_count"] == 2 and recorded["vocab_size"] == summary["vocab_size"]
    assert (summary["original_max_position_embeddings"], summary["max_position_embeddings"]) \
        == (64, MAX_SEQ_LEN)
    assert [source["kind"] for source in recorded["sources"]] == ["data", "corpus"]
    assert len(_read_vocab(str(output))) == summary["vocab_size"]
    # The report corpus decides nothing; its counts match the two model directories.
    (report,) = summary["reports"]
    assert recorded["reports"] == summary["reports"]
    assert report["path"] == os.path.normpath(str(held_out))
    original = WordPieceTokenizer.from_model_dir(export_model_dir)
    trimmed = WordPieceTokenizer.from_model_dir(str(output))
    assert report == {"path": report["path"],
                      **tokenization_report(original, trimmed, OUT_OF_DOMAIN)}
    assert report["sentences"] == len(OUT_OF_DOMAIN) and report["new_unk"] == 0
    assert report["tokens"]["trimmed"] > report["tokens"]["original"]

    # Fine-tuning the trimmed model at a longer --max_seq_len: one line, exit status 2.
    train = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train.py"), "--stage", "2.0",
         "--teacher_model", str(output), "--data_dir", tiny_data_dir, "--task", "",
         "--max_seq_len", "48", "--output_dir", str(tmp_path / "teacher")],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = train.stderr.strip().splitlines()
    assert train.returncode == 2 and len(lines) == 1, train.stderr
    assert lines[0] == (f"error: {output}: max_seq_len 48 is longer than the model's 32 "
                        f"position embeddings (config.json max_position_embeddings); use "
                        f"max_seq_len 32 or less, or a model that was not trimmed to 32 "
                        f"positions")


def test_bad_corpus_names_the_line(export_model_dir, tiny_data_dir, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(InputError, match=r"corpus.txt:2: not UTF-8"):
        trim_model_dir(export_model_dir, str(tmp_path / "out"), [(tiny_data_dir, "train")],
                       [str(corpus)])
    with pytest.raises(InputError, match="must differ"):
        trim_model_dir(export_model_dir, export_model_dir, [(tiny_data_dir, "train")])


def test_pipeline_export_trims_the_student(export_model_dir, tiny_model_dir, tiny_data_dir,
                                           tmp_path):
    from nlu_tf.model_io.model_dir import load_model_dir
    from nlu_tf.pipeline import orchestrator
    from nlu_tf.pipeline.recipe import load_recipe
    from nlu_tf.pipeline.stages import check_stage

    recipe = load_recipe(os.path.join(REPO, "configs", "tiny.yaml"),
                         [f"data.data_dir={tiny_data_dir}", "export.quantizations=[dynamic]",
                          "export.trim_vocab=true"], output_dir=str(tmp_path / "run"))
    assert load_recipe(os.path.join(REPO, "configs", "tiny.yaml"))["export"]["trim_vocab"] is False
    expected = {"export": {"export": recipe["export"], "data": recipe["data"],
                           "seed": recipe["seed"],
                           "models": {"teacher": export_model_dir, "student": tiny_model_dir}}}
    path = str(tmp_path / "run" / "export")
    orchestrator._export(recipe, expected, path)
    assert check_stage("export", path, expected["export"]) is None
    trimmed = _read_vocab(os.path.join(path, "student_trimmed"))
    assert len(trimmed) < len(_read_vocab(tiny_model_dir))
    assert _read_vocab(os.path.join(path, "student", "tflite_dynamic")) == trimmed
    assert _read_vocab(os.path.join(path, "teacher", "tflite_dynamic")) == \
        _read_vocab(export_model_dir)
    summary = json.loads(open(os.path.join(path, "student_trimmed", TRIM_FILE)).read())
    assert (summary["min_count"], summary["fallback_characters"]) == (1, "all")
    # The trimming keys reach the export; an older run's settings without them compare
    # as their defaults.
    recipe = load_recipe(os.path.join(REPO, "configs", "tiny.yaml"),
                         [f"data.data_dir={tiny_data_dir}", "export.quantizations=[dynamic]",
                          "export.trim_vocab=true", "export.trim_min_count=3",
                          "export.trim_fallback_characters=latin"],
                         output_dir=str(tmp_path / "run2"))
    expected2 = {"export": {**expected["export"], "export": recipe["export"]}}
    assert check_stage("export", path, expected2["export"]) is not None
    path2 = str(tmp_path / "run2" / "export")
    orchestrator._export(recipe, expected2, path2)
    summary = json.loads(open(os.path.join(path2, "student_trimmed", TRIM_FILE)).read())
    assert (summary["min_count"], summary["fallback_characters"]) == (3, "latin")
    older = {k: v for k, v in expected["export"]["export"].items() if not k.startswith("trim_")
             or k == "trim_vocab"}
    assert check_stage("export", path, {**expected["export"], "export": older}) is None
    # Shared rows: the trimmed student keeps the whole vocabulary (its table does not).
    recipe = load_recipe(os.path.join(REPO, "configs", "tiny.yaml"),
                         [f"data.data_dir={tiny_data_dir}", "export.quantizations=[dynamic]",
                          "export.trim_vocab=true", "export.trim_share_rows=true"],
                         output_dir=str(tmp_path / "run3"))
    expected3 = {"export": {**expected["export"], "export": recipe["export"]}}
    assert check_stage("export", path, expected3["export"]) is not None
    path3 = str(tmp_path / "run3" / "export")
    orchestrator._export(recipe, expected3, path3)
    shared = load_model_dir(os.path.join(path3, "student_trimmed")).model.encoder
    assert _read_vocab(os.path.join(path3, "student", "tflite_dynamic")) == \
        _read_vocab(tiny_model_dir)
    assert shared.embedding_rows == len(trimmed) < shared.vocab_size
    with pytest.raises(InputError, match="export: trim_share_rows goes with trim_vocab"):
        load_recipe(os.path.join(REPO, "configs", "tiny.yaml"), ["export.trim_share_rows=true"])


# -- the real bert-base-uncased vocabulary ------------------------------------------------


def _all_utterances():
    return {(dataset, split): [" ".join(example.words) for example in
                               read_split(os.path.join(REPO, "data", dataset), split)]
            for dataset in DATASETS for split in SPLITS}


@pytest.fixture(scope="module")
def bert_vocab_models(tmp_path_factory):
    """A tiny random encoder on the real bert-base-uncased vocabulary, as a model directory,
    and its copy trimmed on the Snips training split, converted (SavedModel + dynamic)."""
    import keras
    from safetensors.numpy import save_file

    from nlu_tf.data.reader import LabelMaps
    from nlu_tf.defaults import default_teacher_dir
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.model_io.model_dir import from_pretrained, save_model_dir

    root = tmp_path_factory.mktemp("bert_vocab")
    hf = root / "hf"
    hf.mkdir()
    shutil.copy(os.path.join(default_teacher_dir(), "vocab.txt"), hf)
    config = {**TINY_CONFIG, "vocab_size": len(_read_vocab(str(hf))), "hidden_size": 8,
              "num_attention_heads": 2, "intermediate_size": 16, "num_hidden_layers": 1}
    (hf / "config.json").write_text(json.dumps(config))
    state = {"bert." + k: v for k, v in random_bert_state(config).items()}
    save_file(state, str(hf / "model.safetensors"))
    keras.utils.set_random_seed(0)
    snips = os.path.join(REPO, "data", "snips")
    bundle = from_pretrained(str(hf), LabelMaps.from_dir(snips), 64)
    original = save_model_dir(bundle, str(root / "model"))
    trimmed = str(root / "trimmed")
    trim_model_dir(original, trimmed, [(snips, "train")])
    convert = str(root / "convert")
    convert_model_dir(trimmed, convert, ("dynamic",))
    return original, trimmed, convert


def test_three_tokenizers_agree_on_every_snips_and_atis_utterance(bert_vocab_models):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SavedModel's tokenizer ops)

    from nlu_tf.export.metadata import load_artefact_info

    _, trimmed, convert = bert_vocab_models
    python = WordPieceTokenizer.from_model_dir(trimmed)
    assert python.vocab_size == 11_185  # of 30,522: 5 specials, 1,994 characters, 9,186 used
    folders = {"saved_model": os.path.join(convert, "saved_model"),
               "tflite": os.path.join(convert, "tflite_dynamic")}
    for folder in folders.values():
        artefact = load_artefact_info(folder)
        assert _read_vocab(folder) == python.vocab
        assert artefact.tokenizer.lower_case == python.lower_case
        assert artefact.info["vocab_size"] == python.vocab_size
        assert artefact.info["special_tokens"] == {
            token: python.token_to_id(token) for token in ("[CLS]", "[SEP]", "[PAD]", "[UNK]")}
    app = load_artefact_info(folders["tflite"])
    graph = tf.saved_model.load(folders["saved_model"])
    max_seq_len = app.max_seq_len
    count = 0
    for (dataset, split), texts in _all_utterances().items():
        expected = [python.encode_text(text, max_seq_len).input_ids for text in texts]
        assert [app.tokenizer.encode_text(text, max_seq_len).input_ids
                for text in texts] == expected, (dataset, split)
        for start in range(0, len(texts), 1000):
            encoded = graph.tokenize(tf.constant(texts[start:start + 1000]))
            ids = encoded["input_ids"].numpy()
            lengths = encoded["attention_mask"].numpy().sum(axis=1)
            got = [row[:length].tolist() for row, length in zip(ids, lengths)]
            assert got == expected[start:start + 1000], (dataset, split, start)
        count += len(texts)
    assert count == 20_355


def test_no_new_unk_outside_the_training_data(bert_vocab_models):
    original_dir, trimmed_dir, _ = bert_vocab_models
    original = WordPieceTokenizer.from_model_dir(original_dir)
    trimmed = WordPieceTokenizer.from_model_dir(trimmed_dir)
    utterances = _all_utterances()
    # The training text keeps its exact pieces.
    for text in utterances[("snips", "train")]:
        for word in text.split():
            assert trimmed.word_pieces(word) == original.word_pieces(word), word
    # Elsewhere the pieces may differ, but no word gains an [UNK].
    words = {word for key, texts in utterances.items() if key != ("snips", "train")
             for text in texts for word in text.split()}
    chars = [token for token in original.vocab if len(token) == 1]
    rng = random.Random(0)
    words.update("".join(rng.choice(chars) for _ in range(rng.randint(1, 12)))
                 for _ in range(20_000))
    words.update(word for text in OUT_OF_DOMAIN for word in text.split())
    resegmented = 0
    for word in words:
        before, after = _unk_free(original, word), _unk_free(trimmed, word)
        assert all(a or not b for a, b in zip(after, before)), word
        resegmented += trimmed.word_pieces(word) != original.word_pieces(word)
    assert resegmented > 500  # not vacuous: measured 700 words take other pieces


def test_latin_fallbacks_on_the_bert_vocabulary(bert_vocab_models, tmp_path):
    original_dir, trimmed_dir, _ = bert_vocab_models
    latin_dir = str(tmp_path / "latin")
    snips = os.path.join(REPO, "data", "snips")
    summary = trim_model_dir(original_dir, latin_dir, [(snips, "train")],
                             fallback_characters="latin")
    full = json.loads(open(os.path.join(trimmed_dir, "trim_vocab.json")).read())
    assert summary["fallback_characters"] == "latin"
    assert summary["vocab_size"] <= full["vocab_size"] - 1500
    original = WordPieceTokenizer.from_model_dir(original_dir)
    latin = WordPieceTokenizer.from_model_dir(latin_dir)
    # Every Snips and ATIS word, and Latin-script words of every kind, keep their [UNK]-free
    # spelling; a word in another script that the data never uses becomes [UNK].
    words = {word for texts in _all_utterances().values() for text in texts
             for word in text.split()}
    chars = [token for token in original.vocab if len(token) == 1 and ord(token) < 0x250]
    rng = random.Random(1)
    words.update("".join(rng.choice(chars) for _ in range(rng.randint(1, 12)))
                 for _ in range(5_000))
    words.update(["naïve", "résumé", "straße", "e-mail", "$5.00", "l'été", "¿qué?"])
    for word in words:
        before, after = _unk_free(original, word), _unk_free(latin, word)
        assert all(a or not b for a, b in zip(after, before)), word
    assert latin.word_pieces("жук") == ["[UNK]"] != original.word_pieces("жук")


def test_output_dir_rule_is_checked_before_any_work(export_model_dir, tiny_data_dir, tmp_path):
    """#43 item 1: trim_vocab writes neither over its inputs nor into a foreign folder."""
    corpus_dir = tmp_path / "corpora"
    corpus_dir.mkdir()
    corpus = corpus_dir / "corpus.txt"
    corpus.write_text("play jazz\n", encoding="utf-8")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n", encoding="utf-8")
    data = [(tiny_data_dir, "train")]
    for output, problem in [(tiny_data_dir, "is the input"), (str(corpus_dir), "is a parent of"),
                            (os.path.dirname(export_model_dir), "is a parent of"),
                            (str(foreign), "holds files nlu_tf did not write")]:
        with pytest.raises(InputError, match=problem):
            trim_model_dir(export_model_dir, output, data, [str(corpus)])
    assert os.listdir(foreign) == ["notes.txt"] and os.listdir(corpus_dir) == ["corpus.txt"]
