"""What stages 2.0 and 2.2 minimise for a GLUE `SequenceModel` (one label an example).

Classification: cross-entropy on the gold class, and soft cross-entropy at temperature T
against the teacher's logits; regression (STS-B): squared error against the gold score,
and against the teacher's score, as BERT-EMD distils STS-B. Stage 2.1 and BERT-EMD's
layer terms read hidden states and attention only, so they serve both model kinds.
"""

import tensorflow as tf

from nlu_tf.distill import losses
from nlu_tf.distill.objective_base import Objective, ObjectiveOutput
from nlu_tf.distill.teacher_outputs import TeacherOutputs


def _gold_loss(logits, labels, regression):
    """Sum over the batch of the gold-label loss (divide by the examples)."""
    if regression:
        return losses.squared_error(logits, labels)
    return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits))


class LabelObjective(Objective):
    """Stage 2.0 of a GLUE task: cross-entropy on the gold class, or the squared error of
    the predicted score (`regression`), averaged over the global batch.

    Args:
        regression: bool, the head predicts one score (STS-B).
    """

    trains_heads = True
    loss_names = ("loss",)

    def __init__(self, regression=False, **kwargs):
        super().__init__(**kwargs)
        self.regression = regression

    def call(self, student, teacher, inputs, targets, counts):
        loss = _gold_loss(student["logits"], targets["label"], self.regression)
        return ObjectiveOutput({"loss": loss / counts["examples"]}, {})


class LabelPredictionObjective(Objective):
    """Stage 2.2 of a GLUE task, and L_pred of BERT-EMD's one-step objective: soft
    cross-entropy at `temperature` against the teacher's logits, or the squared error
    against the teacher's score (`regression`). With `alpha` > 0 the gold-label loss is
    mixed in: (1 - alpha)·soft + alpha·gold.

    Args:
        temperature: float, softmax temperature of both distributions (unused for
            regression).
        alpha: float in [0, 1], weight of the gold-label loss.
        regression: bool, the head predicts one score (STS-B).
    """

    uses_teacher = True
    trains_heads = True

    def __init__(self, temperature=1.0, alpha=0.0, regression=False, **kwargs):
        super().__init__(**kwargs)
        self.temperature = temperature
        self.alpha = alpha
        self.regression = regression

    @property
    def loss_names(self):
        return ("loss", "soft_loss") + (("gold_loss",) if self.alpha else ())

    def teacher_outputs(self):
        return TeacherOutputs(logits=True)

    def call(self, student, teacher, inputs, targets, counts):
        logits, taught = student["logits"], teacher["logits"]
        if self.regression:
            soft = losses.squared_error(logits, taught)
        else:
            soft = losses.soft_cross_entropy(logits, taught, self.temperature)
        soft /= counts["examples"]
        result = {"loss": soft, "soft_loss": soft}
        if self.alpha:
            gold = _gold_loss(logits, targets["label"], self.regression) / counts["examples"]
            result["gold_loss"] = gold
            result["loss"] = (1.0 - self.alpha) * soft + self.alpha * gold
        return ObjectiveOutput(result, {})
