"""Stage 2.0 training on a tiny random model: loss falls, runs repeat, directories reload."""

import collections
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.model_io.model_files import REQUIRED_FILES
from nlu_tf.io_utils import work_dir
from nlu_tf.training.stage import run_stage
from tests.interrupt import Interrupt, kill_at_step


def test_model_dir_is_complete_and_reloads_to_identical_logits(tiny_model_dir, tiny_data_dir):
    for name in REQUIRED_FILES + ("settings.json", "metrics.json"):
        assert os.path.isfile(os.path.join(tiny_model_dir, name)), name
    first, second = load_model_dir(tiny_model_dir), load_model_dir(tiny_model_dir)
    ids = np.array([[2, 40, 50, 60, 3, 0]], dtype=np.int32)
    inputs = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int32),
              "token_type_ids": np.zeros_like(ids)}
    a, b = first.model(inputs), second.model(inputs)
    np.testing.assert_array_equal(a["intent_logits"].numpy(), b["intent_logits"].numpy())
    np.testing.assert_array_equal(a["slot_logits"].numpy(), b["slot_logits"].numpy())
    with open(os.path.join(tiny_model_dir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["dev"]["examples"] > 0
    assert 0.0 <= metrics["dev"]["intent_acc"] <= 1.0


def test_loss_falls_and_same_seed_gives_same_metrics(tmp_path, settings_factory, tiny_bert_dir):
    runs = []
    for name in ("a", "b"):
        settings = settings_factory(str(tmp_path / name), tiny_bert_dir, num_train_epochs=3)
        runs.append(run_stage(settings))
    a, b = runs
    assert a["dev"] == b["dev"]
    assert a["dev_history"] == b["dev_history"]
    # The saved model is the best dev step's: scoring it again on dev gives that step's numbers.
    best = [entry for entry in a["dev_history"] if entry["step"] == a["best_step"]]
    assert best and all(a["dev"][key] == best[0][key]
                        for key in ("intent_acc", "slot_f1", "sentence_acc"))
    history = a["loss_history"]
    assert history[-1] < history[0] * 0.8, history


def test_killed_run_resumes_from_its_checkpoint_and_ends_the_same(tmp_path, settings_factory,
                                                                  tiny_bert_dir):
    def settings(name):
        return settings_factory(str(tmp_path / name), tiny_bert_dir, num_train_epochs=3,
                                checkpoint_every=3, head_dropout=0.0)

    reference = run_stage(settings("reference"))
    interrupted = settings("resumed")
    try:
        run_stage(interrupted, callbacks=[kill_at_step(7)])
    except Interrupt:
        pass
    assert not os.path.exists(interrupted.output_dir)
    assert os.path.isfile(os.path.join(work_dir(interrupted.output_dir), "checkpoint",
                                       "state.json"))
    resumed = run_stage(interrupted)
    assert resumed["resumed_from_step"] == 6
    assert not os.path.exists(work_dir(interrupted.output_dir))
    assert resumed["best_step"] == reference["best_step"]
    assert resumed["dev_history"] == reference["dev_history"]
    assert resumed["dev"] == reference["dev"]


TRAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                     "train.py")


def _train_tool(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, TRAIN, *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.parametrize("field, value, message", [
    ("learning_rate", float("nan"), "learning_rate must be a finite number > 0, got nan"),
    ("learning_rate", float("inf"), "learning_rate must be a finite number > 0, got inf"),
    ("learning_rate", -1e-4, "learning_rate must be a finite number > 0, got -0.0001"),
    ("head_dropout", 1.0, "dropout must be in [0, 1), got 1.0"),
    ("head_dropout", -0.1, "dropout must be in [0, 1), got -0.1"),
    ("num_train_epochs", float("inf"), "num_train_epochs must be a finite number > 0, got inf"),
    ("eval_batch_size", 0, "eval_batch_size must be positive, got 0"),
    ("max_train_examples", -3, "max_train_examples must be >= 0, got -3"),
])
def test_out_of_range_settings_are_refused(settings_factory, field, value, message):
    import dataclasses

    from nlu_tf.training.settings import DataSettings, OptimizerSettings

    def overrides():  # each settings dataclass checks its own fields when made
        if field == "learning_rate":
            return {"optimizer": OptimizerSettings(learning_rate=value)}
        if field in ("eval_batch_size", "max_train_examples"):
            return {"data": dataclasses.replace(DataSettings(), **{field: value})}
        return {field: value}

    with pytest.raises(ValueError) as error:
        settings_factory("out", "bert", **overrides())
    assert str(error.value) == message


def test_cli_nan_learning_rate_is_exit_2_before_training(tmp_path, tiny_data_dir):
    result = _train_tool("--data_dir", tiny_data_dir, "--output_dir", str(tmp_path / "out"),
                         "--teacher_model", str(tmp_path), "--learning_rate", "nan")
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines() == [
        "error: command line: learning_rate must be a finite number > 0, got nan"]
    assert os.listdir(tmp_path) == []


def test_cli_loss_that_becomes_nan_stops_with_status_1_and_writes_nothing(tmp_path, tiny_bert_dir,
                                                                         tiny_data_dir):
    output = str(tmp_path / "out")
    result = _train_tool("--teacher_model", tiny_bert_dir, "--data_dir", tiny_data_dir,
                         "--output_dir", output, "--max_seq_len", "32", "--train_batch_size",
                         "16", "--num_train_epochs", "2", "--checkpoint_every", "1",
                         "--nojit_compile", "--learning_rate", "1e30")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [last]
    assert re.fullmatch(rf"error: {re.escape(output)}: the training loss became (nan|inf|-inf) "
                        r"at step \d+; .*", last), last
    step = int(re.search(r"at step (\d+)", last).group(1))
    assert 1 <= step <= 3
    assert not os.path.exists(output)
    # The checkpoint of the last finite step is kept, never one of NaN weights.
    state = os.path.join(work_dir(output), "checkpoint", "state.json")
    if step > 1:
        with open(state) as f:
            assert json.load(f)["step"] == step - 1


def _keys(value):
    """Every dict key inside a parsed JSON value, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_cli_stage_2_0_prints_and_writes_no_test_metrics(tmp_path, tiny_bert_dir, tiny_data_dir):
    """Issue #44 item 4: test is read once, by evaluation alone; training scores dev only."""
    output = str(tmp_path / "out")
    result = _train_tool("--teacher_model", tiny_bert_dir, "--data_dir", tiny_data_dir,
                         "--output_dir", output, "--max_seq_len", "32", "--train_batch_size",
                         "16", "--num_train_epochs", "1", "--nojit_compile")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0.0 <= printed["dev_intent_acc"] <= 1.0
    assert "test" not in result.stdout.replace(output, "")
    assert not {key for key in _keys(printed) if key.startswith("test")}
    with open(os.path.join(output, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["dev"]["examples"] > 0
    for root, _, files in os.walk(output):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(root, name)) as f:
                    keys = set(_keys(json.load(f)))
                assert not {key for key in keys if key.startswith("test")}, name


def _event_tags(folder):
    import tensorflow as tf

    tags = collections.Counter()
    for name in os.listdir(folder):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(folder, name)):
            for value in event.summary.value:
                tags[value.tag] += 1
    return tags


def test_a_training_run_leaves_tensorboard_curves(tmp_path, tiny_bert_dir, tiny_data_dir):
    output = str(tmp_path / "out")
    result = _train_tool("--teacher_model", tiny_bert_dir, "--data_dir", tiny_data_dir,
                         "--output_dir", output, "--max_seq_len", "32", "--train_batch_size",
                         "4", "--num_train_epochs", "7", "--eval_step", "25", "--nojit_compile")
    assert result.returncode == 0, result.stderr[-2000:]
    tags = _event_tags(os.path.join(output, "tensorboard"))
    # 64 utterances / 4 = 16 steps an epoch, 112 steps: points at steps 50, 100 and 112.
    for tag in ("train/loss", "train/intent_loss", "train/slot_loss", "train/learning_rate"):
        assert tags[tag] == 3, (tag, tags)
    for tag in ("dev/intent_acc", "dev/slot_f1", "dev/sentence_acc"):
        assert tags[tag] >= 4, (tag, tags)  # every 25 steps and at each epoch end
    assert not os.path.exists(os.path.join(os.path.dirname(output), ".out.work"))
