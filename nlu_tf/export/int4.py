"""The `int4` TFLite mode: 4-bit weights for the smallest on-device file.

Two parts, both weight-only (activations stay float32, as in `dynamic`):

- the token table becomes packed 4-bit rows with a scale per row (`Int4RowTable`), gathered
  and unpacked per token in the graph;
- every FULLY_CONNECTED weight becomes int4 with a scale per output channel, and is run
  with activations quantized on the fly (LiteRT's dynamic-range int4 kernels; XNNPACK
  takes them on CPUs). The AI Edge Quantizer rewrites the float32 model's weights; it runs
  no model and reads no data.

Against `dynamic` (int8 weights) this halves the table and the matrices, at the cost of
16 levels per weight instead of 256: measure the accuracy of each model before shipping it.
"""

import contextlib
import io

import numpy as np

from nlu_tf.models.int4_table import pack_int4_rows

# The AI Edge Quantizer's recipe: dynamic-range, int4 channelwise weights, on the matmuls.
WEIGHT_BITS = 4


def int4_table_model(model):
    """A copy of the joint `model` whose token table is `Int4RowTable` (4-bit rows); every
    other weight is copied unchanged. A shared table (`embedding_rows`) keeps its row map."""
    from nlu_tf.models.joint_model import rebuilt_model

    table = model.encoder.token_embedding.embeddings.numpy()
    packed, scales = pack_int4_rows(table)
    config = {**model.encoder_config, "embedding_bits": 4}
    return rebuilt_model(model, config, {"encoder/token_embedding/packed": packed,
                                         "encoder/token_embedding/scales": scales})


def quantize_matmul_weights(content):
    """`content` (a float32 `.tflite`) with its FULLY_CONNECTED weights in int4, one scale
    per output channel (dynamic-range kernels); other ops and constants unchanged."""
    from ai_edge_quantizer import qtyping, quantizer, recipe_manager

    recipe = recipe_manager.RecipeManager()
    recipe.add_dynamic_config(regex=".*", operation_name=qtyping.TFLOperationName.FULLY_CONNECTED,
                              num_bits=WEIGHT_BITS)
    engine = quantizer.Quantizer(bytes(content))
    engine.load_quantization_recipe(recipe.get_quantization_recipe())
    with contextlib.redirect_stdout(io.StringIO()):  # its size summary, not ours to print
        return bytes(engine.quantize().quantized_model)


def int4_weights_info(model):
    """The `weights` entry of an int4 `model_info.json`: what became 4-bit, and how far the
    token table moved (RMS error over the rows' RMS)."""
    from nlu_tf.models.int4_table import unpack_int4_rows

    table = model.encoder.token_embedding.embeddings.numpy()
    restored = unpack_int4_rows(*pack_int4_rows(table), table.shape[1])
    error = np.sqrt(np.mean((restored - table) ** 2) / max(float(np.mean(table ** 2)), 1e-30))
    return {"token_table": f"{table.shape[0]} x {table.shape[1]}, 4-bit rows, a scale per row",
            "token_table_relative_rmse": round(float(error), 5),
            "fully_connected": f"int{WEIGHT_BITS}, a scale per output channel, activations "
                               f"quantized on the fly (AI Edge Quantizer, dynamic recipe)"}
