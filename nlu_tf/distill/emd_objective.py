"""BERT-EMD: many-to-many layer mapping with the Earth Mover's Distance, as a stage objective."""

import keras
import tensorflow as tf

from nlu_tf.distill import losses
from nlu_tf.distill.emd import emd_cost_matrix, update_layer_weights
from nlu_tf.distill.objectives import WidthProjection
from nlu_tf.distill.transport import solve_transport

WEIGHT_NAMES = ("student_att", "teacher_att", "student_hid", "teacher_hid")


def _replicas():
    context = tf.distribute.get_replica_context()
    return (context, context.num_replicas_in_sync) if context is not None else (None, 1)


class EmdObjective(keras.layers.Layer):
    """Embedding MSE + EMD over hidden states + EMD over attention scores, optionally + prediction.

    Every student block may learn from every teacher block. Per step, the (M, N) cost
    matrices of hidden-state MSEs and attention-score MSEs are summed over replicas (so
    every replica solves the same problem), the exact transport plan between the layer
    weights is solved in TF ops and held constant, and the loss is Σ flow·cost. After
    the step the layer weights follow BERT-EMD's cost-attention rule; they are
    non-trainable variables, so checkpoints keep them.

    With `prediction` set (BERT-EMD's one-step objective) the loss is
    β·(θ·(L_att + L_hid) + L_emb) + L_pred.

    Args:
        student_layers: int, student blocks M.
        teacher_layers: int, teacher blocks N.
        student_width: int, student hidden size.
        teacher_width: int, teacher hidden size.
        weight_update: "softmax" (with `temperature`) or "sum".
        temperature: float, T of the softmax update (`--T_emd`).
        separate: keep attention and hidden-state weights apart (else averaged after each update).
        prediction: an objective giving L_pred, or None for intermediate distillation only.
        beta: float, weight of the intermediate terms in the one-step objective.
        theta: float, weight of the EMD terms against the embedding term.
    """

    uses_teacher = True

    def __init__(self, student_layers, teacher_layers, student_width, teacher_width,
                 weight_update="softmax", temperature=1.0, separate=False, prediction=None,
                 beta=1.0, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if weight_update not in ("softmax", "sum"):
            raise ValueError(f"weight_update must be softmax or sum, got {weight_update!r}")
        self.weight_update = weight_update
        self.temperature = temperature
        self.separate = separate
        self.prediction = prediction
        self.beta, self.theta = beta, theta
        self.projection = WidthProjection(student_width, teacher_width, name="projection")
        sizes = dict(zip(WEIGHT_NAMES, (student_layers, teacher_layers) * 2))
        self.layer_weights = {
            name: self.add_weight(name=f"{name}_weight", shape=(size,), trainable=False,
                                  initializer=keras.initializers.Constant(1.0 / size),
                                  aggregation="only_first_replica")
            for name, size in sizes.items()}

    def build(self, input_shape=None):
        self.projection.build()
        self.built = True

    @property
    def loss_names(self):
        names = ("loss", "emb_loss", "hidden_loss", "att_loss")
        return names + (self.prediction.loss_names[1:] if self.prediction is not None else ())

    def _emd(self, student_reprs, teacher_reprs, mask, kind):
        context, replicas = _replicas()
        cost = emd_cost_matrix(student_reprs, teacher_reprs, mask) / replicas
        shared = tf.stop_gradient(cost)
        if replicas > 1:
            shared = context.all_reduce(tf.distribute.ReduceOp.SUM, shared)
        flow = solve_transport(self.layer_weights[f"student_{kind}"],
                               self.layer_weights[f"teacher_{kind}"], shared)
        flow = tf.stop_gradient(tf.cast(flow, cost.dtype))
        return tf.reduce_sum(flow * cost), flow, shared

    def call(self, student, teacher, inputs, targets):
        mask = inputs["attention_mask"]
        s_hidden, t_hidden = student["hidden_states"], teacher["hidden_states"]
        emb = losses.replica_mean(*losses.hidden_mse(self.projection(s_hidden[0]),
                                                     t_hidden[0], mask))
        hid, hid_flow, hid_cost = self._emd([self.projection(h) for h in s_hidden[1:]],
                                            t_hidden[1:], mask, "hid")
        att, att_flow, att_cost = self._emd(student["attention_scores"],
                                            teacher["attention_scores"], mask, "att")
        result = {"emb_loss": emb, "hidden_loss": hid, "att_loss": att,
                  "_flows": (att_flow, att_cost, hid_flow, hid_cost)}
        if self.prediction is None:
            result["loss"] = emb + hid + att
            return result
        predicted = self.prediction(student, teacher, inputs, targets)
        result.update({k: v for k, v in predicted.items() if k != "loss"})
        result["loss"] = (self.beta * (self.theta * (att + hid) + emb) + predicted["loss"])
        return result

    def after_step(self, step_losses):
        """Updates the layer weights from this step's flows and (replica-summed) costs."""
        att_flow, att_cost, hid_flow, hid_cost = step_losses["_flows"]
        new = {}
        for kind, flow, cost in (("att", att_flow, att_cost), ("hid", hid_flow, hid_cost)):
            new[f"student_{kind}"], new[f"teacher_{kind}"] = update_layer_weights(
                flow, cost, self.layer_weights[f"student_{kind}"],
                self.layer_weights[f"teacher_{kind}"], self.weight_update, self.temperature)
        if not self.separate:
            for side in ("student", "teacher"):
                mean = (new[f"{side}_att"] + new[f"{side}_hid"]) / 2.0
                new[f"{side}_att"] = new[f"{side}_hid"] = mean
        for name, value in new.items():
            self.layer_weights[name].assign(tf.cast(value, self.layer_weights[name].dtype))

    def weights_dict(self):
        """The current layer weights as plain lists (for logs and reports)."""
        return {name: [float(x) for x in variable.numpy()]
                for name, variable in self.layer_weights.items()}
