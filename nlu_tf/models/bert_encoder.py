"""A Keras BERT encoder that mirrors Hugging Face `BertModel` and exposes what distillation needs."""

import keras
from keras import ops

from nlu_tf.models.dropout import Dropout
from nlu_tf.models.fake_quant import dense_class, fake_quant_rows, int4_block
from nlu_tf.models.int4_table import Int4RowTable
from nlu_tf.models.transformer_layer import TransformerLayer, batch_and_length

# The most rows a shared token table's row map reads as int16 (the largest int16 row index
# is 32767).
INT16_ROWS = 32768


@keras.saving.register_keras_serializable(package="nlu_tf")
class BertEncoder(keras.Model):
    """BERT with absolute positions, token types and post-layer-norm blocks.

    Calling it on `{"input_ids", "attention_mask", "token_type_ids"}` (int32, (B, L)) returns
    a dict with `sequence_output` (B, L, H), `pooled_output` (B, H) (tanh dense on [CLS]),
    `hidden_states` (a list of num_layers + 1 tensors, the embedding output first) and
    `attention_scores` (a list of num_layers tensors (B, heads, L, L), before the softmax
    and before the padding mask).

    Args:
        vocab_size: int, WordPiece vocabulary size.
        hidden_size: int, model width.
        num_layers: int, transformer blocks.
        num_heads: int, attention heads per block.
        intermediate_size: int, feed-forward width.
        max_position_embeddings: int, longest supported sequence.
        type_vocab_size: int, token type (segment) vocabulary.
        hidden_dropout: float, dropout on embeddings and block outputs.
        attention_dropout: float, dropout on attention probabilities.
        layer_norm_eps: float, layer norm epsilon (Hugging Face `layer_norm_eps`).
        activation: str, Hugging Face `hidden_act` name.
        embedding_size: int or None, the width of a factorised token embedding: a
            (vocab_size, embedding_size) table projected to hidden_size by a bias-free
            dense layer (ALBERT's factorisation; a small vocabulary table for on-device
            students). None: a (vocab_size, hidden_size) table, as in BERT.
        embedding_rows: int or None, the rows of a shared token table: the table holds
            this many rows and a non-trainable int32 map (`token_row_map`, one entry per
            vocabulary id) says which row each id reads, so ids may share a row (a trimmed
            student that keeps its teacher's vocabulary). None: one row per id.
        embedding_bits: 4 or None. 4: the token table is stored as 4-bit integers with a
            scale per row (`Int4RowTable`, not trainable): the model the `int4` TFLite
            mode converts (`nlu_tf.export.int4`). None: a float table.
        weight_bits: None, or 4: quantization-aware training for the `int4` mode: every
            dense layer reads its kernel, and the token table its rows, rounded to 4 bits
            (`nlu_tf.models.fake_quant`); the weights stay float.
        dtype: (keyword) the Keras dtype policy, e.g. "mixed_bfloat16"; every sub-layer
            computes in it, variables stay float32.

    Example (`nlu_tf.model_io.hf_encoder.load_hf_encoder` builds one from a Hugging Face
    BERT directory):
    >>> encoder = BertEncoder(vocab_size=30522, hidden_size=384, num_layers=6,
    ...                       intermediate_size=1536)
    >>> out = encoder({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    >>> out["sequence_output"].shape
    """

    def __init__(self, vocab_size, hidden_size=768, num_layers=12, num_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
                 hidden_dropout=0.1, attention_dropout=0.1, layer_norm_eps=1e-12,
                 activation="gelu", embedding_size=None, embedding_rows=None, embedding_bits=None,
                 weight_bits=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.activation = activation
        self.embedding_size = embedding_size
        self.embedding_rows = embedding_rows
        if embedding_bits not in (None, 4):
            raise ValueError(f"embedding_bits must be None or 4, got {embedding_bits!r}")
        self.embedding_bits = embedding_bits
        self.weight_bits = weight_bits
        # Sub-layers compute in this model's dtype policy (their variables stay float32).
        policy = {"dtype": self.dtype_policy}
        # Inputs per scale of the 4-bit kernels (read by the heads of `JointNLUModel` too).
        self.weight_block = int4_block(hidden_size, intermediate_size, embedding_size)
        table_shape = (embedding_rows or vocab_size, embedding_size or hidden_size)
        self.token_embedding = (Int4RowTable(*table_shape, name="token_embedding", **policy)
                                if embedding_bits else
                                keras.layers.Embedding(*table_shape, name="token_embedding",
                                                       **policy))
        self.token_projection = (keras.layers.Dense(hidden_size, use_bias=False,
                                                    name="token_projection", **policy)
                                 if embedding_size else None)
        self.position_embedding = keras.layers.Embedding(max_position_embeddings, hidden_size,
                                                         name="position_embedding", **policy)
        self.segment_embedding = keras.layers.Embedding(type_vocab_size, hidden_size,
                                                        name="segment_embedding", **policy)
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, name="embeddings_layer_norm", **policy)
        self.embeddings_dropout = Dropout(hidden_dropout, **policy)
        self.transformer_layers = [
            TransformerLayer(hidden_size, num_heads, intermediate_size, hidden_dropout,
                             attention_dropout, layer_norm_eps, activation, weight_bits,
                             self.weight_block,
                             name=f"transformer_layer_{i}", **policy)
            for i in range(num_layers)
        ]
        self.pooler_dense = dense_class(weight_bits, self.weight_block)(
            hidden_size, activation="tanh", name="pooler_dense", **policy)

    def build(self, input_shape=None):
        for embedding in (self.token_embedding, self.position_embedding, self.segment_embedding):
            embedding.build((None, None))
        self.token_row_map = (self.add_weight(shape=(self.vocab_size,), dtype="int32",
                                              initializer="zeros", trainable=False,
                                              name="token_row_map")
                              if self.embedding_rows else None)
        if self.token_projection is not None:
            self.token_projection.build((None, self.embedding_size))
        self.embeddings_layer_norm.build((None, None, self.hidden_size))
        for layer in self.transformer_layers:
            layer.build((None, None, self.hidden_size))
        self.pooler_dense.build((None, self.hidden_size))
        self.built = True

    def _shared_rows(self, input_ids):
        """The table row of each id. A table of at most `INT16_ROWS` rows reads an int16
        copy of the map (the converter folds the cast into an int16 constant: half the
        bytes of the int32 map in a `.tflite`); the weights file keeps int32."""
        if self.embedding_rows > INT16_ROWS:
            return ops.take(self.token_row_map, input_ids)
        return ops.cast(ops.take(ops.cast(self.token_row_map, "int16"), input_ids), "int32")

    def call(self, inputs, training=False):
        input_ids = inputs["input_ids"]
        attention_mask = inputs["attention_mask"]
        token_type_ids = inputs.get("token_type_ids")
        if token_type_ids is None:
            token_type_ids = ops.zeros_like(input_ids)
        positions = ops.arange(ops.shape(input_ids)[1], dtype="int32")
        rows = input_ids if self.token_row_map is None else self._shared_rows(input_ids)
        tokens = self.token_embedding(rows)
        if self.weight_bits:
            tokens = fake_quant_rows(tokens)
        if self.token_projection is not None:
            # On (B*L, E), reshaped back as `TransformerLayer.call` does: one plain
            # FULLY_CONNECTED op in a converted graph.
            flat = self.token_projection(ops.reshape(tokens, (-1, self.embedding_size)))
            tokens = ops.reshape(flat, batch_and_length(input_ids) + (self.hidden_size,))
        embedded = (tokens
                    + self.position_embedding(positions)[None]
                    + self.segment_embedding(token_type_ids))
        hidden = self.embeddings_dropout(self.embeddings_layer_norm(embedded), training=training)
        hidden_states, attention_scores = [hidden], []
        for layer in self.transformer_layers:
            hidden, scores = layer(hidden, attention_mask, training=training)
            hidden_states.append(hidden)
            attention_scores.append(scores)
        return {
            "sequence_output": hidden,
            "pooled_output": self.pooler_dense(hidden[:, 0]),
            "hidden_states": hidden_states,
            "attention_scores": attention_scores,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "num_layers": self.num_layers, "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size, "hidden_dropout": self.hidden_dropout,
            "attention_dropout": self.attention_dropout,
            "layer_norm_eps": self.layer_norm_eps, "activation": self.activation,
            "embedding_size": self.embedding_size, "embedding_rows": self.embedding_rows,
            "embedding_bits": self.embedding_bits, "weight_bits": self.weight_bits,
        }


def full_token_table(encoder):
    """The (vocab_size, width) token rows of a built `BertEncoder`, a shared table expanded."""
    table = encoder.token_embedding.embeddings.numpy()
    if encoder.token_row_map is not None:
        table = table[encoder.token_row_map.numpy()]
    return table
