"""Chooses a stage's objective from the run settings."""

from nlu_tf.distill.objectives import (IntermediateObjective, PredictionObjective,
                                       SupervisedObjective)


def make_objective(settings, student, teacher):
    """The objective of `settings.stage` for a student / teacher pair of `ModelBundle`s."""
    if settings.stage == "2.0":
        return SupervisedObjective(settings.slot_loss_coef, name="objective")
    if settings.distill.layer_mapping == "emd":
        raise NotImplementedError("BERT-EMD layer mapping is not available yet")
    if settings.stage == "2.1":
        s, t = student.model.encoder, teacher.model.encoder
        objective = IntermediateObjective(s.num_layers, t.num_layers, s.hidden_size,
                                          t.hidden_size, name="objective")
        objective.build()
        return objective
    return PredictionObjective(settings.distill.temperature, settings.distill.alpha,
                               settings.slot_loss_coef, name="objective")
