"""BERT's masked-LM head (`cls.predictions.*`), loaded from `checkpoint.mlm_head_state`."""

import keras
from keras import ops

from nlu_tf.errors import InputError
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
    >>> head.load(mlm_head_state(state), state["embeddings.word_embeddings.weight"], path)
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

    def load(self, head, word_embeddings, source):
        """Assigns head tensors from `mlm_head_state` (PyTorch layouts), with shape checks.

        Args:
            head: the dict returned by `mlm_head_state`.
            word_embeddings: (vocab_size, hidden) array, the decoder when none is stored.
            source: the weight file, named in errors.
        """
        if not self.built:
            self.build()
        table = {"transform.dense.weight": (self.transform_dense.kernel, True),
                 "transform.dense.bias": (self.transform_dense.bias, False),
                 "transform.LayerNorm.weight": (self.transform_norm.gamma, False),
                 "transform.LayerNorm.bias": (self.transform_norm.beta, False),
                 "decoder.weight": (self.decoder, False),
                 "bias": (self.output_bias, False)}
        values = {**{"decoder.weight": word_embeddings}, **head}
        missing = sorted(key for key in table if key not in values)
        if missing:
            raise InputError(source, f"incomplete masked-LM head: missing cls.predictions."
                                     f"{', cls.predictions.'.join(missing)}")
        for key, (variable, transpose) in table.items():
            value = values[key].T if transpose else values[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise InputError(source, f"cls.predictions.{key}: shape {tuple(values[key].shape)} "
                                         f"does not fit the config (expected {tuple(variable.shape)})")
            variable.assign(value.astype("float32"))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size, "activation": self.activation,
                "layer_norm_eps": self.layer_norm_eps}
