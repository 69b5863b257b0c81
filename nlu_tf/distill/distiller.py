"""The one training model: a student, an optional frozen teacher and an objective.

Stage 2.0 (fine-tuning) is the case without a teacher; stages 2.1, 2.2 and BERT-EMD differ
only in their objective. `train_step` and `test_step` are the Keras "customizing fit()"
overrides; every loss component is a tracked `keras.metrics.Mean` shown by the progress bar.

Under a mixed-precision policy the models compute in bfloat16 or float16, but the
objective sees their outputs in float32: every loss (and BERT-EMD's cost matrices) is
computed in float32. With a `keras.optimizers.LossScaleOptimizer` (float16) the loss is
scaled before the gradient and the gradients unscaled before clipping.

A batch may carry the teacher's outputs, computed once before training (a teacher-output
cache, under `inputs[TEACHER_KEY]`, float32): the step then reads them instead of running
the teacher.
"""

import keras
import tensorflow as tf

from nlu_tf.data.dataset import TEACHER_KEY
from nlu_tf.distill.losses import global_counts, sum_over_replicas
from nlu_tf.distill.objective_base import Objective
from nlu_tf.distill.teacher_outputs import restore


class Distiller(keras.Model):
    """Trains `student` on `objective`, reading a frozen `teacher` when the objective needs one.

    Args:
        student: keras.Model returning a dict of outputs (a `JointNLUModel`).
        objective: an `Objective` (losses, and an optional non-gradient update of its own
            state after each training step).
        teacher: keras.Model or None; frozen (never updated).
        clip_norm: float, gradient clipping by global norm (after the cross-replica sum).
        teacher_ids: for a student whose vocabulary differs from the teacher's (a trimmed
            one), the teacher's id of every student token id (see
            `nlu_tf.data.tokenizer.id_map`); None when they share the vocabulary.
    """

    def __init__(self, student, objective, teacher=None, clip_norm=1.0, teacher_ids=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(objective, Objective):
            raise TypeError(f"objective must be an Objective, got {type(objective).__name__}")
        if objective.uses_teacher and teacher is None:
            raise ValueError(f"{type(objective).__name__} needs a teacher")
        self.student = student
        self.objective = objective
        self.teacher = teacher
        if teacher is not None:
            teacher.trainable = False
        self.clip_norm = clip_norm
        # A plain tuple, not a tracked variable: checkpoints stay those of a shared vocabulary.
        self._teacher_ids = None if teacher_ids is None else tuple(int(i) for i in teacher_ids)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in objective.loss_names}
        self.build()

    def build(self, input_shape=None):
        for part in (self.student, self.teacher, self.objective):
            if part is not None and not part.built:
                part.build(None)
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras's own version (TF backend) pulls a batch from the distributed iterator and
        # reduces it across replicas before it looks for anything to build; under
        # MultiWorkerMirroredStrategy that reduction of a dict batch fails. Everything but
        # the optimizer is built in `__init__`, so only the optimizer is left to build.
        if self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.train_variables)

    @property
    def train_variables(self):
        """The variables the optimizer updates: the student's and the objective's."""
        return self.student.trainable_variables + self.objective.trainable_variables

    @property
    def trainable_weights(self):
        # What the end of `fit` hands to `optimizer.finalize_variable_values` (which, with
        # `use_ema`, assigns the moving averages by position): the optimizer's variables,
        # in its order, never the frozen teacher's.
        return self.train_variables

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    @property
    def teacher_ids(self):
        """The teacher's id of every student token id (a tuple), or None."""
        return self._teacher_ids

    def teacher_inputs(self, inputs):
        """The student's batch in the teacher's token ids."""
        if self._teacher_ids is None:
            return inputs
        table = tf.constant(self._teacher_ids, tf.int32)
        return {**inputs, "input_ids": tf.gather(table, inputs["input_ids"])}

    def teacher_forward(self, inputs):
        """The frozen teacher's outputs on the student's batch `inputs` (inference mode),
        in float32 whatever the precision policy."""
        return _float32(self.teacher(self.teacher_inputs(inputs), training=False))

    def _forward(self, inputs, targets, training):
        inputs = dict(inputs)
        cached = inputs.pop(TEACHER_KEY, None)
        if cached is not None:
            teacher_out = restore(cached)
        else:
            teacher_out = self.teacher_forward(inputs) if self.teacher is not None else None
        student_out = _float32(self.student(inputs, training=training))
        counts = global_counts(inputs, targets)
        return self.objective(student_out, teacher_out, inputs, targets, counts)

    def _clipped(self, grads):
        # Dense: the norm of an embedding's IndexedSlices counts repeated tokens apart.
        grads = [tf.convert_to_tensor(g) for g in grads]
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas > 1:
            # Keras clips before its cross-replica sum; clip the global gradient instead.
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        if self.clip_norm:
            grads, _ = tf.clip_by_global_norm(grads, self.clip_norm)
        return [g / replicas for g in grads] if replicas > 1 else grads

    def train_step(self, data):
        inputs, targets = data
        variables = self.train_variables
        scale = self._loss_scale()
        with tf.GradientTape() as tape:
            output = self._forward(inputs, targets, training=True)
            target = output.losses["loss"] if scale is None else output.losses["loss"] * scale
        losses = output.losses
        # The non-gradient update (BERT-EMD layer weights) runs first: its inputs are
        # constants of this step's loss, and ordering it before the gradient all-reduce
        # keeps the replicas' collectives in one order.
        updated = self.objective.after_step(output.state)
        with tf.control_dependencies(updated):
            grads = tape.gradient(target, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
        if scale is None:
            self.optimizer.apply(self._clipped(grads), variables)
        else:
            # Clipping needs the true gradients; the loss-scale optimizer unscales again
            # (exact: the scale is a power of 2) and skips a step whose gradients are not
            # finite, halving the scale.
            clipped = self._clipped([g / scale for g in grads])
            self.optimizer.apply([g * scale for g in clipped], variables)
        return self._track(losses)

    def _loss_scale(self):
        """The dynamic loss scale of a `LossScaleOptimizer` (float16), else None."""
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            if not self.optimizer.built:
                self.optimizer.build(self.train_variables)
            return tf.cast(self.optimizer.dynamic_scale, tf.float32)
        return None

    def test_step(self, data):
        inputs, targets = data
        output = self._forward(inputs, targets, training=False)
        return self._track(output.losses)

    def _track(self, losses):
        # Each replica's losses are its share of the global batch's (local sums over global
        # counts): their sum over the replicas is the loss of the whole batch.
        names = list(self.trackers)
        totals = sum_over_replicas(tf.stack([losses[name] for name in names]))
        for i, name in enumerate(names):
            self.trackers[name].update_state(totals[i])
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if _replicas_in_other_processes():
            # Keras reduces a multi-worker step's logs with `strategy.reduce(MEAN, axis=0)`,
            # which needs an axis to reduce: one entry per replica.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results


def _float32(outputs):
    """A model's outputs (a dict of tensors and lists of tensors) in float32."""
    return keras.tree.map_structure(lambda tensor: tf.cast(tensor, tf.float32), outputs)


def _replicas_in_other_processes():
    """True in a replica context whose strategy has replicas beyond this process's devices."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return False
    return len(context.strategy.extended.worker_devices) < context.num_replicas_in_sync
