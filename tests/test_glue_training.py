"""GLUE tasks through the model directory, the data pipeline and stage 2.0 (#45)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.glue import glue_task, read_glue_split
from nlu_tf.data.glue.labels import TaskLabels
from nlu_tf.data.pair_features import encode_glue
from nlu_tf.distill.label_objectives import LabelObjective
from nlu_tf.distill.losses import global_counts
from nlu_tf.errors import InputError
from nlu_tf.glue_evaluation import evaluate_glue
from nlu_tf.model_io.model_dir import from_pretrained, load_model_dir, save_model_dir
from nlu_tf.training.settings import DataSettings, OptimizerSettings, RunSettings
from nlu_tf.training.stage import run_stage
from tests.glue_files import write_glue_task


def glue_settings(data_dir, task, output_dir, teacher, **overrides):
    """Run settings for a few fast steps on a tiny GLUE task."""
    data = DataSettings(data_dir=data_dir, task=task, max_seq_len=32, train_batch_size=16,
                        eval_batch_size=32)
    base = dict(stage="2.0", output_dir=output_dir, teacher_model=teacher,
                num_train_epochs=8, seed=1, jit_compile=False, verbose=0, data=data,
                optimizer=OptimizerSettings(learning_rate=3e-3, warmup_proportion=0.0))
    base.update(overrides)
    return RunSettings(**base)


@pytest.fixture(scope="module")
def glue_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("glue"))
    for task in ("mrpc", "sts-b"):
        write_glue_task(root, task)
    return root


@pytest.fixture(scope="module")
def glue_teacher(glue_root, tiny_bert_dir, tmp_path_factory):
    """(metrics, model directory) of stage 2.0 on the tiny MRPC task, data_dir the root."""
    output = str(tmp_path_factory.mktemp("glue_teacher") / "teacher")
    return run_stage(glue_settings(glue_root, "MRPC", output, tiny_bert_dir)), output


@pytest.mark.parametrize("task", ["mrpc", "sts-b"])
def test_sequence_model_dir_round_trip(tiny_bert_dir, tmp_path, task):
    bundle = from_pretrained(tiny_bert_dir, TaskLabels.of(task), 32)
    path = save_model_dir(bundle, str(tmp_path / "model"))
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    assert config["head"] == "sequence" and config["model"]["task"] == task
    # STS-B is regression: one output and no label file.
    assert os.path.isfile(os.path.join(path, "label.txt")) == (task == "mrpc")
    loaded = load_model_dir(path)
    assert loaded.labels == TaskLabels.of(task)
    inputs = {"input_ids": np.array([[2, 40, 41, 3, 50, 3]], np.int32),
              "attention_mask": np.ones((1, 6), np.int32),
              "token_type_ids": np.array([[0, 0, 0, 0, 1, 1]], np.int32)}
    before, after = bundle.model(inputs)["logits"], loaded.model(inputs)["logits"]
    assert after.shape == (1, glue_task(task).num_labels)
    np.testing.assert_allclose(before, after, atol=1e-6)


def test_label_file_must_match_the_task(tiny_bert_dir, tmp_path):
    path = save_model_dir(from_pretrained(tiny_bert_dir, TaskLabels.of("mrpc"), 32),
                          str(tmp_path / "model"))
    with open(os.path.join(path, "label.txt"), "w") as f:
        f.write("1\n0\n")
    with pytest.raises(InputError, match="label.txt.*not MRPC's 0, 1"):
        load_model_dir(path)


def test_pair_batches_carry_segments_and_labels(glue_root, tiny_bert_dir):
    bundle = from_pretrained(tiny_bert_dir, TaskLabels.of("sts-b"), 32)
    task = glue_task("sts-b")
    features = encode_glue(read_glue_split(glue_root, task, "dev")[:3], bundle.tokenizer,
                           task, 32)
    inputs, targets = pad_batch(features, np.arange(3), 8, 32)
    for row in range(3):
        np.testing.assert_array_equal(inputs["token_type_ids"][row, :len(features.input_ids[row])],
                                      features.token_type_ids[row])
    assert inputs["token_type_ids"].max() == 1
    assert targets["label"].dtype == np.float32
    np.testing.assert_allclose(targets["label"], features.labels[:3])


def test_regression_loss_is_the_mean_squared_error(tiny_bert_dir):
    bundle = from_pretrained(tiny_bert_dir, TaskLabels.of("sts-b"), 32)
    inputs = {"input_ids": np.array([[2, 40, 3, 41, 3], [2, 42, 3, 43, 3]], np.int32),
              "attention_mask": np.ones((2, 5), np.int32),
              "token_type_ids": np.array([[0, 0, 0, 1, 1]] * 2, np.int32)}
    targets = {"label": tf.constant([1.5, 4.0])}
    out = bundle.model(inputs)
    assert out["logits"].shape == (2, 1)
    loss = LabelObjective(regression=True)(out, None, inputs, targets,
                                           global_counts(inputs, targets)).losses["loss"]
    expected = np.mean((out["logits"].numpy()[:, 0] - np.array([1.5, 4.0])) ** 2)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_stage_2_0_learns_a_separable_task(glue_teacher, glue_root):
    metrics, path = glue_teacher
    # Chance is 0.5 on the balanced dev split; the cue word decides every label.
    assert metrics["dev"]["acc"] >= 0.9
    assert set(metrics["dev"]) == {"examples", "acc", "f1", "acc_and_f1"}
    assert metrics["dev_history"][0]["acc"] < metrics["dev"]["acc"]
    # The best checkpoint is the one kept: the final figures are those of the best step.
    best = max(metrics["dev_history"], key=lambda point: point["acc"])
    assert metrics["dev"]["acc"] == best["acc"]
    bundle = load_model_dir(path)
    assert bundle.labels == TaskLabels.of("mrpc")
    # Scoring the saved directory again gives the stage's own dev figures.
    again = evaluate_glue(bundle, os.path.join(glue_root, "MRPC"), glue_task("mrpc"))
    assert again == pytest.approx(metrics["dev"])


def test_stsb_stage_2_0_runs_as_regression(glue_root, tiny_bert_dir, tmp_path):
    metrics = run_stage(glue_settings(glue_root, "sts-b", str(tmp_path / "out"), tiny_bert_dir,
                                      num_train_epochs=2))
    assert set(metrics["dev"]) == {"examples", "pearson", "spearmanr", "corr"}
    assert np.isfinite(metrics["loss_history"]).all()


def test_a_joint_model_is_refused_for_a_glue_task(glue_root, tiny_model_dir, tmp_path):
    settings = glue_settings(glue_root, "mrpc", str(tmp_path / "out"), tiny_model_dir)
    with pytest.raises(InputError, match="made for joint intent"):
        run_stage(settings)


# Stages 2.1, 2.2 and BERT-EMD on a student cut from the GLUE teacher.

def _one_step(distiller, teacher_path, glue_root):
    """Runs one training step of `distiller` on the first MRPC batch; returns the weights
    of student and teacher before and after."""
    from nlu_tf.data.dataset import train_dataset
    from nlu_tf.training.optimizer import make_optimizer

    task = glue_task("mrpc")
    bundle = load_model_dir(teacher_path)
    features = encode_glue(read_glue_split(glue_root, task, "train"), bundle.tokenizer, task, 32)
    optimizer = OptimizerSettings(learning_rate=1e-2, warmup_proportion=0.0)
    distiller.compile(optimizer=make_optimizer(optimizer, 10, distiller.train_variables))
    batch = next(iter(train_dataset(features, 8, seed=0)))
    snapshot = lambda model: [w.numpy().copy() for w in model.weights]  # noqa: E731
    before = snapshot(distiller.student), snapshot(distiller.teacher)
    logs = distiller.train_step(batch)
    return before, (snapshot(distiller.student), snapshot(distiller.teacher)), logs


@pytest.mark.parametrize("mapping", ["uniform", "emd"])
def test_a_layer_step_changes_only_the_student(glue_teacher, glue_root, mapping):
    from nlu_tf.distill.distiller import Distiller
    from nlu_tf.surgery.student import cut_from_teacher
    from nlu_tf.training.objective_factory import make_objective
    from nlu_tf.training.settings import DistillSettings, StudentSettings

    _, path = glue_teacher
    teacher = load_model_dir(path)
    student = cut_from_teacher(teacher, 1)
    settings = glue_settings(glue_root, "mrpc", "unused", path, stage="2.1",
                             student=StudentSettings(num_layers=1),
                             distill=DistillSettings(layer_mapping=mapping,
                                                     one_step=mapping == "emd"))
    objective = make_objective(settings, student, teacher).objective
    (s0, t0), (s1, t1), logs = _one_step(Distiller(student.model, objective, teacher.model),
                                         path, glue_root)
    assert any(not np.array_equal(a, b) for a, b in zip(s0, s1))
    for a, b in zip(t0, t1):
        np.testing.assert_array_equal(a, b)
    assert float(logs["hidden_loss"]) > 0 and float(logs["att_loss"]) > 0
    # BERT-EMD's one-step objective adds L_pred: soft cross-entropy on the teacher's logits.
    assert ("soft_loss" in logs) == (mapping == "emd")


def test_stage_2_2_with_and_without_the_teacher_cache(glue_teacher, glue_root, tmp_path):
    """Prediction distillation reads the teacher's `logits`; its cached copy trains the
    student exactly as the live teacher does."""
    from nlu_tf.training.settings import DistillSettings, StudentSettings

    _, path = glue_teacher

    def trained(name, cache):
        settings = glue_settings(glue_root, "mrpc", str(tmp_path / name), path, stage="2.2",
                                 num_train_epochs=2, teacher_cache=cache,
                                 student=StudentSettings(num_layers=1),
                                 distill=DistillSettings(temperature=2.0))
        metrics = run_stage(settings)
        return metrics, [w.numpy() for w in load_model_dir(settings.output_dir).model.weights]

    (live, live_weights), (cached, cached_weights) = trained("live", False), trained("cached",
                                                                                     True)
    assert os.path.isfile(tmp_path / "cached" / "metrics.json")
    assert set(live["dev"]) == {"examples", "acc", "f1", "acc_and_f1"}
    assert cached["loss_history"] == pytest.approx(live["loss_history"], rel=1e-5)
    for a, b in zip(live_weights, cached_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_teacher_outputs_of_a_sequence_model(glue_teacher):
    from nlu_tf.distill.teacher_outputs import TeacherOutputs

    model = load_model_dir(glue_teacher[1]).model
    needs = TeacherOutputs(hidden_states=(0,), logits=True)
    assert needs.keys == ("hidden_states_0", "logits")
    assert needs.shapes(model) == {"hidden_states_0": (-1, 32), "logits": (2,)}
