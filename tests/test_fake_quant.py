"""Quantization-aware training for the int4 mode: rounded forward pass, straight-through
gradient, float weights that load either way, and an int4 file that matches its model."""

import numpy as np
import pytest
import tensorflow as tf

from nlu_tf.export.tflite import convert_model
from nlu_tf.models.fake_quant import LEVELS, fake_quant_kernel, fake_quant_rows
from nlu_tf.models.joint_model import JointNLUModel, rebuilt_model
from nlu_tf.training.settings import RunSettings, StudentSettings

CONFIG = dict(vocab_size=90, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=96,
              max_position_embeddings=16)


def _rounded_blocks(kernel, block):
    out = np.empty_like(kernel)
    for start in range(0, kernel.shape[0], block):
        part = kernel[start:start + block]
        scale = np.abs(part).max(axis=0) / LEVELS
        out[start:start + block] = np.clip(np.round(part / scale), -LEVELS, LEVELS) * scale
    return out


def test_kernels_are_rounded_per_block_of_32_inputs_with_a_straight_through_gradient():
    kernel = tf.Variable(np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32))
    weights = tf.constant(np.random.default_rng(1).normal(size=(64, 5)).astype(np.float32))
    with tf.GradientTape() as tape:
        rounded = fake_quant_kernel(kernel)
        loss = tf.reduce_sum(rounded * weights)
    np.testing.assert_allclose(np.asarray(rounded), _rounded_blocks(kernel.numpy(), 32),
                               rtol=1e-6)
    np.testing.assert_array_equal(tape.gradient(loss, kernel).numpy(), weights.numpy())
    # 48 inputs are no multiple of 32: one scale per output over all inputs.
    odd = np.random.default_rng(2).normal(size=(48, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(fake_quant_kernel(odd)), _rounded_blocks(odd, 48),
                               rtol=1e-6)
    rows = np.random.default_rng(3).normal(size=(2, 4, 10)).astype(np.float32)
    expected = np.stack([_rounded_blocks(row.T, 10).T for row in rows])
    np.testing.assert_allclose(np.asarray(fake_quant_rows(rows)), expected, rtol=1e-6)


def _models(intermediate_size):
    import keras

    keras.utils.set_random_seed(5)
    config = {**CONFIG, "intermediate_size": intermediate_size}
    plain = JointNLUModel(config, num_intents=3, num_slots=6)
    plain.build()
    return plain, rebuilt_model(plain, {**config, "weight_bits": 4})


@pytest.fixture(scope="module")
def models():
    return _models(CONFIG["intermediate_size"])


def _inputs():
    ids = np.array([[1, 17, 33, 89, 5, 2]], np.int32)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids)}


def test_the_aware_model_is_the_float_model_with_its_weights_rounded(models):
    plain, aware = models
    assert [w.path.split("/", 1)[1] for w in aware.weights] == [
        w.path.split("/", 1)[1] for w in plain.weights]  # the same checkpoint either way
    values = {}
    for weight in plain.weights:
        path = weight.path.split("/", 1)[1]
        if path.endswith("/kernel"):
            values[path] = _rounded_blocks(weight.numpy(), 32 if weight.shape[0] % 32 == 0
                                           else weight.shape[0])
    table = plain.encoder.token_embedding.embeddings.numpy()
    values["encoder/token_embedding/embeddings"] = _rounded_blocks(table.T, table.shape[1]).T
    rounded = rebuilt_model(plain, CONFIG, values)
    for name in ("intent_logits", "slot_logits"):
        np.testing.assert_allclose(np.asarray(aware(_inputs())[name]),
                                   np.asarray(rounded(_inputs())[name]), atol=1e-4)
    assert np.abs(np.asarray(aware(_inputs())["slot_logits"])
                  - np.asarray(plain(_inputs())["slot_logits"])).max() > 1e-3


@pytest.mark.parametrize("intermediate_size, block", [(96, 32), (48, 0)])
def test_an_aware_model_converts_to_the_int4_grid_it_trained_on(intermediate_size, block):
    from ai_edge_litert.interpreter import Interpreter

    from nlu_tf.export.int4 import matmul_block
    from nlu_tf.models.fake_quant import int4_block

    plain, aware = _models(intermediate_size)
    # A width that is no multiple of 32 (48 here): a scale per output channel, in training
    # and in the file alike.
    assert int4_block(CONFIG["hidden_size"], intermediate_size) == block
    assert aware.encoder.weight_block == block
    assert aware.encoder.transformer_layers[0].output_dense.block == block
    diffs = []
    for model in (plain, aware):
        content = convert_model(model, "int4")[0]
        assert matmul_block(content) == block
        runner = Interpreter(model_content=content).get_signature_runner()
        tflite = runner(**_inputs())["slot_logits"]
        diffs.append(np.abs(tflite - np.asarray(model(_inputs())["slot_logits"])).max())
    plain_diff, aware_diff = diffs
    # Only the on-the-fly activation quantization is left between the aware model and its
    # int4 file; the plain model's also carries the rounding of every weight.
    assert aware_diff < plain_diff / 2, diffs


def test_weight_bits_is_checked():
    with pytest.raises(ValueError, match="weight_bits must be 0"):
        RunSettings(stage="2.2", student=StudentSettings(weight_bits=8))
    with pytest.raises(ValueError, match="not the teacher"):
        RunSettings(stage="2.0", student=StudentSettings(weight_bits=4))
    four = StudentSettings(weight_bits=4)
    assert RunSettings(stage="2.1", student=four).student.weight_bits == 4


def test_a_model_config_with_other_bits_is_refused():
    from nlu_tf.errors import InputError
    from nlu_tf.models.encoder_config import check_encoder_config

    assert check_encoder_config({"vocab_size": 10, "weight_bits": 4}, "c.json")["weight_bits"] == 4
    with pytest.raises(InputError, match="weight_bits must be one of None, 0, 4, got 3"):
        check_encoder_config({"vocab_size": 10, "weight_bits": 3}, "c.json")
    with pytest.raises(InputError, match="embedding_bits must be one of None, 4, got True"):
        check_encoder_config({"vocab_size": 10, "embedding_bits": True}, "c.json")
