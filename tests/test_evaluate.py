"""Tests of nlu_tf.serving.evaluation, nlu_tf.predictor and tools/evaluate.py."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nlu_tf.data.reader import LabelMaps
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.serving.evaluation import SUMMARY_KEYS, evaluate_split, format_report, record_tflite_metrics
from nlu_tf.export.metadata import read_model_info
from nlu_tf.predictor import Predictor
from nlu_tf.serving.artefact import load_predictor
from tests.tiny import REPO

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "jazz", "now", "weather", "in", "paris"]
INTENTS = ("UNK", "PlayMusic", "GetWeather")
SLOTS = ("PAD", "UNK", "O", "B-genre", "I-genre", "B-city")
# Slot logits per token id (columns in SLOTS order). "now" scores PAD and UNK highest, which
# decoding never predicts, so it is tagged O; "paris" is tagged B-genre instead of B-city.
SLOT_TABLE = np.zeros((len(VOCAB), len(SLOTS)), dtype=np.float32)
SLOT_TABLE[VOCAB.index("play")] = [0, 0, 5, 0, 0, 0]
SLOT_TABLE[VOCAB.index("jazz")] = [0, 0, 1, 5, 0, 0]
SLOT_TABLE[VOCAB.index("now")] = [9, 8, 3, 0, 0, 0]
SLOT_TABLE[VOCAB.index("weather")] = [0, 0, 5, 0, 0, 0]
SLOT_TABLE[VOCAB.index("in")] = [0, 0, 5, 0, 0, 1]
SLOT_TABLE[VOCAB.index("paris")] = [0, 0, 0, 4, 0, 3]


def write_split(root, split, rows):
    """Writes one split of (text, tags, intent) rows in the seq.in / seq.out / label layout."""
    folder = os.path.join(root, split)
    os.makedirs(folder)
    for name, column in (("seq.in", 0), ("seq.out", 1), ("label", 2)):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write("".join(row[column] + "\n" for row in rows))
    return root


def test_fake_logits_give_hand_computed_metrics(tmp_path):
    data_dir = write_split(str(tmp_path), "test",
                           [("play jazz now", "O B-genre O", "PlayMusic"),
                            ("weather in paris", "O O B-city", "GetWeather")])
    batches = []

    def logits_fn(batch):
        batches.append(batch)
        ids = batch["input_ids"]
        # Always PlayMusic: the second utterance's intent is wrong.
        return np.tile([[0.0, 2.0, 1.0]], (len(ids), 1)), SLOT_TABLE[ids]

    runner = Predictor(logits_fn, WordPieceTokenizer(VOCAB), LabelMaps(INTENTS, SLOTS), 16, "fake")
    metrics = evaluate_split(runner, data_dir, "test", batch_size=8)

    assert len(batches) == 1
    np.testing.assert_array_equal(batches[0]["input_ids"], [[2, 4, 5, 6, 3], [2, 7, 8, 9, 3]])
    np.testing.assert_array_equal(batches[0]["attention_mask"], np.ones((2, 5)))
    # Gold spans genre(1), city(2); predicted genre(1), genre(2): one of two right each way.
    # Sentence: only the first utterance has its intent and every tag right.
    assert metrics["examples"] == 2
    assert metrics["intent_acc"] == 0.5
    assert metrics["slot_precision"] == 0.5
    assert metrics["slot_recall"] == 0.5
    assert metrics["slot_f1"] == 0.5
    assert metrics["sentence_acc"] == 0.5
    assert metrics["per_intent"]["PlayMusic"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert metrics["per_intent"]["GetWeather"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                   "support": 1}
    assert metrics["per_slot"]["genre"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert metrics["per_slot"]["city"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                           "support": 1}

    report = format_report(metrics, "fake on test")
    assert report.splitlines()[0] == "fake on test"
    assert "intent_acc      0.5000" in report
    assert any(line.startswith("PlayMusic") and line.split()[1:] == ["0.5000", "1.0000",
                                                                      "0.6667", "1"]
               for line in report.splitlines())


def test_missing_split_and_bad_model_paths_are_input_errors(tmp_path):
    data_dir = write_split(str(tmp_path / "data"), "dev", [("play jazz", "O B-genre", "PlayMusic")])
    runner = Predictor(None, WordPieceTokenizer(VOCAB), LabelMaps(INTENTS, SLOTS), 16, "fake")
    with pytest.raises(InputError, match="split folder 'test' not found"):
        evaluate_split(runner, data_dir, "test")
    with pytest.raises(InputError, match="model not found"):
        load_predictor(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="not a model directory"):
        load_predictor(os.path.join(data_dir, "dev", "label"))
    with pytest.raises(InputError, match="config.json: missing"):
        load_predictor(data_dir)


def test_cli_reproduces_the_dev_metrics_of_training(tiny_model_dir, tiny_data_dir, tmp_path):
    output = tmp_path / "eval" / "dev.json"
    # The tiny model was trained with jit_compile=False and evaluation batches of 32.
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "evaluate.py"), "--model_dir", tiny_model_dir,
         "--data_dir", tiny_data_dir, "--task", "snips", "--split", "dev", "--batch_size", "32",
         "--nojit_compile", "--output_file", str(output)],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr

    with open(os.path.join(tiny_model_dir, "metrics.json"), encoding="utf-8") as f:
        trained = json.load(f)["dev"]
    with open(output, encoding="utf-8") as f:
        written = json.load(f)
    assert written["split"] == "dev"
    assert written["metrics"] == trained

    lines = result.stdout.splitlines()
    for key in ("intent_acc", "slot_f1", "slot_precision", "slot_recall", "sentence_acc"):
        assert f"{key:<14}  {trained[key]:.4f}" in lines
    assert f"examples        {trained['examples']}" in lines
    assert lines[lines.index("") + 1].split() == ["intent", "precision", "recall", "f1", "support"]
    rows = {line.split()[0] for line in lines if line}
    assert set(trained["per_intent"]) <= rows
    assert set(trained["per_slot"]) <= rows


def test_every_artefact_gives_the_same_metrics_and_report(export_model_dir, convert_dir,
                                                          tiny_data_dir):
    paths = {"keras": export_model_dir, "saved_model": os.path.join(convert_dir, "saved_model"),
             "tflite-float32": os.path.join(convert_dir, "tflite_float32")}
    results = {}
    for kind, path in paths.items():
        runner = load_predictor(path, jit_compile=False)
        assert runner.name == f"{kind}:{os.path.normpath(path)}"
        # Batches of 8: the TFLite model is resized to several padded batch shapes.
        metrics = evaluate_split(runner, tiny_data_dir, "test", batch_size=8)
        check = metrics.pop("graph_decoding", None)
        # The TFLite file decodes in its graph too, checked against nlu_tf's decoding.
        assert (check is not None) == kind.startswith("tflite"), kind
        if check is not None:
            assert check == {"utterances": metrics["examples"], "disagree": 0,
                             "first_disagreement": None}
        results[kind] = (metrics, format_report(metrics))
    assert len(results["keras"][0]["per_slot"]) > 5  # random heads: many different tags
    assert results["saved_model"] == results["keras"]
    assert results["tflite-float32"] == results["keras"]
    assert record_tflite_metrics(paths["saved_model"], "snips_test", results["keras"][0]) is None


def test_cli_on_a_tflite_folder_records_its_metrics(export_model_dir, convert_dir, tiny_data_dir,
                                                    tmp_path):
    folder = tmp_path / "tflite_float32"
    shutil.copytree(os.path.join(convert_dir, "tflite_float32"), folder)
    output = tmp_path / "eval.json"
    command = [sys.executable, os.path.join(REPO, "tools", "evaluate.py"), "--model_dir",
               str(folder), "--data_dir", tiny_data_dir, "--task", "snips", "--split", "test"]
    result = subprocess.run(command + ["--num_threads", "2", "--output_file", str(output),
                                       "--reference", export_model_dir, "--nojit_compile"],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr

    keras = evaluate_split(load_predictor(export_model_dir, jit_compile=False), tiny_data_dir, "test")
    with open(output, encoding="utf-8") as f:
        written = json.load(f)
    assert written["model"] == f"tflite-float32:{folder}"
    assert written["metrics"].pop("graph_decoding")["disagree"] == 0
    assert written["metrics"] == keras
    agreement = written["agreement"]
    assert agreement["examples"] == keras["examples"] and agreement["words"] > agreement["examples"]
    assert agreement["intent_agreement_pct"] == 100.0 and agreement["tag_agreement_pct"] == 100.0
    assert 0 < agreement["max_abs_logit_diff"] < 1e-4  # float32 TFLite vs the Keras model
    assert agreement["reference"].startswith("keras:")
    assert "agreement with keras:" in result.stdout
    assert result.stdout.splitlines()[0].startswith(f"tflite-float32:{folder} on ")
    assert format_report(keras) in result.stdout
    assert (f"in-graph decoding: the same as nlu_tf's on {keras['examples']} of "
            f"{keras['examples']} utterances") in result.stdout
    recorded = read_model_info(str(folder))["metrics"]
    assert recorded == {"snips_test": {**{key: keras[key] for key in SUMMARY_KEYS},
                                       "examples": keras["examples"],
                                       "data_dir": os.path.normpath(tiny_data_dir)}}
    assert "metrics" not in read_model_info(os.path.join(convert_dir, "tflite_float32"))

    bad = subprocess.run(command + ["--num_threads", "0"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == ["error: command line: --num_threads must be positive, got 0"]
