"""Mixed precision on the tiny model: training in bfloat16 learns, loss scaling for float16
unscales before clipping, saved and exported models are float32, and the XLA default per
precision."""

import json
import os

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from nlu_cli.settings_flags import define_train_flags, settings_from_flags
from nlu_tf.data.reader import LabelMaps
from nlu_tf.distill.distiller import Distiller
from nlu_tf.distill.objectives import SupervisedObjective
from nlu_tf.errors import InputError
from nlu_tf.model_io.model_dir import from_pretrained, load_model_dir
from nlu_tf.model_io.model_files import WEIGHTS
from nlu_tf.pipeline.recipe import load_recipe, stage_settings
from nlu_tf.precision import check_jit_compile, jit_compile_for, loss_scaled
from nlu_tf.training.optimizer import with_loss_scale
from nlu_tf.training.stage import run_stage
from tests.tiny import REPO

TINY = os.path.join(REPO, "configs", "tiny.yaml")


@pytest.mark.parametrize("choice, precision, expected", [
    ("auto", "float32", True), ("auto", "mixed_bfloat16", False),
    ("auto", "mixed_float16", False), (None, "float32", True),
    (True, "mixed_bfloat16", True), (False, "float32", False)])
def test_jit_compile_auto_is_xla_for_float32_only_and_explicit_choices_win(choice, precision,
                                                                          expected):
    assert jit_compile_for(choice, precision) is expected


@pytest.mark.parametrize("call, message", [
    (lambda: jit_compile_for("auto", "bfloat16"), "mixed_precision must be one of"),
    (lambda: check_jit_compile("yes"), "jit_compile must be true, false or auto"),
    (lambda: check_jit_compile(1), "jit_compile must be true, false or auto")])
def test_bad_precision_and_jit_values_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_loss_scaling_wraps_the_optimizer_for_float16_only():
    assert loss_scaled("mixed_float16") and not loss_scaled("mixed_bfloat16")
    sgd = keras.optimizers.SGD(0.1)
    assert with_loss_scale(sgd, "mixed_bfloat16") is sgd
    assert isinstance(with_loss_scale(sgd, "mixed_float16"),
                      keras.optimizers.LossScaleOptimizer)


@pytest.fixture(scope="module")
def bfloat16_run(tmp_path_factory, tiny_bert_dir, tiny_data_dir):
    """A stage 2.0 run of three epochs in mixed_bfloat16 (jit_compile left to auto)."""
    from tests.conftest import tiny_settings

    output = str(tmp_path_factory.mktemp("bf16") / "teacher")
    settings = tiny_settings(tiny_data_dir, output, tiny_bert_dir, num_train_epochs=3,
                             mixed_precision="mixed_bfloat16", jit_compile="auto")
    return output, run_stage(settings)


def test_bfloat16_training_makes_the_loss_fall_without_xla(bfloat16_run):
    _, metrics = bfloat16_run
    history = metrics["loss_history"]
    assert np.all(np.isfinite(history))
    assert history[-1] < history[0] * 0.8, history
    assert metrics["mixed_precision"] == "mixed_bfloat16" and metrics["jit_compile"] is False


def test_bfloat16_run_saves_float32_weights_and_no_policy(bfloat16_run):
    output, _ = bfloat16_run
    with h5py.File(os.path.join(output, WEIGHTS), "r") as f:
        dtypes = set()
        f.visititems(lambda name, item: dtypes.add(item.dtype.name)
                     if isinstance(item, h5py.Dataset) else None)
    assert dtypes == {"float32"}
    with open(os.path.join(output, "config.json"), encoding="utf-8") as f:
        assert "dtype" not in json.load(f)["model"]
    with open(os.path.join(output, "settings.json"), encoding="utf-8") as f:
        assert json.load(f)["mixed_precision"] == "mixed_bfloat16"
    model = load_model_dir(output).model
    assert model.dtype_policy.name == "float32"
    assert model.encoder.transformer_layers[0].query.compute_dtype == "float32"


def _tflite_signature(path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.path.join(path, "model.tflite"))
    describe = lambda details: sorted((d["name"], np.dtype(d["dtype"]).name,  # noqa: E731
                                       tuple(d["shape_signature"])) for d in details)
    tensor_dtypes = {np.dtype(d["dtype"]).name for d in interpreter.get_tensor_details()}
    return (describe(interpreter.get_input_details()),
            describe(interpreter.get_output_details()), tensor_dtypes)


def test_bfloat16_model_exports_the_float32_tflite_signature(bfloat16_run, tiny_model_dir,
                                                             tiny_data_dir, tmp_path):
    from nlu_tf.export.convert import convert_model_dir

    signatures = []
    for name, model_dir in (("float32", tiny_model_dir), ("bf16", bfloat16_run[0])):
        convert_model_dir(model_dir, str(tmp_path / name), ("float32",), tiny_data_dir, "",
                          saved_model=False)
        signatures.append(_tflite_signature(str(tmp_path / name / "tflite_float32")))
    float32, bf16 = signatures
    assert bf16[:2] == float32[:2]
    assert {"float32", "int32"} <= bf16[2]
    assert not bf16[2] & {"bfloat16", "float16"}


