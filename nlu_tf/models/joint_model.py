"""Joint intent classification + slot filling on top of a `BertEncoder`."""

import keras
from keras import ops

from nlu_tf.models.bert_encoder import BertEncoder
from nlu_tf.models.dropout import Dropout
from nlu_tf.models.fake_quant import dense_class
from nlu_tf.models.transformer_layer import batch_and_length


@keras.saving.register_keras_serializable(package="nlu_tf")
class JointNLUModel(keras.Model):
    """BERT encoder, an intent head on the pooled output and a slot head on every token.

    Returns a dict: `intent_logits` (B, num_intents), `slot_logits` (B, L, num_slots), and
    the encoder's `hidden_states` and `attention_scores`, which distillation reads (unused
    outputs are pruned from compiled and exported graphs).

    Args:
        encoder_config: dict, `BertEncoder` constructor arguments.
        num_intents: int, size of the intent vocabulary.
        num_slots: int, size of the slot tag vocabulary.
        head_dropout: float, dropout before both heads.
        dtype: (keyword) the Keras dtype policy, e.g. "mixed_bfloat16"; the encoder and
            heads compute in it, variables stay float32, the logits are float32.

    Example:
    >>> model = JointNLUModel(encoder_config, num_intents=8, num_slots=74)
    >>> logits = model(inputs)["intent_logits"]
    """

    # The head-type protocol shared with `SequenceModel` (see `head_arguments`).
    head = "joint"

    def __init__(self, encoder_config, num_intents, num_slots, head_dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.encoder_config = dict(encoder_config)
        self.num_intents = num_intents
        self.num_slots = num_slots
        self.head_dropout = head_dropout
        policy = {"dtype": self.dtype_policy}
        self.encoder = BertEncoder(**self.encoder_config, name="encoder", **policy)
        self.dropout = Dropout(head_dropout, **policy)
        # 4-bit weights trained for (`weight_bits`) reach the heads too.
        dense = dense_class(self.encoder.weight_bits, self.encoder.weight_block)
        self.intent_head = dense(num_intents, name="intent_head", **policy)
        self.slot_head = dense(num_slots, name="slot_head", **policy)

    def build(self, input_shape=None):
        self.encoder.build()
        hidden = self.encoder.hidden_size
        self.intent_head.build((None, hidden))
        self.slot_head.build((None, None, hidden))
        self.built = True

    def call(self, inputs, training=False):
        encoded = self.encoder(inputs, training=training)
        pooled = self.dropout(encoded["pooled_output"], training=training)
        sequence = encoded["sequence_output"]
        tokens = self.dropout(ops.reshape(sequence, (-1, sequence.shape[-1])), training=training)
        # The slot head on (B*L, H), reshaped back with the length as -1: see
        # `TransformerLayer.call` (a plain FULLY_CONNECTED op in a static-batch TFLite model).
        slot_logits = ops.reshape(self.slot_head(tokens),
                                  batch_and_length(sequence) + (self.num_slots,))
        # Logits leave in float32 under every policy (a no-op in a float32 model), so
        # decoding, evaluation and every loss read float32.
        return {
            "intent_logits": ops.cast(self.intent_head(pooled), "float32"),
            "slot_logits": ops.cast(slot_logits, "float32"),
            "hidden_states": encoded["hidden_states"],
            "attention_scores": encoded["attention_scores"],
        }

    def head_arguments(self):
        """The constructor arguments besides `encoder_config`: the same heads on another
        encoder are `type(model)(config, **model.head_arguments())`."""
        return {"num_intents": self.num_intents, "num_slots": self.num_slots,
                "head_dropout": self.head_dropout}

    @property
    def head_layers(self):
        """The layers outside the encoder, copied as they are onto a cut student."""
        return [self.intent_head, self.slot_head]

    @property
    def output_sizes(self):
        """{logit output: width of one example's logits, -1 standing for its length}."""
        return {"intent_logits": (self.num_intents,), "slot_logits": (-1, self.num_slots)}

    def get_config(self):
        return {**super().get_config(), "encoder_config": self.encoder_config,
                **self.head_arguments()}


def rebuilt_model(old, encoder_config, values=None):
    """A new built model of `old`'s class (heads, dropout, dtype policy) on
    `encoder_config`, each weight copied from `old`'s weight of the same path unless
    `values` gives it.

    Args:
        old: a built `JointNLUModel` or `SequenceModel` (any model with the head protocol:
            `head_arguments()`).
        encoder_config: the new model's `BertEncoder` arguments.
        values: {weight path below the model's own name, e.g.
            "encoder/token_embedding/embeddings": array}.

    Raises:
        ValueError: a weight of the new model has no value (neither in `values` nor in
            `old` at the same path).
    """
    values = values or {}
    model = type(old)(encoder_config, **old.head_arguments(), dtype=old.dtype_policy)
    model.build()
    # Paths below the model's own (auto-numbered) name.
    sources = {weight.path.split("/", 1)[-1]: weight for weight in old.weights}
    for weight in model.weights:
        path = weight.path.split("/", 1)[-1]
        if path in values:
            weight.assign(values[path])
        elif path in sources:
            weight.assign(sources[path].numpy())
        else:
            raise ValueError(f"no value for the weight {path}")
    return model
