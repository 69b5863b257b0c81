"""An embedding table stored as 4-bit integers, two to a byte, read one row at a time.

The `int4` TFLite mode (`nlu_tf.export.int4`) swaps a student's float token table for this
one (the position table stays float: at 4 bits it cost 0.9 points of Snips dev slot F1).
Each row keeps its own scale: a row of the table is `scale * (q - 8)`, q in 1..15
(symmetric, 7 levels a side), and the byte at column j holds column 2j in its low nibble
and column 2j + 1 in its high one. A lookup gathers the packed rows of the given ids first
and unpacks only those, so a converted graph keeps the table as a uint8 constant of half a
byte per value (a 16,400 x 384 table: 3.15 MB, against 6.30 MB in int8) and does a few
integer ops per token, all of them builtin TFLite ops (GATHER, CAST, FLOOR_DIV, FLOOR_MOD,
SUB, RESHAPE, MUL). Nothing trains this layer: its weights are not trainable.
"""

import keras
import numpy as np
from keras import ops

from nlu_tf.models.fake_quant import LEVELS  # the grid quantization-aware training reads
from nlu_tf.models.transformer_layer import batch_and_length

OFFSET = 8          # q = round(value / scale) + OFFSET, in 1..15
NIBBLE_DIVISORS = np.array([1, 16], np.int32)


def pack_int4_rows(table):
    """`(packed, scales)` of a (rows, width) float table: uint8 (rows, ceil(width / 2)) and
    float32 (rows,). A row of zeros gets scale 0 (and unpacks to zeros)."""
    table = np.asarray(table, np.float32)
    if table.ndim != 2:
        raise ValueError(f"a token table is 2-D, got shape {table.shape}")
    scales = (np.abs(table).max(axis=1) / LEVELS).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0)[:, None]
    q = (np.clip(np.rint(table / safe), -LEVELS, LEVELS) + OFFSET).astype(np.uint8)
    if q.shape[1] % 2:
        q = np.concatenate([q, np.full((len(q), 1), OFFSET, np.uint8)], axis=1)
    packed = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8)
    return packed, scales


def unpack_int4_rows(packed, scales, width):
    """The float32 (rows, width) table that `pack_int4_rows` stored (what the layer reads)."""
    packed = np.asarray(packed, np.uint8)
    q = np.empty((len(packed), 2 * packed.shape[1]), np.float32)
    q[:, 0::2] = packed & 15
    q[:, 1::2] = packed >> 4
    return ((q[:, :width] - OFFSET) * np.asarray(scales, np.float32)[:, None]).astype(np.float32)


@keras.saving.register_keras_serializable(package="nlu_tf")
class Int4RowTable(keras.layers.Layer):
    """An embedding lookup from a packed 4-bit table (`pack_int4_rows`).

    Called on int ids (B, L), returns float rows (B, L, width).

    Args:
        rows: int, rows of the table.
        width: int, values per row.

    Weights (not trainable): `packed` uint8 (rows, ceil(width / 2)), `scales` float32 (rows,).
    """

    def __init__(self, rows, width, **kwargs):
        super().__init__(**kwargs)
        self.rows = int(rows)
        self.width = int(width)

    def build(self, input_shape=None):
        self.packed = self.add_weight(shape=(self.rows, (self.width + 1) // 2), dtype="uint8",
                                      initializer="zeros", trainable=False, name="packed")
        self.scales = self.add_weight(shape=(self.rows,), dtype="float32", initializer="zeros",
                                      trainable=False, name="scales")
        self.built = True

    def call(self, ids):
        flat = ops.reshape(ids, (-1,))
        packed = ops.cast(ops.take(self.packed, flat, axis=0), "int32")
        # (N, W/2, 1) // [1, 16] % 16 -> (N, W/2, 2): the low nibble, then the high one;
        # no PACK or CONCATENATION in a converted graph.
        q = ops.mod(ops.floor_divide(packed[:, :, None], NIBBLE_DIVISORS), 16)
        q = ops.reshape(q, (-1, 2 * ((self.width + 1) // 2)))
        if self.width % 2:
            q = q[:, :self.width]
        q = q - OFFSET
        values = ops.cast(q, "float32") * ops.take(self.scales, flat, axis=0)[:, None]
        values = ops.reshape(values, batch_and_length(ids) + (self.width,))
        return ops.cast(values, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "width": self.width}
