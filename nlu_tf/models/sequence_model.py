"""Sentence and sentence-pair classification (or regression) on top of a `BertEncoder`."""

import keras
from keras import ops

from nlu_tf.models.bert_encoder import BertEncoder
from nlu_tf.models.dropout import Dropout
from nlu_tf.models.fake_quant import dense_class


@keras.saving.register_keras_serializable(package="nlu_tf")
class SequenceModel(keras.Model):
    """BERT encoder and one classifier head on the pooled output (GLUE tasks).

    Returns a dict: `logits` (B, num_labels) — one column, the predicted score, for a
    regression task (STS-B) — and the encoder's `hidden_states` and `attention_scores`,
    which distillation reads.

    Args:
        encoder_config: dict, `BertEncoder` constructor arguments.
        task: str, the GLUE task key (`mrpc`, `sts-b`, ...) the head was made for.
        num_labels: int, the task's classes, or 1 for regression.
        head_dropout: float, dropout before the head.
        dtype: (keyword) the Keras dtype policy; the logits are float32 under every one.

    Example:
    >>> model = SequenceModel(encoder_config, task="mrpc", num_labels=2)
    >>> logits = model(inputs)["logits"]
    """

    # The head-type protocol shared with `JointNLUModel` (see `head_arguments`).
    head = "sequence"

    def __init__(self, encoder_config, task, num_labels, head_dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.encoder_config = dict(encoder_config)
        self.task = task
        self.num_labels = num_labels
        self.head_dropout = head_dropout
        policy = {"dtype": self.dtype_policy}
        self.encoder = BertEncoder(**self.encoder_config, name="encoder", **policy)
        self.dropout = Dropout(head_dropout, **policy)
        dense = dense_class(self.encoder.weight_bits, self.encoder.weight_block)
        self.classifier = dense(num_labels, name="classifier", **policy)

    def build(self, input_shape=None):
        self.encoder.build()
        self.classifier.build((None, self.encoder.hidden_size))
        self.built = True

    def call(self, inputs, training=False):
        encoded = self.encoder(inputs, training=training)
        pooled = self.dropout(encoded["pooled_output"], training=training)
        return {"logits": ops.cast(self.classifier(pooled), "float32"),
                "hidden_states": encoded["hidden_states"],
                "attention_scores": encoded["attention_scores"]}

    def head_arguments(self):
        """The constructor arguments besides `encoder_config`: the same heads on another
        encoder are `SequenceModel(config, **model.head_arguments())`."""
        return {"task": self.task, "num_labels": self.num_labels,
                "head_dropout": self.head_dropout}

    @property
    def head_layers(self):
        """The layers outside the encoder, copied as they are onto a cut student."""
        return [self.classifier]

    @property
    def output_sizes(self):
        """{logit output: width of one example's logits, -1 standing for its length}."""
        return {"logits": (self.num_labels,)}

    def get_config(self):
        return {**super().get_config(), "encoder_config": self.encoder_config,
                **self.head_arguments()}
