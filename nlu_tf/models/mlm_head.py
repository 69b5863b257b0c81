"""BERT's masked-LM head; `nlu_tf.model_io.hf_encoder.load_mlm_head` loads a checkpoint's into it."""

import keras
from keras import ops

from nlu_tf.models.activations import get_activation

@keras.saving.register_keras_serializable(package="nlu_tf")
class MaskedLMHead(keras.layers.Layer):
    """Dense + activation + layer norm, then logits over the vocabulary (decoder + bias).

    Mirrors Hugging Face `BertOnlyMLMHead`: `logits = LN(act(h W + b)) E^T + bias`, where
    `E` is the decoder matrix (tied to the word embeddings in every BERT checkpoint).

    Args:
        vocab_size: int, WordPiece vocabulary size.
        hidden_size: int, model width.
        activation: str, Hugging Face `hidden_act` name.
        layer_norm_eps: float, layer norm epsilon.

    Example:
    >>> head = MaskedLMHead(30522, 768)
    >>> load_mlm_head(head, mlm_head_state(state), embeddings, path)   # model_io.hf_encoder
    >>> logits = head(encoder_output[:, position])   # (B, vocab_size)
    """

    def __init__(self, vocab_size, hidden_size, activation="gelu", layer_norm_eps=1e-12,
                 **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.activation = activation
        self.layer_norm_eps = layer_norm_eps
        policy = {"dtype": self.dtype_policy}
        self.transform_dense = keras.layers.Dense(hidden_size, name="transform_dense", **policy)
        self.transform_norm = keras.layers.LayerNormalization(epsilon=layer_norm_eps,
                                                              name="transform_norm", **policy)
        self._activation = get_activation(activation)

    def build(self, input_shape=None):
        self.transform_dense.build((None, self.hidden_size))
        self.transform_norm.build((None, self.hidden_size))
        self.decoder = self.add_weight(shape=(self.vocab_size, self.hidden_size),
                                       initializer="zeros", name="decoder")
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros",
                                           name="output_bias")
        self.built = True

    def call(self, hidden):
        hidden = self.transform_norm(self._activation(self.transform_dense(hidden)))
        return ops.matmul(hidden, ops.transpose(self.decoder)) + self.output_bias

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size, "activation": self.activation,
                "layer_norm_eps": self.layer_norm_eps}
