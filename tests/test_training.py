"""Stage 2.0 training on a tiny random model: loss falls, runs repeat, directories reload."""

import json
import os

import numpy as np

from nlu_tf.models.model_dir import load_model_dir
from nlu_tf.models.model_files import REQUIRED_FILES
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


class _Interrupt(Exception):
    pass


def test_killed_run_resumes_from_its_checkpoint_and_ends_the_same(tmp_path, settings_factory,
                                                                  tiny_bert_dir):
    import keras

    from nlu_tf.training.resume import work_dir

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 7:
                raise _Interrupt()

    def settings(name):
        return settings_factory(str(tmp_path / name), tiny_bert_dir, num_train_epochs=3,
                                checkpoint_every=3, head_dropout=0.0)

    reference = run_stage(settings("reference"))
    interrupted = settings("resumed")
    try:
        run_stage(interrupted, callbacks=[KillAtStep()])
    except _Interrupt:
        pass
    assert not os.path.exists(interrupted.output_dir)
    assert os.path.isfile(os.path.join(work_dir(interrupted.output_dir), "checkpoint",
                                       "state.json"))
    resumed = run_stage(interrupted)
    assert resumed["resumed_from_step"] == 6
    assert not os.path.exists(work_dir(interrupted.output_dir))
    assert resumed["best_step"] == reference["best_step"]
    assert resumed["dev_history"] == reference["dev_history"]
    assert resumed["test"] == reference["test"]
