"""The objective protocol: declared teacher use, head training and state updates."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlu_tf.distill.distiller import Distiller
from nlu_tf.distill.emd_objective import EmdObjective
from nlu_tf.distill.objective_base import Objective, ObjectiveOutput
from nlu_tf.distill.objectives import IntermediateObjective
from nlu_tf.errors import InputError
from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.surgery.student import cut_from_teacher
from nlu_tf.training.objective_callbacks import EmdWeightLogger
from nlu_tf.pretraining.settings import GeneralDistillSettings
from nlu_tf.training.objective_factory import make_mapping_objective, make_objective
from nlu_tf.training.settings import DistillSettings


class _CountingObjective(Objective):
    """Supervised-free toy objective whose state update counts the real tokens it saw."""

    loss_names = ("loss", "square")

    def build(self, input_shape=None):
        self.tokens = self.add_weight(name="tokens", shape=(), initializer="zeros",
                                      trainable=False)
        self.built = True

    def call(self, student, teacher, inputs, targets, counts):
        loss = tf.reduce_sum(tf.square(student["intent_logits"])) / counts["examples"]
        return ObjectiveOutput({"loss": loss, "square": loss}, {"tokens": counts["tokens"]})

    def after_step(self, state):
        self.tokens.assign_add(state["tokens"])
        return [tf.identity(self.tokens.value)]


def _batch():
    ids = np.array([[101, 7, 8, 102, 0], [101, 9, 102, 0, 0]], np.int32)
    inputs = {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int32),
              "token_type_ids": np.zeros_like(ids)}
    targets = {"intent": np.array([1, 2], np.int32),
               "slots": np.where(ids > 0, 0, -100).astype(np.int32)}
    return inputs, targets


def test_state_reaches_after_step_explicitly_and_only_in_training(tiny_model_dir):
    student = load_model_dir(tiny_model_dir)
    objective = _CountingObjective(name="objective")
    objective.build()
    distiller = Distiller(student.model, objective)
    distiller.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    batch = tf.data.Dataset.from_tensors(_batch())
    history = distiller.fit(batch, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "square"}
    assert float(objective.tokens.numpy()) == 7.0  # 4 + 3 real tokens
    distiller.evaluate(batch, verbose=0)
    assert float(objective.tokens.numpy()) == 7.0


def test_distiller_refuses_what_is_not_an_objective_or_lacks_its_teacher(tiny_model_dir):
    student = load_model_dir(tiny_model_dir)
    with pytest.raises(TypeError, match="must be an Objective"):
        Distiller(student.model, keras.layers.Dense(1))
    teacher_needed = _CountingObjective()
    teacher_needed.uses_teacher = True
    with pytest.raises(ValueError, match="needs a teacher"):
        Distiller(student.model, teacher_needed)


@pytest.mark.parametrize("stage, distill, heads, logger", [
    ("2.0", DistillSettings(), True, False),
    ("2.1", DistillSettings(), False, False),
    ("2.1", DistillSettings(layer_mapping="emd"), False, True),
    ("2.1", DistillSettings(layer_mapping="emd", one_step=True), True, True),
    ("2.2", DistillSettings(), True, False),
])
def test_make_objective_declares_head_training_and_callbacks(tmp_path, settings_factory,
                                                             tiny_model_dir, stage, distill,
                                                             heads, logger):
    teacher = load_model_dir(tiny_model_dir)
    student = cut_from_teacher(teacher, 1)
    settings = settings_factory(str(tmp_path / "out"), tiny_model_dir, stage=stage,
                                distill=distill)
    made = make_objective(settings, student, teacher if stage != "2.0" else None)
    assert isinstance(made.objective, Objective)
    assert made.trains_heads is heads
    assert made.objective.uses_teacher is (stage != "2.0")
    assert [type(c) for c in made.callbacks] == ([EmdWeightLogger] if logger else [])


def test_stage_2_2_with_emd_mapping_is_refused(tmp_path, settings_factory, tiny_model_dir):
    with pytest.raises(ValueError, match="stage 2.2 distils the predictions only"):
        settings_factory(str(tmp_path / "out"), tiny_model_dir, stage="2.2",
                         distill=DistillSettings(layer_mapping="emd"))


def _shape(layers, width, heads=4):
    return types.SimpleNamespace(num_layers=layers, hidden_size=width, num_heads=heads)


@pytest.mark.parametrize("mapping", [
    dict(),
    dict(layer_mapping="emd", emd_weight_update="sum", T_emd=2.0, separate=True,
         emd_weight_floor=0.1),
])
def test_general_and_task_distillation_share_one_mapping_objective(mapping):
    made = [make_mapping_objective(settings, _shape(2, 8), _shape(4, 16), "student")
            for settings in (GeneralDistillSettings(**mapping), DistillSettings(**mapping))]
    kind = EmdObjective if mapping else IntermediateObjective
    for one in made:
        assert type(one.objective) is kind and one.objective.name == "objective"
        assert [type(c) for c in one.callbacks] == ([EmdWeightLogger] if mapping else [])
    general, task = (one.objective for one in made)
    assert [(v.path, tuple(v.shape)) for v in general.weights] == [
        (v.path, tuple(v.shape)) for v in task.weights]
    if mapping:
        for attribute in ("weight_update", "temperature", "separate", "weight_floor", "beta",
                          "theta", "prediction"):
            assert getattr(general, attribute) == getattr(task, attribute), attribute


def test_mapping_objective_refuses_another_head_count_against_its_source():
    with pytest.raises(InputError, match="as many heads as the teacher \\(2 vs 4\\)") as error:
        make_mapping_objective(DistillSettings(), _shape(2, 8, heads=2), _shape(4, 16),
                               "student/config.json")
    assert "student/config.json" in str(error.value)
