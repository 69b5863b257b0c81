"""Tests of nlu_tf.benchmark (latency, artefact comparison) and tools/benchmark_latency.py.

No timing is asserted: only that every kind of artefact is measured and reported.
"""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from nlu_tf.serving.artefact import open_artefact
from nlu_tf.benchmark.compare import agreement, evaluate_artefacts, split_features
from nlu_tf.benchmark.latency import markdown_table, run_benchmark
from nlu_tf.data.reader import LabelMaps
from nlu_tf.errors import InputError
from nlu_tf.serving.artefact import load_predictor
from tests.tiny import REPO

SUMMARY = ("p50", "p90", "p99", "mean", "min")


@pytest.fixture(scope="module")
def artefacts(export_model_dir, convert_dir):
    return {"keras": export_model_dir, "saved_model": os.path.join(convert_dir, "saved_model"),
            "float32": os.path.join(convert_dir, "tflite_float32"),
            "int8": os.path.join(convert_dir, "tflite_int8")}


def _check_result(result, path, threads, queries):
    assert result["artefact"] == os.path.normpath(path)
    assert result["threads"] == threads and result["queries"] == queries
    assert result["warmup_calls"] >= 2 and result["mean_tokens"] > 2
    for key in ("model_ms", "tokenize_ms", "total_ms"):
        assert set(result[key]) == set(SUMMARY), key
        assert 0 < result[key]["min"] <= result[key]["p50"] <= result[key]["p90"] \
            <= result[key]["p99"], key
    assert result["size_bytes"] == open_artefact(path).size_bytes > 0
    assert result["size_mb"] == round(result["size_bytes"] / 1e6, 2)


def test_latency_cli_measures_every_kind(artefacts, tiny_data_dir, tmp_path):
    paths = [artefacts["keras"], artefacts["saved_model"], artefacts["int8"]]
    output = tmp_path / "latency.json"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "benchmark_latency.py"), "--artefacts",
         ",".join(paths), "--data_dir", tiny_data_dir, "--threads", "1", "--queries", "5",
         "--warmup", "2", "--output_file", str(output)],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    with open(output, encoding="utf-8") as f:
        report = json.load(f)
    setup, results = report["setup"], report["results"]
    assert setup["queries"] == 5 and setup["warmup"] == 2 and setup["split"] == "test"
    assert setup["machine"]["cpu_count"] >= 1 and setup["machine"]["packages"]["tensorflow"]
    assert [r["kind"] for r in results] == ["keras", "saved_model", "tflite"]
    parameters = open_artefact(artefacts["keras"]).num_parameters
    for path, measured in zip(paths, results):
        _check_result(measured, path, 1, 5)
        assert measured["num_parameters"] == parameters
    # Keras and the SavedModel ran in a subprocess whose TensorFlow took the thread count.
    assert results[0]["tensorflow_threads"] == {"intra_op": 1, "inter_op": 1}
    assert results[1]["tensorflow_threads"] == {"intra_op": 1, "inter_op": 1}
    assert results[0]["jit_compile"] is True and results[2]["tensorflow_threads"] is None

    table = result.stdout.strip().splitlines()
    assert table[0].startswith("| artefact | threads | p50 ms | p90 ms | p99 ms | tokenize p50")
    assert [row.split(" | ")[0] for row in table[2:]] == [f"| {r['name']}" for r in results]
    assert table == markdown_table(results).splitlines()
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == ["[1/3", "[2/3", "[3/3"]


def test_tflite_latency_runs_in_process_per_thread_count(artefacts, tiny_data_dir):
    lines = []
    report = run_benchmark([artefacts["float32"]], (1, 2), tiny_data_dir, "", queries=5,
                           warmup=2, progress=lines.append)
    assert [r["threads"] for r in report["results"]] == [1, 2] and len(lines) == 2
    for measured, threads in zip(report["results"], (1, 2)):
        _check_result(measured, artefacts["float32"], threads, 5)
        assert measured["name"].startswith("tflite-float32:")
    assert report["setup"]["load_average_1m_after"] is not None


