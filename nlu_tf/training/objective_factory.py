"""Chooses a stage's objective, and the callbacks that come with it, from the run settings."""

import dataclasses

from nlu_tf.distill.emd_objective import EmdObjective
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
    if settings.stage == "2.0":
        return StageObjective(SupervisedObjective(settings.slot_loss_coef, name="objective"))
    d = settings.distill
    prediction = PredictionObjective(d.temperature, d.alpha, settings.slot_loss_coef,
                                     name="prediction")
    if settings.stage == "2.2":
        return StageObjective(prediction)
    return make_mapping_objective(d, student.model.encoder, teacher.model.encoder,
                                  settings.tinybert or settings.student_model or "student",
                                  prediction if d.one_step else None, d.beta, d.theta)


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
