"""The dropout layer of every model: Keras' outside XLA, a ThreeFry mask inside it."""

import keras
import numpy as np
import tensorflow as tf

from nlu_tf.models.dropout import Dropout


def _under_xla(layer, x, training=True):
    return tf.function(lambda t: layer(t, training=training), jit_compile=True)(x).numpy()


def test_under_xla_each_value_is_dropped_or_scaled_at_the_rate():
    x = tf.ones((200, 500))
    out = _under_xla(Dropout(0.1, seed=3), x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.9, rtol=1e-6)
    assert abs(kept.mean() - 0.9) < 0.005  # 100,000 draws: 0.005 is about 5 standard errors


def test_under_xla_each_call_draws_a_new_mask_and_a_seed_repeats_its_masks():
    x = tf.ones((64, 64))
    first, second = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    a, b = _under_xla(first, x), _under_xla(first, x)
    assert (a != b).mean() > 0.3
    np.testing.assert_array_equal(_under_xla(second, x), a)


def test_under_xla_the_gradient_is_the_mask_scaled():
    dense, layer = keras.layers.Dense(8, use_bias=False), Dropout(0.2, seed=1)
    x = tf.random.normal((64, 4))
    dense.build((None, 4))

    @tf.function(jit_compile=True)
    def grad_and_out():
        with tf.GradientTape() as tape:
            out = layer(dense(x), training=True)
            loss = tf.reduce_sum(out)
        return tape.gradient(loss, dense.kernel), out

    grad, out = (v.numpy() for v in grad_and_out())
    # d sum(dropout(x W)) / dW = x^T (mask / (1 - rate))
    np.testing.assert_allclose(grad, x.numpy().T @ ((out != 0) / 0.8), rtol=1e-5, atol=1e-5)


def test_outside_xla_and_at_inference_it_is_keras_dropout():
    x = tf.random.normal((16, 32))
    ours, keras_layer = Dropout(0.3, seed=5), keras.layers.Dropout(0.3, seed=5)
    np.testing.assert_array_equal(ours(x, training=True).numpy(),
                                  keras_layer(x, training=True).numpy())
    np.testing.assert_array_equal(_under_xla(Dropout(0.3, seed=5), x, training=False), x.numpy())


def test_mixed_precision_keeps_the_input_dtype():
    x = tf.ones((8, 8), tf.bfloat16)
    assert _under_xla(Dropout(0.1, seed=2, dtype="mixed_bfloat16"), x).dtype == tf.bfloat16.as_numpy_dtype
