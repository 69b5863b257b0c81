"""nlu-evaluate and nlu-predict on a GLUE model directory (#45): the task's metrics on dev,
one label (or STS-B score) per input line, and one-line refusals."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.glue_files import write_glue_task
from tests.tiny import REPO

MAX_SEQ_LEN = 32


def glue_model_dir(tiny_bert_dir, folder, task, seed=0):
    """The tiny random BERT with a seeded random head for `task`, saved as a model directory
    (random heads predict both classes, so label order and segment ids matter)."""
    import keras

    from nlu_tf.data.glue.labels import TaskLabels
    from nlu_tf.model_io.model_dir import from_pretrained, save_model_dir

    keras.utils.set_random_seed(seed)
    bundle = from_pretrained(tiny_bert_dir, TaskLabels.of(task), MAX_SEQ_LEN)
    return save_model_dir(bundle, folder)


def _tool(tool, *args):
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", tool), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def mrpc(tiny_bert_dir, tmp_path_factory):
    """(GLUE root, MRPC model directory)."""
    root = str(tmp_path_factory.mktemp("glue_serving"))
    write_glue_task(root, "mrpc", train=8, dev=12)
    return root, glue_model_dir(tiny_bert_dir, os.path.join(root, "model"), "mrpc")


def _reference_logits(model_dir, pairs):
    """The Keras model's logits of `(a, b)` pairs, each encoded and run on its own."""
    from nlu_tf.data.pair_features import encode_pair
    from nlu_tf.glue_evaluation import glue_logits_fn
    from nlu_tf.model_io.model_dir import load_model_dir

    bundle = load_model_dir(model_dir)
    logits_fn = glue_logits_fn(bundle.model, jit_compile=False)
    rows = []
    for a, b in pairs:
        ids, types, _ = encode_pair(bundle.tokenizer, a, b, bundle.max_seq_len)
        batch = {"input_ids": np.array([ids], np.int32),
                 "attention_mask": np.ones((1, len(ids)), np.int32),
                 "token_type_ids": np.array([types], np.int32)}
        rows.append(logits_fn(batch)[0])
    return np.array(rows)


def test_evaluate_scores_dev_with_the_tasks_metrics(mrpc, tmp_path):
    from nlu_tf.glue_evaluation import evaluate_glue
    from nlu_tf.data.glue import glue_task
    from nlu_tf.model_io.model_dir import load_model_dir

    root, model = mrpc
    output = tmp_path / "eval.json"
    result = _tool("evaluate.py", "--model_dir", model, "--data_dir", root, "--nojit_compile",
                   "--output_file", str(output))
    assert result.returncode == 0, result.stderr[-2000:]
    written = json.loads(output.read_text())
    assert (written["task"], written["split"]) == ("mrpc", "dev")  # dev without --split
    assert set(written["metrics"]) == {"acc", "f1", "acc_and_f1", "examples"}
    assert written["metrics"]["examples"] == 12
    # The figures of training's own dev scoring for the same weights.
    expected = evaluate_glue(load_model_dir(model), root, glue_task("mrpc"), batch_size=5)
    assert written["metrics"] == pytest.approx(expected)
    assert f"acc_and_f1  {expected['acc_and_f1']:.4f}" in result.stdout

    refused = _tool("evaluate.py", "--model_dir", model, "--data_dir", root, "--split", "test")
    assert refused.returncode == 2
    assert "test labels are not public" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_predict_writes_one_label_per_pair_line_and_tsv_example(mrpc, tmp_path):
    root, model = mrpc
    pairs = [("play the song for me", "add a book"), ("weather in my", "find the weather"),
             ("a", "b c d e f g h")]
    lines = tmp_path / "pairs.txt"
    lines.write_text("".join(f"{a}\t{b}\n" for a, b in pairs))
    output = tmp_path / "out.jsonl"
    result = _tool("predict.py", "--model_dir", model, "--input_file", str(lines),
                   "--format", "json", "--output_file", str(output), "--nojit_compile")
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in output.read_text().splitlines()]
    logits = _reference_logits(model, pairs)
    assert [r["label"] for r in records] == [("0", "1")[i] for i in logits.argmax(-1)]
    assert [(r["text_a"], r["text_b"]) for r in records] == pairs
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert [r["prob"] for r in records] == pytest.approx(probs.max(-1), abs=1e-5)

    # The task's own TSV layout: one line per example (the header is not one).
    tsv = os.path.join(root, "MRPC", "dev.tsv")
    from_tsv = _tool("predict.py", "--model_dir", model, "--input_file", tsv, "--nojit_compile")
    assert from_tsv.returncode == 0, from_tsv.stderr[-2000:]
    assert len(from_tsv.stdout.splitlines()) == 12
    assert set(from_tsv.stdout.splitlines()) <= {"0", "1"}

    lines.write_text("only one sentence\n")
    bad = _tool("predict.py", "--model_dir", model, "--input_file", str(lines))
    assert bad.returncode == 2 and "MRPC reads text_a<TAB>text_b per line" in bad.stderr


def test_predict_and_evaluate_a_regression_task(tiny_bert_dir, tmp_path):
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.glue import evaluate_glue_split, format_line, predict_pairs

    root = str(tmp_path)
    write_glue_task(root, "sts-b", train=4, dev=10)
    model = glue_model_dir(tiny_bert_dir, str(tmp_path / "stsb"), "sts-b")
    predictor = load_predictor(model, jit_compile=False)
    metrics = evaluate_glue_split(predictor, root, "dev", batch_size=4)
    assert set(metrics) == {"pearson", "spearmanr", "corr", "examples"}
    pairs = [("play a song", "the weather"), ("book for me", "add to my")]
    results = list(predict_pairs(predictor, pairs, batch_size=1))
    scores = _reference_logits(model, pairs)[:, 0]
    assert [r["score"] for r in results] == pytest.approx(scores, abs=1e-5)
    assert format_line(results[0]) == f"{scores[0]:.4f}"
    assert set(json.loads(format_line(results[0], "json"))) == {"text_a", "text_b", "score",
                                                                 "truncated"}
    with pytest.raises(Exception, match="test labels are not public"):
        evaluate_glue_split(predictor, root, "test")
