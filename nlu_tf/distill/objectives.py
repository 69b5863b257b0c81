"""What stages 2.0, 2.1 and 2.2 minimise (see `objective_base.Objective` for the protocol)."""

import keras
import tensorflow as tf

from nlu_tf.distill import losses
from nlu_tf.distill.objective_base import Objective, ObjectiveOutput
from nlu_tf.distill.teacher_outputs import TeacherOutputs
from nlu_tf.surgery.student import uniform_layer_map


class SupervisedObjective(Objective):
    """Stage 2.0: intent cross-entropy + `slot_loss_coef` × slot cross-entropy on gold labels.

    Rows without gold labels (augmented utterances: intent and slots `IGNORE`) add nothing.

    Args:
        slot_loss_coef: float, weight of the slot loss.
    """

    trains_heads = True
    loss_names = ("loss", "intent_loss", "slot_loss")

    def __init__(self, slot_loss_coef=1.0, **kwargs):
        super().__init__(**kwargs)
        self.slot_loss_coef = slot_loss_coef

    def call(self, student, teacher, inputs, targets, counts):
        intent = losses.intent_cross_entropy(student["intent_logits"],
                                             targets["intent"]) / tf.maximum(
            counts["intent_labels"], 1.0)
        slot = losses.slot_cross_entropy(student["slot_logits"], targets["slots"]) / tf.maximum(
            counts["slot_labels"], 1.0)
        return ObjectiveOutput({"loss": intent + self.slot_loss_coef * slot,
                                "intent_loss": intent, "slot_loss": slot}, {})


class WidthProjection(keras.layers.Layer):
    """TinyBERT's W_h: maps student hidden states to the teacher width (identity if equal).

    It lives in the objective, never in the student, so the exported student has no trace of it.
    """

    def __init__(self, student_width, teacher_width, **kwargs):
        super().__init__(**kwargs)
        self.student_width = student_width
        self.teacher_width = teacher_width
        self.dense = (keras.layers.Dense(teacher_width, name="fit_dense",
                                         dtype=self.dtype_policy)
                      if student_width != teacher_width else None)

    def build(self, input_shape=None):
        if self.dense is not None:
            self.dense.build((None, None, self.student_width))
        self.built = True

    def call(self, hidden):
        return hidden if self.dense is None else self.dense(hidden)


class IntermediateObjective(Objective):
    """Stage 2.1: embedding MSE + hidden-state MSE + pre-softmax attention MSE, no labels.

    Args:
        student_layers: int, student transformer blocks M.
        teacher_layers: int, teacher transformer blocks N.
        student_width: int, student hidden size.
        teacher_width: int, teacher hidden size.
        layer_map: list[int] or None, teacher block for each student block (1-based);
            uniform g(m) = m·N/M by default.
    """

    uses_teacher = True
    loss_names = ("loss", "emb_loss", "hidden_loss", "att_loss")

    def __init__(self, student_layers, teacher_layers, student_width, teacher_width,
                 layer_map=None, **kwargs):
        super().__init__(**kwargs)
        self.layer_map = list(layer_map or uniform_layer_map(student_layers, teacher_layers))
        self.projection = WidthProjection(student_width, teacher_width, name="projection",
                                          dtype=self.dtype_policy)

    def build(self, input_shape=None):
        self.projection.build()
        self.built = True

    def teacher_outputs(self):
        return TeacherOutputs(hidden_states=(0, *self.layer_map),
                              attention_scores=[n - 1 for n in self.layer_map])

    def call(self, student, teacher, inputs, targets, counts):
        mask = inputs["attention_mask"]
        s_hidden, t_hidden = student["hidden_states"], teacher["hidden_states"]
        hidden_count = counts["tokens"] * float(self.projection.teacher_width)
        emb = losses.hidden_mse(self.projection(s_hidden[0]), t_hidden[0], mask) / hidden_count
        hidden = tf.add_n([
            losses.hidden_mse(self.projection(s_hidden[m + 1]), t_hidden[n], mask)
            for m, n in enumerate(self.layer_map)]) / hidden_count
        scores = student["attention_scores"]
        pair_count = counts["pairs"] * tf.cast(tf.shape(scores[0])[1], tf.float32)
        att = tf.add_n([
            losses.attention_mse(scores[m], teacher["attention_scores"][n - 1], mask)
            for m, n in enumerate(self.layer_map)]) / pair_count
        return ObjectiveOutput({"loss": emb + hidden + att, "emb_loss": emb,
                                "hidden_loss": hidden, "att_loss": att}, {})


class PredictionObjective(Objective):
    """Stage 2.2: soft cross-entropy with temperature on intent and slot logits.

    Slot logits are distilled on every real (non-padding) token. With `alpha` > 0 the
    gold-label loss of stage 2.0 is mixed in: (1 - alpha)·soft + alpha·gold; augmented
    utterances carry no gold labels, so on them the targets are the teacher's alone.

    Args:
        temperature: float, softmax temperature of both distributions.
        alpha: float in [0, 1], weight of the gold-label loss (0: pure distillation).
        slot_loss_coef: float, weight of the slot terms.
    """

    uses_teacher = True
    trains_heads = True

    def __init__(self, temperature=1.0, alpha=0.0, slot_loss_coef=1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = temperature
        self.alpha = alpha
        self.slot_loss_coef = slot_loss_coef
        self.gold = SupervisedObjective(slot_loss_coef, dtype=self.dtype_policy)

    def build(self, input_shape=None):
        self.gold.build()
        self.built = True

    @property
    def loss_names(self):
        names = ("loss", "soft_intent_loss", "soft_slot_loss")
        return names + (("gold_loss",) if self.alpha else ())

    def teacher_outputs(self):
        return TeacherOutputs(intent_logits=True, slot_logits=True)

    def call(self, student, teacher, inputs, targets, counts):
        intent = losses.soft_cross_entropy(student["intent_logits"], teacher["intent_logits"],
                                           self.temperature) / counts["examples"]
        slot = losses.soft_cross_entropy(student["slot_logits"], teacher["slot_logits"],
                                         self.temperature,
                                         mask=inputs["attention_mask"] > 0) / counts["tokens"]
        result = {"loss": intent + self.slot_loss_coef * slot, "soft_intent_loss": intent,
                  "soft_slot_loss": slot}
        if self.alpha:
            gold = self.gold(student, None, inputs, targets, counts).losses["loss"]
            result["gold_loss"] = gold
            result["loss"] = (1.0 - self.alpha) * result["loss"] + self.alpha * gold
        return ObjectiveOutput(result, {})
