"""Chooses a stage's objective, and the callbacks that come with it, from the run settings."""

import dataclasses

from nlu_tf.data.glue.tasks import glue_task
from nlu_tf.distill.emd_objective import EmdObjective
from nlu_tf.distill.label_objectives import LabelObjective, LabelPredictionObjective
from nlu_tf.distill.objective_base import Objective
from nlu_tf.distill.objectives import (IntermediateObjective, PredictionObjective,
                                       SupervisedObjective)
from nlu_tf.errors import InputError
from nlu_tf.training.objective_callbacks import EmdWeightLogger


@dataclasses.dataclass(frozen=True)
class StageObjective:
    """What a stage trains on.

    Attributes:
        objective: the `Objective`.
        callbacks: `ObjectiveCallback`s that watch it during the fit.
        trains_heads: whether it trains the intent and slot heads, so the stage scores
            dev and keeps the best dev checkpoint.
    """

    objective: Objective
    callbacks: tuple = ()

    @property
    def trains_heads(self):
        return self.objective.trains_heads

    def summary(self):
        """The callbacks' entries for the stage's metrics."""
        merged = {}
        for callback in self.callbacks:
            merged.update(callback.summary())
        return merged


def make_objective(settings, student, teacher):
    """The `StageObjective` of `settings.stage` for a student / teacher pair of `ModelBundle`s."""
    supervised, predicted = _HEAD_OBJECTIVES[student.model.head]
    if settings.stage == "2.0":
        return StageObjective(supervised(settings, student.model))
    d = settings.distill
    prediction = predicted(settings, student.model)
    if settings.stage == "2.2":
        return StageObjective(prediction)
    return make_mapping_objective(d, student.model.encoder, teacher.model.encoder,
                                  settings.tinybert or settings.student_model or "student",
                                  prediction if d.one_step else None, d.beta, d.theta)


def _regression(model):
    return glue_task(model.task).is_regression


# The gold-label (2.0) and prediction (2.2, BERT-EMD's L_pred) objectives of each head
# kind (`model.head`); the layer objectives read hidden states and attention only.
_HEAD_OBJECTIVES = {
    "joint": (lambda s, model: SupervisedObjective(s.slot_loss_coef, name="objective"),
              lambda s, model: PredictionObjective(s.distill.temperature, s.distill.alpha,
                                                   s.slot_loss_coef, name="prediction")),
    "sequence": (lambda s, model: LabelObjective(_regression(model), name="objective"),
                 lambda s, model: LabelPredictionObjective(
                     s.distill.temperature, s.distill.alpha, _regression(model),
                     name="prediction")),
}


def make_mapping_objective(mapping, student, teacher, source, prediction=None, beta=1.0,
                           theta=1.0):
    """The built layer-mapping `StageObjective` (stage 2.1's, and general distillation's):
    TinyBERT's uniform mapping, or BERT-EMD's with its `EmdWeightLogger`.

    Args:
        mapping: the mapping options, read from its fields `layer_mapping`,
            `emd_weight_update`, `T_emd`, `separate` and `emd_weight_floor`
            (`DistillSettings` or `GeneralDistillSettings`).
        student: the student `BertEncoder`.
        teacher: the teacher `BertEncoder`.
        source: what a head-count mismatch is reported against.
        prediction: with EMD, the objective giving L_pred of the one-step objective, or
            None; the uniform mapping ignores it.
        beta: with EMD, weight of the intermediate terms in the one-step objective.
        theta: with EMD, weight of the EMD terms against the embedding term.
    """
    if student.num_heads != teacher.num_heads:
        raise InputError(source, f"attention distillation needs as many heads as the teacher "
                                 f"({student.num_heads} vs {teacher.num_heads})")
    sizes = (student.num_layers, teacher.num_layers, student.hidden_size, teacher.hidden_size)
    if mapping.layer_mapping == "emd":
        objective = EmdObjective(*sizes, mapping.emd_weight_update, mapping.T_emd,
                                 mapping.separate, prediction, beta, theta,
                                 mapping.emd_weight_floor, name="objective")
        callbacks = (EmdWeightLogger(objective),)
    else:
        objective, callbacks = IntermediateObjective(*sizes, name="objective"), ()
    objective.build()
    return StageObjective(objective, callbacks)
