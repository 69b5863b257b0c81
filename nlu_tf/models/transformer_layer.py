"""One post-layer-norm BERT transformer block that also returns its pre-softmax scores."""

import math

import keras
from keras import ops

from nlu_tf.models.activations import get_activation
from nlu_tf.models.dropout import Dropout
from nlu_tf.models.fake_quant import BLOCK, dense_class

MASK_PENALTY = -10000.0


@keras.saving.register_keras_serializable(package="nlu_tf")
def batch_and_length(x):
    """The batch and length of `x` (B, L, ...) as reshape targets: the length is -1 when the
    batch is static (then the target shape is a constant in a converted graph), the dynamic
    length otherwise (a -1 would be ambiguous for an empty batch)."""
    batch, length = ops.shape(x)[0], ops.shape(x)[1]
    return batch, (-1 if isinstance(batch, int) else length)


class TransformerLayer(keras.layers.Layer):
    """A BERT encoder block: self-attention, add & norm, feed-forward, add & norm.

    Mirrors Hugging Face `BertLayer` numerics. Besides the block's output it returns the
    attention scores before the softmax and before the padding mask is added, which
    TinyBERT and BERT-EMD distil.

    Args:
        hidden_size: int, width of the block's input and output.
        num_heads: int, attention heads; must divide `hidden_size`.
        intermediate_size: int, width of the feed-forward layer.
        hidden_dropout: float, dropout after the attention output and the feed-forward output.
        attention_dropout: float, dropout on the attention probabilities.
        layer_norm_eps: float, epsilon of both layer norms.
        activation: str, feed-forward activation ("gelu" is the exact erf form).
        weight_bits: None, or 4: the six dense layers read their kernels rounded to 4 bits
            (`nlu_tf.models.fake_quant`, quantization-aware training), a scale per
            `weight_block` inputs (0: per output channel).

    Example:
    >>> layer = TransformerLayer(hidden_size=32, num_heads=4, intermediate_size=64)
    >>> out, scores = layer(keras.random.normal((2, 5, 32)), keras.ops.ones((2, 5)))
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, hidden_dropout=0.1,
                 attention_dropout=0.1, layer_norm_eps=1e-12, activation="gelu",
                 weight_bits=None, weight_block=BLOCK, **kwargs):
        super().__init__(**kwargs)
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.activation = activation
        self.head_size = hidden_size // num_heads
        self.weight_bits = weight_bits
        self.weight_block = weight_block
        policy = {"dtype": self.dtype_policy}
        dense = dense_class(weight_bits, weight_block)
        self.query = dense(hidden_size, name="query", **policy)
        self.key = dense(hidden_size, name="key", **policy)
        self.value = dense(hidden_size, name="value", **policy)
        self.attention_output = dense(hidden_size, name="attention_output", **policy)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=layer_norm_eps,
                                                              name="attention_norm", **policy)
        self.intermediate = dense(intermediate_size, name="intermediate", **policy)
        self.output_dense = dense(hidden_size, name="output", **policy)
        self.output_norm = keras.layers.LayerNormalization(epsilon=layer_norm_eps,
                                                           name="output_norm", **policy)
        self.dropout = Dropout(hidden_dropout, **policy)
        self.attention_probs_dropout = Dropout(attention_dropout, **policy)
        self._activation = get_activation(activation)

    def build(self, input_shape):
        batch_and_length = tuple(input_shape[:-1])
        for dense in (self.query, self.key, self.value, self.attention_output):
            dense.build(input_shape)
        self.attention_norm.build(input_shape)
        self.intermediate.build(input_shape)
        self.output_dense.build(batch_and_length + (self.intermediate_size,))
        self.output_norm.build(input_shape)
        self.built = True

    def _heads(self, x, batch, length):
        """(B*L, H) -> (B, heads, L, head_size)."""
        x = ops.reshape(x, (batch, length, self.num_heads, self.head_size))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, hidden, attention_mask, training=False):
        """Returns `(output (B, L, H), scores (B, heads, L, L))` for `hidden (B, L, H)`.

        `attention_mask` is (B, L) with 1 for real tokens and 0 for padding.

        The dense layers, norms and residuals run on the tokens flattened to (B*L, H), and
        every reshape leaves the length as -1: in a TFLite model with a static batch (one
        utterance per call) all target shapes are then constants, the projections become
        plain FULLY_CONNECTED ops and no shape arithmetic splits the delegated graph.
        """
        batch, length = batch_and_length(hidden)
        flat = ops.reshape(hidden, (-1, self.hidden_size))
        query, key, value = (self._heads(dense(flat), batch, length)
                             for dense in (self.query, self.key, self.value))
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))
        scores = scores / math.sqrt(self.head_size)
        # Two expand_dims rather than `[:, None, None, :]`: a strided slice with new axes
        # would need the TF Select op StridedSlice in a TFLite model with a dynamic batch.
        # The softmax runs in float32 whatever the policy: in half precision the masked
        # scores' exponentials and the row sums lose too much.
        mask = ops.expand_dims(ops.expand_dims(ops.cast(attention_mask, "float32"), 1), 1)
        probs = ops.softmax(ops.cast(scores, "float32") + (1.0 - mask) * MASK_PENALTY, axis=-1)
        probs = self.attention_probs_dropout(ops.cast(probs, self.compute_dtype),
                                             training=training)
        context = ops.transpose(ops.matmul(probs, value), (0, 2, 1, 3))
        context = ops.reshape(context, (-1, self.hidden_size))
        attended = self.dropout(self.attention_output(context), training=training)
        attended = self.attention_norm(attended + flat)
        inner = self._activation(self.intermediate(attended))
        output = self.dropout(self.output_dense(inner), training=training)
        output = self.output_norm(output + attended)
        return ops.reshape(output, (batch, length, self.hidden_size)), scores

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, num_heads=self.num_heads,
                      intermediate_size=self.intermediate_size,
                      hidden_dropout=self.hidden_dropout,
                      attention_dropout=self.attention_dropout,
                      layer_norm_eps=self.layer_norm_eps, activation=self.activation,
                      weight_bits=self.weight_bits, weight_block=self.weight_block)
        return config
