"""Stages 2.1, 2.2 and BERT-EMD on tiny random models."""

import os

import h5py
import numpy as np
import pytest

from nlu_tf.model_io.model_dir import WEIGHTS, load_model_dir
from nlu_tf.training.stage import run_stage
from nlu_tf.training.settings import DistillSettings, StudentSettings
from tests.tiny import write_tiny_bert


def _weights(path):
    return [w.numpy().copy() for w in load_model_dir(path).model.weights]


def _h5_names(path):
    names = []
    with h5py.File(os.path.join(path, WEIGHTS), "r") as f:
        f.visit(names.append)
    return names


@pytest.fixture(scope="module")
def narrow_tinybert(tmp_path_factory):
    """A general 'TinyBERT' checkpoint narrower than the teacher (width 16 vs 32)."""
    return write_tiny_bert(str(tmp_path_factory.mktemp("tinybert")), seed=3, hidden_size=16,
                           num_hidden_layers=1, num_attention_heads=4, intermediate_size=32)


def test_stage_2_1_with_projection_then_2_2(tmp_path, settings_factory, tiny_model_dir,
                                            narrow_tinybert):
    teacher_before = _weights(tiny_model_dir)
    s21 = settings_factory(str(tmp_path / "s21"), tiny_model_dir, stage="2.1",
                           tinybert=narrow_tinybert, num_train_epochs=3)
    m21 = run_stage(s21)
    assert m21["loss_history"][-1] < m21["loss_history"][0]
    names = _h5_names(s21.output_dir)
    assert not any("projection" in n or "fit_dense" in n for n in names)
    student = load_model_dir(s21.output_dir).model
    assert student.encoder.hidden_size == 16 and student.encoder.num_layers == 1
    s22 = settings_factory(str(tmp_path / "s22"), tiny_model_dir, stage="2.2",
                           student_model=s21.output_dir, num_train_epochs=3)
    m22 = run_stage(s22)
    assert m22["loss_history"][-1] < m22["loss_history"][0]
    for before, after in zip(teacher_before, _weights(tiny_model_dir)):
        np.testing.assert_array_equal(before, after)


def test_emd_loss_falls_and_layer_weights_move(tmp_path, settings_factory, tiny_model_dir):
    distill = DistillSettings(layer_mapping="emd", T_emd=0.5)
    settings = settings_factory(str(tmp_path / "emd"), tiny_model_dir, stage="2.1",
                                distill=distill, student=StudentSettings(num_layers=1),
                                num_train_epochs=3)
    metrics = run_stage(settings)
    assert metrics["loss_history"][-1] < metrics["loss_history"][0]
    weights = metrics["emd_layer_weights"]
    assert np.isclose(sum(weights["teacher_hid"]), 1.0, atol=1e-5)
    assert weights["teacher_hid"] != [0.5, 0.5]
    assert weights["teacher_hid"] == weights["teacher_att"]  # averaged unless --separate
    history = metrics["emd_weight_history"]
    assert [row["step"] for row in history] == sorted(row["step"] for row in history)
    assert history[-1]["teacher_hid"] == weights["teacher_hid"]


def test_emd_layer_weights_round_trip_through_checkpoints(tmp_path, tiny_model_dir):
    from nlu_tf.distill.distiller import Distiller
    from nlu_tf.distill.emd_objective import EmdObjective
    from nlu_tf.surgery.student import cut_from_teacher

    def build():
        teacher = load_model_dir(tiny_model_dir)
        student = cut_from_teacher(teacher, 1)
        objective = EmdObjective(1, 2, 32, 32, name="objective")
        objective.build()
        return Distiller(student.model, objective, teacher.model), objective

    first, objective = build()
    objective.layer_weights.assign([1.0, 0.5, 0.5, 1.0, 0.25, 0.75])
    path = str(tmp_path / "ckpt.weights.h5")
    first.save_weights(path)
    second, restored = build()
    second.load_weights(path)
    weights = restored.weights_dict()
    assert weights["teacher_hid"] == [0.25, 0.75] and weights["student_att"] == [1.0]
