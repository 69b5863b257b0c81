"""Stage 2.0 training on a tiny random model: loss falls, runs repeat, directories reload."""

import json
import os

import numpy as np

from nlu_tf.models.model_dir import REQUIRED_FILES, load_model_dir
from nlu_tf.training.runner import run_stage


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
    assert metrics["test"]["examples"] == 32
    assert 0.0 <= metrics["test"]["intent_acc"] <= 1.0


def test_loss_falls_and_same_seed_gives_same_metrics(tmp_path, settings_factory, tiny_bert_dir):
    runs = []
    for name in ("a", "b"):
        settings = settings_factory(str(tmp_path / name), tiny_bert_dir, num_train_epochs=3)
        runs.append(run_stage(settings))
    a, b = runs
    assert a["test"] == b["test"]
    assert a["dev_history"] == b["dev_history"]
    history = a["loss_history"]
    assert history[-1] < history[0] * 0.8, history
