"""TensorBoard curves of a training stage: every loss term, the learning rate, dev metrics.

The events are written into the run's hidden work folder while it trains (so a killed run
keeps them, and a resumed one appends to them), and travel into the model directory's
`tensorboard/` when it is written:

    tensorboard --logdir runs/snips        # every stage of a pipeline run, side by side
"""

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

LOG_FOLDER = "tensorboard"


def _scalar_metadata():
    """The metadata TensorBoard's scalar plugin reads (written with TensorFlow's core
    `tf.summary.write`: the `tensorboard` package is needed only to view the curves)."""
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    return metadata.SerializeToString()


class TensorBoardLog(keras.callbacks.Callback):
    """Writes scalars every `every` optimizer steps and at the last: `train/<loss term>`
    (Keras' running means since the last checkpoint interval began), `train/learning_rate`,
    and each new
    dev evaluation of `evaluator` as `dev/intent_acc`, `dev/slot_f1`, `dev/sentence_acc`.

    Args:
        log_dir: the events folder.
        evaluator: the stage's `DevEvaluator`, or None (a stage that trains no heads).
        every: steps between two training points.
    """

    def __init__(self, log_dir, evaluator=None, every=50):
        super().__init__()
        self._writer = tf.summary.create_file_writer(log_dir)
        self._evaluator, self._every = evaluator, max(int(every), 1)
        self._dev_written = len(evaluator.history) if evaluator else 0
        self._metadata = _scalar_metadata()

    def _scalar(self, tag, value, step):
        tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step,
                         metadata=self._metadata)

    def _train_point(self, step, logs):
        for name, value in (logs or {}).items():
            self._scalar(f"train/{name}", value, step)
        self._scalar("train/learning_rate", keras.ops.convert_to_numpy(
            self.model.optimizer.learning_rate), step)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self._last = (step, logs)
        with self._writer.as_default():
            if step % self._every == 0:
                self._train_point(step, logs)
            history = self._evaluator.history if self._evaluator else ()
            for dev_step, metrics in history[self._dev_written:]:
                for name in self._evaluator.metric_keys:
                    self._scalar(f"dev/{name}", metrics[name], dev_step)
            self._dev_written = len(history)

    def on_train_end(self, logs=None):
        step, last = getattr(self, "_last", (0, None))
        if last is not None and step % self._every:
            with self._writer.as_default():
                self._train_point(step, last)  # the last step, so a short run has a point
        self._writer.flush()