def test_interleaved_tflite_artefacts_take_turns(artefacts, tiny_data_dir, monkeypatch):
    from nlu_tf.benchmark import latency

    calls, original = [], latency._Timer.time

    def recorded(timer, text):
        calls.append(timer.path)
        original(timer, text)

    monkeypatch.setattr(latency._Timer, "time", recorded)
    float32, int8 = artefacts["float32"], artefacts["int8"]
    report = run_benchmark([float32, int8], (1,), tiny_data_dir, "", queries=7, warmup=2,
                           interleave=3)
    # Turns of 3 queries (the last one of 1), the order of the turns rotating.
    assert calls == [float32] * 3 + [int8] * 3 + [int8] * 3 + [float32] * 3 + \
        [float32, int8]
    assert report["setup"]["interleave_block"] == 3
    first, second = report["results"]
    _check_result(first, float32, 1, 7)
    _check_result(second, int8, 1, 7)
    assert first["p50_ratio"] == 1.0 and second["p50_ratio"] > 0
    assert markdown_table(report["results"]).splitlines()[0].endswith("time / first's, median |")
    with pytest.raises(InputError, match="only TFLite artefacts can be measured interleaved"):
        run_benchmark([float32, artefacts["keras"]], (1,), tiny_data_dir, "", interleave=3)
    with pytest.raises(InputError, match="interleave block must be positive"):
        latency.measure_interleaved([float32], 1, ["a b"], block=0)


def test_bad_benchmark_inputs_fail_before_measuring(artefacts, tiny_data_dir, tmp_path):
    float32 = artefacts["float32"]
    with pytest.raises(InputError, match="model not found"):
        run_benchmark([str(tmp_path / "nowhere")], (1,), tiny_data_dir, "")
    with pytest.raises(InputError, match="thread counts must be positive"):
        run_benchmark([float32], (0,), tiny_data_dir, "")
    with pytest.raises(InputError, match="queries must be positive"):
        run_benchmark([float32], (1,), tiny_data_dir, "", queries=0)
    with pytest.raises(InputError, match="split folder 'nope' not found"):
        run_benchmark([float32], (1,), tiny_data_dir, "", split="nope")
    with pytest.raises(InputError, match="config.json"):
        open_artefact(str(tmp_path))
    assert open_artefact(os.path.join(float32, "model.tflite")).kind == "tflite"


def test_evaluate_artefacts_gives_one_row_each(artefacts, tiny_data_dir):
    paths = [artefacts[kind] for kind in ("keras", "saved_model", "float32", "int8")]
    rows = evaluate_artefacts(paths, tiny_data_dir, "", "test", batch_size=16, jit_compile=False)
    assert [row["name"].split(":")[0] for row in rows] == ["keras", "saved_model",
                                                           "tflite-float32", "tflite-int8"]
    scores = [(row["intent_acc"], row["slot_f1"], row["sentence_acc"]) for row in rows]
    assert scores[1] == scores[0] and scores[2] == scores[0]
    for row in rows:
        assert row["examples"] == 32 and 0 <= row["slot_f1"] <= 1
        assert row["num_parameters"] == rows[0]["num_parameters"] > 0
    sizes = [row["size_mb"] for row in rows]
    assert 0 < sizes[3] < sizes[2]  # int8 is smaller than float32
    # Each .tflite decodes in its graph too, checked against nlu_tf's decoding.
    assert ["graph_decoding" in row for row in rows] == [False, False, True, True]
    assert [row["graph_decoding"] for row in rows[2:]] == [{"utterances": 32, "disagree": 0}] * 2


def test_agreement_of_converted_models_with_keras(artefacts, tiny_data_dir):
    keras = load_predictor(artefacts["keras"], jit_compile=False)
    features = split_features(keras, tiny_data_dir, "", "test")

    itself = agreement(keras, keras, features, batch_size=8)
    assert itself["intent_agreement_pct"] == 100.0 and itself["tag_agreement_pct"] == 100.0
    assert itself["max_abs_logit_diff"] == 0.0
    assert itself["examples"] == 32 and itself["words"] == int(features.num_words.sum())

    float32 = agreement(keras, load_predictor(artefacts["float32"]), features, batch_size=8)
    assert float32["intent_agreement_pct"] == 100.0 and float32["tag_agreement_pct"] == 100.0
    assert 0.0 < float32["max_abs_logit_diff"] < 1e-4

    # Loose bounds, as in test_export: random heads leave small logit margins.
    int8 = agreement(keras, load_predictor(artefacts["int8"]), features)
    assert int8["intent_agreement_pct"] >= 75 and int8["tag_agreement_pct"] >= 85, int8
    assert 0.0 < int8["max_abs_logit_diff"] < 1.0
    assert int8["max_abs_logit_diff"] == max(int8["max_abs_intent_logit_diff"],
                                             int8["max_abs_slot_logit_diff"])

    other = dataclasses.replace(keras, labels=LabelMaps(keras.labels.intents[::-1],
                                                        keras.labels.slots))
    with pytest.raises(ValueError, match="different labels"):
        agreement(keras, other, features)
