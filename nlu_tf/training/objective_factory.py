"""Chooses a stage's objective from the run settings."""

from nlu_tf.errors import InputError
from nlu_tf.distill.emd_objective import EmdObjective
from nlu_tf.distill.objectives import (IntermediateObjective, PredictionObjective,
                                       SupervisedObjective)


def make_objective(settings, student, teacher):
    """The objective of `settings.stage` for a student / teacher pair of `ModelBundle`s."""
    if settings.stage == "2.0":
        return SupervisedObjective(settings.slot_loss_coef, name="objective")
    d = settings.distill
    prediction = PredictionObjective(d.temperature, d.alpha, settings.slot_loss_coef,
                                     name="prediction")
    if settings.stage == "2.2" and d.layer_mapping != "emd":
        return prediction
    s, t = student.model.encoder, teacher.model.encoder
    if s.num_heads != t.num_heads:
        raise InputError(settings.tinybert or settings.student_model or "student",
                         f"attention distillation needs as many heads as the teacher "
                         f"({s.num_heads} vs {t.num_heads})")
    if d.layer_mapping == "emd":
        objective = EmdObjective(s.num_layers, t.num_layers, s.hidden_size, t.hidden_size,
                                 d.emd_weight_update, d.T_emd, d.separate,
                                 prediction if d.one_step else None,
                                 d.beta, d.theta, name="objective")
    else:
        objective = IntermediateObjective(s.num_layers, t.num_layers, s.hidden_size,
                                          t.hidden_size, name="objective")
    objective.build()
    return objective
