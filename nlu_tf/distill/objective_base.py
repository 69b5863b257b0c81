"""The protocol every training objective follows: what a stage minimises."""

from typing import NamedTuple

import keras

from nlu_tf.distill.teacher_outputs import TeacherOutputs


class ObjectiveOutput(NamedTuple):
    """What an objective returns for one batch.

    Attributes:
        losses: dict of scalar tensors: `"loss"` (minimised) and every other name of the
            objective's `loss_names` (tracked and shown).
        state: dict of tensors that `Objective.after_step` consumes (the inputs of a
            non-gradient update); empty for an objective without one.
    """

    losses: dict
    state: dict


class Objective(keras.layers.Layer):
    """Base of the stage objectives. A Keras layer, so that its own variables (TinyBERT's
    width projection, BERT-EMD's layer weights) are tracked, trained and checkpointed with
    the `Distiller` that owns it, never with the exported student.

    A subclass declares:

    - `uses_teacher`: the `Distiller` must run a teacher and pass its outputs;
    - `trains_heads`: the objective trains the intent and slot heads, so the stage's dev
      score (and best-checkpoint choice) means something;
    - `loss_names`: `"loss"` first, then the components it reports;
    - `teacher_outputs()`: the `TeacherOutputs` its `call` reads (with `uses_teacher`), so
      that a teacher-output cache stores only those;

    and implements `call(student, teacher, inputs, targets, counts) -> ObjectiveOutput`,
    `counts` being `losses.global_counts` of the batch. An objective that keeps state
    outside the gradient (BERT-EMD's layer weights) returns that update's inputs in
    `ObjectiveOutput.state` and overrides `after_step`.

    Example:

    ```python
    class SquaredIntent(Objective):
        loss_names = ("loss",)

        def call(self, student, teacher, inputs, targets, counts):
            loss = tf.reduce_sum(tf.square(student["intent_logits"])) / counts["examples"]
            return ObjectiveOutput({"loss": loss}, {})
    ```
    """

    uses_teacher = False
    trains_heads = False
    loss_names = ("loss",)

    def build(self, input_shape=None):
        self.built = True

    def teacher_outputs(self):
        """The `TeacherOutputs` that `call` reads; none for an objective without a teacher."""
        return TeacherOutputs()

    def call(self, student, teacher, inputs, targets, counts):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def after_step(self, state):
        """Applies the non-gradient update of one training step from `state`.

        Returns the updated values (a list of tensors), which the gradient computation is
        ordered after; the base objective has no such update.
        """
        del state
        return []
