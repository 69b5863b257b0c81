"""Quantization-aware training for 4-bit weights (`weight_bits: 4`).

The forward pass reads every matmul weight rounded as the `int4` TFLite mode stores it
(`nlu_tf.export.int4`: symmetric, a scale per block of 32 inputs, `max |w| / 7`) and every
token row rounded as `Int4RowTable` stores it (a scale per row); the gradient passes
through the rounding unchanged (straight-through estimator), so the float weights keep
learning and settle where their rounded copies serve the loss. The weights file stays
float; a model trained this way converts to `int4` with the same grid it trained on.
"""

import keras
from keras import ops

BLOCK = 32    # inputs per scale, as the int4 mode's matmuls (`nlu_tf.export.int4`)
LEVELS = 7    # symmetric 4-bit: -7..7 times the scale


def int4_block(hidden_size, intermediate_size, embedding_size=None):
    """The inputs per scale of a model's int4 matmuls: `BLOCK` when every matmul's input
    width (hidden, intermediate, a factorised table's width) is a multiple of it, else 0:
    a scale per output channel over all its inputs (the quantizer needs whole blocks;
    `nlu_tf.export.int4.matmul_block` reads the same rule off a converted graph)."""
    widths = (hidden_size, intermediate_size, embedding_size or BLOCK)
    return BLOCK if all(width % BLOCK == 0 for width in widths) else 0


def _rounded(values, scale):
    safe = ops.where(scale > 0, scale, ops.ones_like(scale))
    return ops.clip(ops.round(values / safe), -LEVELS, LEVELS) * safe


def fake_quant_kernel(kernel, block=BLOCK):
    """`kernel` (inputs, outputs) rounded to 4 bits with a scale per `block` inputs of each
    output (per output over all inputs when `block` is 0 or does not divide the inputs),
    with a straight-through gradient."""
    inputs, outputs = kernel.shape
    size = block if block and inputs % block == 0 else inputs
    blocks = ops.reshape(kernel, (inputs // size, size, outputs))
    scale = ops.max(ops.abs(blocks), axis=1, keepdims=True) / LEVELS
    rounded = ops.reshape(_rounded(blocks, scale), (inputs, outputs))
    return kernel + ops.stop_gradient(rounded - kernel)


def fake_quant_rows(rows):
    """Rows (..., width) rounded to 4 bits with a scale per row, straight-through gradient."""
    scale = ops.max(ops.abs(rows), axis=-1, keepdims=True) / LEVELS
    return rows + ops.stop_gradient(_rounded(rows, scale) - rows)


@keras.saving.register_keras_serializable(package="nlu_tf")
class FakeQuantDense(keras.layers.Dense):
    """A `Dense` layer whose forward pass reads its kernel through `fake_quant_kernel`.

    Its weights (`kernel`, `bias`) are those of a `Dense` of the same name, so checkpoints
    load either way. `block`: inputs per scale (`int4_block`; 0: per output channel).
    """

    def __init__(self, units, block=BLOCK, **kwargs):
        super().__init__(units, **kwargs)
        self.block = int(block)

    def call(self, inputs, training=None):
        kernel = fake_quant_kernel(self.kernel, self.block)
        outputs = ops.matmul(inputs, ops.cast(kernel, self.compute_dtype))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def dense_class(weight_bits, block=BLOCK):
    """A constructor of dense layers: `FakeQuantDense` with `block` for 4-bit weights,
    `keras.layers.Dense` otherwise."""
    if weight_bits not in (None, 0, 4):
        raise ValueError(f"weight_bits must be 0 (float) or 4, got {weight_bits!r}")
    if not weight_bits:
        return keras.layers.Dense
    return lambda units, **kwargs: FakeQuantDense(units, block=block, **kwargs)
