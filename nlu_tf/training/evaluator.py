"""Dev-set evaluation during training and best-checkpoint selection."""

import contextlib
import logging

import keras

from nlu_tf.decoding import keras_logits_fn, predict, score
from nlu_tf.metrics import is_better

logger = logging.getLogger(__name__)


class DevEvaluator(keras.callbacks.Callback):
    """Scores the student on dev every `eval_step` steps and at each epoch end; keeps the best.

    Steps are counted by the optimizer, so a resumed run evaluates at the same steps.

    The best weights (highest sentence accuracy, ties by slot F1) are held in memory as
    numpy arrays; `history` lists `(step, metrics)` for plots.

    Args:
        student: the model being trained.
        examples: dev `Example`s (gold strings).
        features: their `Features`.
        labels: the model's `LabelMaps`.
        eval_step: evaluate every this many steps (0: at epoch ends only).
        batch_size: evaluation batch size.
        jit_compile: compile the evaluation graph with XLA.
        steps_per_epoch: steps of one pass over the training data (evaluated at its end).
        total_steps: the last step of the run (always evaluated).
        scored_weights: a function returning a context manager within which the student
            holds the weights to score and keep (`optimizer.averaged_weights`), or None:
            the trained weights.
    """

    # The metrics logged per evaluation (TensorBoard); a GLUE task's are its own.
    metric_keys = ("intent_acc", "slot_f1", "sentence_acc")

    def __init__(self, student, examples, features, labels, eval_step=0, batch_size=64,
                 jit_compile=True, steps_per_epoch=0, total_steps=0, scored_weights=None):
        super().__init__()
        self.student = student
        self.examples = examples
        self.features = features
        self.labels = labels
        self.eval_step = eval_step
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = total_steps
        self.logits_fn = keras_logits_fn(student, jit_compile)
        self.scored_weights = scored_weights or contextlib.nullcontext
        self.step = 0
        self.best = None
        self.best_step = None
        self.best_weights = None
        self.history = []

    def evaluate(self):
        """Scores the current weights on dev and records them if they are the best so far."""
        with self.scored_weights():
            metrics = self.score()
            improved = self.better(metrics)
            if improved:
                self.best, self.best_step = metrics, self.step
                self.best_weights = [w.numpy() for w in self.student.weights]
        self.history.append((self.step, metrics))
        print(f"\ndev @ step {self.step}: {self.describe(metrics)}"
              + ("  (best)" if improved else ""), flush=True)
        return metrics

    # The three task-specific hooks (a GLUE task overrides them: `GlueDevEvaluator`).
    def score(self):
        """The dev metrics of the student's current weights."""
        return score(self.examples, predict(self.logits_fn, self.features, self.labels,
                                            self.batch_size))

    def better(self, metrics):
        """Whether `metrics` beat the best so far (`self.best`, None at first)."""
        return is_better(metrics, self.best)

    @staticmethod
    def describe(metrics):
        """The metrics as the progress line shows them."""
        return (f"intent_acc {metrics['intent_acc']:.4f}  slot_f1 {metrics['slot_f1']:.4f}  "
                f"sentence_acc {metrics['sentence_acc']:.4f}")

    def on_train_batch_end(self, batch, logs=None):
        self.step = int(self.model.optimizer.iterations.numpy())
        due = [self.eval_step, self.steps_per_epoch]
        if any(every and self.step % every == 0 for every in due) or self.step == self.total_steps:
            self.evaluate()

    def state(self):
        """What a checkpoint keeps of the evaluator (the best weights are saved apart)."""
        return {"best": self.best, "best_step": self.best_step,
                "history": [[step, metrics] for step, metrics in self.history]}

    def load_state(self, state, best_weights):
        """Restores `state()` and the best weights from a checkpoint."""
        self.best, self.best_step = state["best"], state["best_step"]
        self.history = [(step, metrics) for step, metrics in state["history"]]
        self.best_weights = best_weights

    def restore_best(self):
        """Loads the best weights seen into the student."""
        if self.best_weights is not None:
            for variable, value in zip(self.student.weights, self.best_weights):
                variable.assign(value)