CLIP, LEARNING_RATE = 50.0, 0.1


def test_float16_loss_scaling_unscales_before_clipping(tiny_bert_dir, tiny_data_dir):
    """One SGD step in mixed_float16 (loss scaled by 2**15) moves the weights as far as
    the same step in float32. The clipping norm lies between the gradient's norm and 2**15
    times it: clipping the scaled gradients would shorten the float16 step."""
    labels = LabelMaps.from_dir(tiny_data_dir)
    ids = np.array([[2, 40, 50, 60, 3, 0], [2, 70, 80, 3, 0, 0]], dtype=np.int32)
    inputs = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int32),
              "token_type_ids": np.zeros_like(ids)}
    targets = {"intent": np.array([1, 2], np.int32),
               "slots": np.where(ids != 0, 1, -100).astype(np.int32)}
    moved, reference = {}, None
    for precision in ("float32", "mixed_float16"):
        bundle = from_pretrained(tiny_bert_dir, labels, 16, head_dropout=0.0, dtype=precision,
                                 hidden_dropout=0.0, attention_dropout=0.0)
        if reference is None:
            reference = bundle.model.get_weights()
        bundle.model.set_weights(reference)
        trainer = Distiller(bundle.model, SupervisedObjective(), clip_norm=CLIP)
        optimizer = with_loss_scale(keras.optimizers.SGD(LEARNING_RATE), precision)
        trainer.compile(optimizer=optimizer, jit_compile=False)
        trainer.fit(tf.data.Dataset.from_tensors((inputs, targets)), epochs=1, verbose=0)
        moved[precision] = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in
                                       zip(bundle.model.get_weights(), reference)))
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    gradient_norm = moved["float32"] / LEARNING_RATE
    assert CLIP / 2**15 < gradient_norm < CLIP
    assert moved["mixed_float16"] == pytest.approx(moved["float32"], rel=0.05)


def _train_settings(*argv):
    values = flags.FlagValues()
    define_train_flags(values)
    values(["train.py", *argv])
    return settings_from_flags(values.flag_values_dict())


def test_train_flags_carry_the_precision_and_the_jit_choice():
    default = _train_settings()
    assert default.mixed_precision == "float32" and default.jit_compile == "auto"
    assert default.resolved_jit_compile is True
    bf16 = _train_settings("--mixed_precision=mixed_bfloat16")
    assert bf16.mixed_precision == "mixed_bfloat16" and bf16.resolved_jit_compile is False
    assert _train_settings("--mixed_precision=mixed_bfloat16",
                           "--jit_compile").resolved_jit_compile is True
    assert _train_settings("--nojit_compile").resolved_jit_compile is False


def test_bad_mixed_precision_flag_is_refused_naming_the_choices():
    with pytest.raises(flags.IllegalFlagValueError,
                       match="float32|mixed_bfloat16|mixed_float16"):
        _train_settings("--mixed_precision=bfloat16")


def test_recipe_key_sets_the_precision_of_every_stage():
    settings = stage_settings(load_recipe(TINY, ["training.mixed_precision=mixed_bfloat16",
                                                 "training.jit_compile=auto"]), "bert")
    assert {(s.mixed_precision, s.resolved_jit_compile) for s in settings.values()} == {
        ("mixed_bfloat16", False)}
    default = stage_settings(load_recipe(TINY), "bert")
    assert {s.mixed_precision for s in default.values()} == {"float32"}


@pytest.mark.parametrize("override, message", [
    ("training.mixed_precision=bfloat16",
     "training.mixed_precision must be one of float32, mixed_bfloat16, mixed_float16"),
    ("training.jit_compile=sometimes",
     "training.jit_compile: jit_compile must be true, false or auto")])
def test_bad_recipe_precision_values_are_refused(override, message):
    with pytest.raises(InputError, match=message):
        load_recipe(TINY, [override])


def test_general_distillation_settings_take_the_precision():
    from nlu_tf.pretraining.settings import GeneralDistillSettings

    assert GeneralDistillSettings(mixed_precision="mixed_bfloat16").resolved_jit_compile is False
    assert GeneralDistillSettings().resolved_jit_compile is True
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        GeneralDistillSettings(mixed_precision="half")


def test_checkpoint_of_a_run_from_before_mixed_precision_still_resumes(tmp_path):
    # A checkpoint's settings written before `mixed_precision` existed (jit_compile true,
    # no precision) are those of a float32 "auto" run now: `TrainingCheckpoint.restore`
    # compares them through `comparable_settings`, as the pipeline's stage checks do.
    from nlu_tf.training.settings import RunSettings, comparable_settings

    now = RunSettings(output_dir=str(tmp_path / "out")).to_dict()
    old = {k: v for k, v in now.items() if k != "mixed_precision"}
    old["jit_compile"] = True
    assert comparable_settings(old) == comparable_settings(now)
    assert comparable_settings({**old, "jit_compile": False}) != comparable_settings(now)
    bf16 = {**now, "mixed_precision": "mixed_bfloat16"}
    assert comparable_settings(bf16) != comparable_settings(now)
