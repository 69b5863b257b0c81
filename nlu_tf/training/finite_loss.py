"""Stops training at the first step whose loss is NaN or infinite."""

import math

import keras

from nlu_tf.errors import RunError


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises `RunError` naming the step as soon as the loss stops being finite.

    Unlike `keras.callbacks.TerminateOnNaN`, which ends `fit` normally, this raises: the
    caller never writes a model directory or a checkpoint from weights that are NaN. It
    must come first among the callbacks, so that no later one saves this step's weights.

    Args:
        where: the stage or output directory, named in the error.
    """

    def __init__(self, where=""):
        super().__init__()
        self.where = where

    def on_train_batch_end(self, batch, logs=None):
        # The logged loss is the running mean of the Keras epoch: it turns non-finite at the
        # first step whose own loss does, and stays so.
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            step = int(self.model.optimizer.iterations.numpy())
            raise RunError(f"{self.where + ': ' if self.where else ''}the training loss became "
                           f"{loss} at step {step}; stopped, nothing written (lower the "
                           "learning rate, or check the data and the checkpoint)")
