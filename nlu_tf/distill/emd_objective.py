"""BERT-EMD: many-to-many layer mapping with the Earth Mover's Distance, as a stage objective."""

import keras
import tensorflow as tf

from nlu_tf.choices import EmdWeightUpdate, names
from nlu_tf.distill import losses
from nlu_tf.distill.emd import emd_cost_matrix, update_layer_weights
from nlu_tf.distill.objective_base import Objective, ObjectiveOutput
from nlu_tf.distill.objectives import WidthProjection
from nlu_tf.distill.teacher_outputs import TeacherOutputs
from nlu_tf.distill.transport import solve_transport

WEIGHT_NAMES = ("student_att", "teacher_att", "student_hid", "teacher_hid")


class EmdObjective(Objective):
    """Embedding MSE + EMD over hidden states + EMD over attention scores, optionally + prediction.

    Every student block may learn from every teacher block. Per step, the (M, N) cost
    matrices of hidden-state MSEs and attention-score MSEs are summed over replicas (so
    every replica solves the same problem), the exact transport plan between the layer
    weights is solved in TF ops and held constant, and the loss is Σ flow·cost. After
    the step the layer weights follow BERT-EMD's cost-attention rule (`after_step`, fed
    the flows and shared costs through `ObjectiveOutput.state`); they are non-trainable
    variables, so checkpoints keep them.

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
        weight_floor: float in [0, 1), share of every weight vector spread uniformly after
            each update, so no layer's weight falls below `weight_floor / layers`
            (`--emd_weight_floor`; 0, the default, is the published rule).
    """

    uses_teacher = True

    def __init__(self, student_layers, teacher_layers, student_width, teacher_width,
                 weight_update="softmax", temperature=1.0, separate=False, prediction=None,
                 beta=1.0, theta=1.0, weight_floor=0.0, **kwargs):
        super().__init__(**kwargs)
        if weight_update not in names(EmdWeightUpdate):
            raise ValueError(f"weight_update must be softmax or sum, got {weight_update!r}")
        if not 0.0 <= weight_floor < 1.0:
            raise ValueError(f"weight_floor must be in [0, 1), got {weight_floor}")
        self.weight_update = weight_update
        self.weight_floor = float(weight_floor)
        self.temperature = temperature
        self.separate = separate
        self.prediction = prediction
        self.trains_heads = prediction is not None
        self.beta, self.theta = beta, theta
        self.teacher_layers = teacher_layers
        self.projection = WidthProjection(student_width, teacher_width, name="projection",
                                          dtype=self.dtype_policy)
        sizes = (student_layers, teacher_layers) * 2
        self.slices = {}
        start = 0
        for name, size in zip(WEIGHT_NAMES, sizes):
            self.slices[name] = (start, start + size)
            start += size
        initial = [1.0 / size for size in sizes for _ in range(size)]
        # One variable for all four vectors: one update per step, hence one collective
        # per step under a distribution strategy (several could run in different orders).
        self.layer_weights = self.add_weight(
            name="emd_layer_weights", shape=(start,), trainable=False,
            initializer=keras.initializers.Constant(initial), aggregation="mean")

    def weight(self, name):
        """One of the four layer-weight vectors (`WEIGHT_NAMES`)."""
        start, end = self.slices[name]
        return self.layer_weights[start:end]

    def build(self, input_shape=None):
        self.projection.build()
        self.built = True

    @property
    def loss_names(self):
        names = ("loss", "emb_loss", "hidden_loss", "att_loss")
        return names + (self.prediction.loss_names[1:] if self.prediction is not None else ())

    def teacher_outputs(self):
        layers = TeacherOutputs(hidden_states=range(self.teacher_layers + 1),
                                attention_scores=range(self.teacher_layers))
        if self.prediction is None:
            return layers
        return layers | self.prediction.teacher_outputs()

    @staticmethod
    def _shared_costs(costs):
        """The cost matrices summed over replicas (one reduction for both)."""
        flat = tf.stop_gradient(tf.concat([tf.reshape(c, [-1]) for c in costs], axis=0))
        flat = losses.sum_over_replicas(flat)
        shared, start = [], 0
        for cost in costs:
            size = cost.shape[0] * cost.shape[1]
            shared.append(tf.reshape(flat[start:start + size], cost.shape))
            start += size
        return shared

    def _flow(self, cost, kind):
        flow = solve_transport(self.weight(f"student_{kind}"), self.weight(f"teacher_{kind}"), cost)
        return tf.stop_gradient(tf.cast(flow, cost.dtype))

    def call(self, student, teacher, inputs, targets, counts):
        mask = inputs["attention_mask"]
        local = losses.local_counts(inputs, targets)
        s_hidden, t_hidden = student["hidden_states"], teacher["hidden_states"]
        width = float(self.projection.teacher_width)
        emb = losses.hidden_mse(self.projection(s_hidden[0]), t_hidden[0], mask) / (
            counts["tokens"] * width)
        # Local means rescaled to this replica's share of the global batch: summed over
        # replicas they are the global means.
        hid_cost = emd_cost_matrix([self.projection(h) for h in s_hidden[1:]], t_hidden[1:],
                                   mask) * (local["tokens"] / counts["tokens"])
        att_cost = emd_cost_matrix(student["attention_scores"], teacher["attention_scores"],
                                   mask) * (local["pairs"] / counts["pairs"])
        hid_shared, att_shared = self._shared_costs([hid_cost, att_cost])
        hid_flow, att_flow = self._flow(hid_shared, "hid"), self._flow(att_shared, "att")
        hid = tf.reduce_sum(hid_flow * hid_cost)
        att = tf.reduce_sum(att_flow * att_cost)
        result = {"emb_loss": emb, "hidden_loss": hid, "att_loss": att}
        state = {"att_flow": att_flow, "att_cost": att_shared, "hid_flow": hid_flow,
                 "hid_cost": hid_shared}
        if self.prediction is None:
            result["loss"] = emb + hid + att
            return ObjectiveOutput(result, state)
        predicted = self.prediction(student, teacher, inputs, targets, counts).losses
        result.update({k: v for k, v in predicted.items() if k != "loss"})
        result["loss"] = (self.beta * (self.theta * (att + hid) + emb) + predicted["loss"])
        return ObjectiveOutput(result, state)

    def after_step(self, state):
        """Updates the layer weights from this step's flows and (replica-summed) costs,
        `state` being the `ObjectiveOutput.state` of `call`.

        Returns the new weights, read after the assignments, for control dependencies.
        """
        new = {}
        for kind in ("att", "hid"):
            flow, cost = state[f"{kind}_flow"], state[f"{kind}_cost"]
            new[f"student_{kind}"], new[f"teacher_{kind}"] = update_layer_weights(
                flow, cost, self.weight(f"student_{kind}"), self.weight(f"teacher_{kind}"),
                self.weight_update, self.temperature, self.weight_floor)
        if not self.separate:
            for side in ("student", "teacher"):
                mean = (new[f"{side}_att"] + new[f"{side}_hid"]) / 2.0
                new[f"{side}_att"] = new[f"{side}_hid"] = mean
        values = tf.concat([tf.cast(new[name], self.layer_weights.dtype)
                            for name in WEIGHT_NAMES], axis=0)
        self.layer_weights.assign(values)
        return [tf.identity(self.layer_weights.value)]

    def weights_dict(self):
        """The current layer weights as plain lists (for logs and reports)."""
        values = self.layer_weights.numpy()
        return {name: [float(x) for x in values[start:end]]
                for name, (start, end) in self.slices.items()}
