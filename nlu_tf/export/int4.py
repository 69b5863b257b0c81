"""The `int4` TFLite mode: 4-bit weights for the smallest on-device file.

Two parts, both weight-only (activations stay float32, as in `dynamic`):

- the token table becomes packed 4-bit rows with a scale per row (`Int4RowTable`),
  gathered and unpacked per token in the graph (the position table stays float32);
- every FULLY_CONNECTED weight becomes int4 with a scale per block of 32 inputs (per
  output channel in a model with a width that is no multiple of 32), and is run
  with activations quantized on the fly (LiteRT's dynamic-range int4 kernels; XNNPACK
  takes them on CPUs). The AI Edge Quantizer rewrites the float32 model's weights; it runs
  no model and reads no data.

Against `dynamic` (int8 weights) this halves the table and the matrices, at the cost of
16 levels per weight instead of 256: measure the accuracy of each model before shipping it.
"""

import numpy as np

from nlu_tf.models.fake_quant import BLOCK
from nlu_tf.models.int4_table import pack_int4_rows

# The AI Edge Quantizer's recipe: dynamic-range int4 weights on the matmuls, a scale per 32
# weights (chosen on Snips dev, 2026-11-28: slot F1 95.46 against 94.71 with a scale per
# output channel, 95.04 with OCTAV clipping per channel, 95.21 with OCTAV per 64 or 128
# weights; the dynamic-range int8 model 95.31; docs/results.md).
WEIGHT_BITS = 4
GRANULARITY = {BLOCK: "BLOCKWISE_32", 0: "CHANNELWISE"}  # by `matmul_block`
TABLES = ("token_embedding",)  # the position table at 4 bits cost 0.9 dev slot F1


def int4_table_model(model):
    """A copy of the joint `model` whose token table is an `Int4RowTable` (4-bit rows);
    every other weight is copied unchanged. A shared token table (`embedding_rows`) keeps
    its row map."""
    from nlu_tf.models.joint_model import rebuilt_model

    values = {}
    for name in TABLES:
        table = getattr(model.encoder, name).embeddings.numpy()
        values[f"encoder/{name}/packed"], values[f"encoder/{name}/scales"] = pack_int4_rows(table)
    return rebuilt_model(model, {**model.encoder_config, "embedding_bits": 4}, values)


def matmul_block(content):
    """`BLOCK` when every FULLY_CONNECTED weight of the `.tflite` `content` has a multiple of
    it as its input width, else 0 (as `fake_quant.int4_block` decides from the widths)."""
    from tensorflow.lite.python import schema_py_generated as schema

    flat = schema.Model.GetRootAsModel(content, 0)
    graph = flat.Subgraphs(0)
    fully_connected = schema.BuiltinOperator.FULLY_CONNECTED
    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        code = flat.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) != fully_connected:
            continue
        weights = graph.Tensors(op.Inputs(1))
        if weights.ShapeLength() and weights.Shape(weights.ShapeLength() - 1) % BLOCK:
            return 0
    return BLOCK


def quantize_matmul_weights(content):
    """`content` (a float32 `.tflite`) with its FULLY_CONNECTED weights in int4
    (dynamic-range kernels), a float16 scale per 32 inputs, or a scale per output channel
    in a model with an input width that is no multiple of 32 (`matmul_block`); other ops
    and constants unchanged."""
    from ai_edge_quantizer import qtyping, quantizer, recipe_manager

    block = matmul_block(content)
    recipe = recipe_manager.RecipeManager()
    recipe.add_dynamic_config(regex=".*", operation_name=qtyping.TFLOperationName.FULLY_CONNECTED,
                              num_bits=WEIGHT_BITS,
                              granularity=getattr(qtyping.QuantGranularity, GRANULARITY[block]))
    engine = quantizer.Quantizer(bytes(content))
    engine.load_quantization_recipe(recipe.get_quantization_recipe())
    result = engine.quantize(enable_progress_bar=False, enable_progress_report=False)
    return bytes(result.quantized_model)


def int4_weights_info(model, content):
    """The `weights` entry of the int4 `model_info.json` of `model` converted to `content`:
    what became 4-bit, and how far the token table moved (RMS error over the rows' RMS)."""
    from nlu_tf.models.int4_table import unpack_int4_rows

    info = {}
    for name in TABLES:
        table = getattr(model.encoder, name).embeddings.numpy()
        restored = unpack_int4_rows(*pack_int4_rows(table), table.shape[1])
        error = np.sqrt(np.mean((restored - table) ** 2) / max(float(np.mean(table ** 2)), 1e-30))
        info[name] = f"{table.shape[0]} x {table.shape[1]}, 4-bit rows, a scale per row"
        info[f"{name}_relative_rmse"] = round(float(error), 5)
    block = matmul_block(content)
    scales = f"a float16 scale per {block} weights" if block else "a scale per output channel"
    info["fully_connected"] = (f"int{WEIGHT_BITS}, {scales}, activations quantized on the "
                               f"fly (AI Edge Quantizer, dynamic recipe)")
    return info
