"""Dropout whose random mask is cheap under XLA.

Keras draws dropout masks with TensorFlow's default stateless generator, which XLA's CPU
backend lowers to Philox: on a 2-core Xeon the masks of one MiniLM training step cost as
much as its forward pass (docs/results.md, speed on Intel). Inside an XLA-compiled
function this layer draws them with ThreeFry, which XLA emits at a fraction of that cost;
outside XLA (TensorFlow's own kernels implement Philox only) it is Keras' dropout.
"""

import keras
import tensorflow as tf

_INT32_RANGE = 2**31 - 2


class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with the same rate, seed and scaling; only the generator of
    the mask differs under XLA. Weights and configs are those of the Keras layer."""

    def call(self, inputs, training=False):
        if (not training or self.rate == 0 or self.noise_shape is not None
                or tf.__internal__.get_enclosing_xla_context() is None):
            return super().call(inputs, training=training)
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), _INT32_RANGE), tf.int32)
        keep = tf.random.stateless_uniform(tf.shape(inputs), seed=seed, alg="threefry") >= self.rate
        return inputs * tf.cast(keep, inputs.dtype) / tf.cast(1.0 - self.rate, inputs.dtype)
