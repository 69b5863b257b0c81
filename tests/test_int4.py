"""The int4 TFLite mode: 4-bit token rows unpacked in the graph, int4 matmul weights."""

import os

import numpy as np
import pytest

from nlu_tf.export.convert import tflite_folder
from nlu_tf.export.int4 import int4_table_model
from nlu_tf.export.metadata import read_model_info
from nlu_tf.models.int4_table import LEVELS, Int4RowTable, pack_int4_rows, unpack_int4_rows
from nlu_tf.models.joint_model import JointNLUModel, rebuilt_model


def test_packing_keeps_each_value_within_half_a_step():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 9)).astype(np.float32) * rng.uniform(0.01, 3, (50, 1))
    table[3] = 0.0
    packed, scales = pack_int4_rows(table)
    assert packed.dtype == np.uint8 and packed.shape == (50, 5)  # odd width: padded nibble
    restored = unpack_int4_rows(packed, scales, 9)
    assert restored.shape == table.shape
    assert np.all(np.abs(restored - table) <= scales[:, None] / 2 + 1e-6)
    assert np.array_equal(restored[3], np.zeros(9))
    # The largest value of each row is exact (it sets the scale).
    rows = np.arange(50)
    largest = np.abs(table).argmax(axis=1)
    np.testing.assert_allclose(restored[rows, largest], table[rows, largest], rtol=1e-6)
    np.testing.assert_allclose(scales, np.abs(table).max(axis=1) / LEVELS, rtol=1e-6)


def test_the_layer_reads_the_packed_rows_it_was_given():
    rng = np.random.default_rng(1)
    table = rng.normal(size=(40, 6)).astype(np.float32)
    packed, scales = pack_int4_rows(table)
    layer = Int4RowTable(40, 6)
    layer.build()
    layer.packed.assign(packed)
    layer.scales.assign(scales)
    ids = np.array([[0, 39, 7, 7, 12]], np.int32)
    np.testing.assert_array_equal(np.asarray(layer(ids)), unpack_int4_rows(packed, scales, 6)[ids])
    assert not layer.trainable_weights


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(3)
    config = dict(vocab_size=90, hidden_size=16, num_layers=1, num_heads=2,
                  intermediate_size=24, max_position_embeddings=12, embedding_rows=60)
    built = JointNLUModel(config, num_intents=3, num_slots=5)
    built.build()
    built.encoder.token_row_map.assign(np.arange(90) % 60)
    return built


def test_the_int4_table_model_is_the_model_with_its_table_rounded(model):
    table = model.encoder.token_embedding.embeddings.numpy()
    rounded = rebuilt_model(model, model.encoder_config, {
        "encoder/token_embedding/embeddings": unpack_int4_rows(*pack_int4_rows(table), 16)})
    int4 = int4_table_model(model)
    assert int4.encoder.embedding_bits == 4
    np.testing.assert_array_equal(int4.encoder.token_row_map.numpy(),
                                  model.encoder.token_row_map.numpy())
    ids = np.array([[1, 89, 61, 5, 2], [1, 30, 0, 0, 0]], np.int32)
    inputs = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int32),
              "token_type_ids": np.zeros_like(ids)}
    for name in ("intent_logits", "slot_logits"):
        np.testing.assert_allclose(np.asarray(int4(inputs)[name]),
                                   np.asarray(rounded(inputs)[name]), atol=1e-5)
    # Rounding moved the logits (the test would not tell the two tables apart otherwise).
    assert np.abs(np.asarray(int4(inputs)["slot_logits"])
                  - np.asarray(model(inputs)["slot_logits"])).max() > 1e-4


def test_the_int4_model_stores_four_bit_weights(convert_dir):
    from tensorflow.lite.python import schema_py_generated as schema

    folder = os.path.join(convert_dir, tflite_folder("int4"))
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        content = f.read()
    flat = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    graph = flat.subgraphs[0]
    codes = {value: name for name, value in vars(schema.BuiltinOperator).items()}
    kinds = {value: name for name, value in vars(schema.TensorType).items()}
    weights = set()
    for op in graph.operators:
        code = flat.operatorCodes[op.opcodeIndex]
        if codes[max(code.builtinCode, code.deprecatedBuiltinCode)] == "FULLY_CONNECTED":
            weights.add(kinds[graph.tensors[op.inputs[1]].type])
    assert weights == {"INT4"}
    info = read_model_info(folder)
    tables = sorted(list(t.shape) for t in graph.tensors if kinds[t.type] == "UINT8"
                    and flat.buffers[t.buffer].data is not None)  # constants
    rows, width = info["weights"]["token_embedding"].split(",")[0].split(" x ")
    assert tables == [[int(rows), int(width) // 2]]
    assert 0 < info["weights"]["token_embedding_relative_rmse"] < 0.2
