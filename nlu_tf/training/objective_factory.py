"""Chooses a stage's objective, and the callbacks that come with it, from the run settings."""

import dataclasses

from nlu_tf.distill.emd_objective import EmdObjective
from nlu_tf.distill.objective import Objective
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
    s, t = student.model.encoder, teacher.model.encoder
    if s.num_heads != t.num_heads:
        raise InputError(settings.tinybert or settings.student_model or "student",
                         f"attention distillation needs as many heads as the teacher "
                         f"({s.num_heads} vs {t.num_heads})")
    if d.layer_mapping == "emd":
        objective = EmdObjective(s.num_layers, t.num_layers, s.hidden_size, t.hidden_size,
                                 d.emd_weight_update, d.T_emd, d.separate,
                                 prediction if d.one_step else None,
                                 d.beta, d.theta, d.emd_weight_floor, name="objective")
        callbacks = (EmdWeightLogger(objective),)
    else:
        objective = IntermediateObjective(s.num_layers, t.num_layers, s.hidden_size,
                                          t.hidden_size, name="objective")
        callbacks = ()
    objective.build()
    return StageObjective(objective, callbacks)
