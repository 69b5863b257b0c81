"""Stops `fit` after a number of steps, for fractional epochs."""

import keras


class StopAtStep(keras.callbacks.Callback):
    """Ends training once `total_steps` optimizer steps have run.

    Args:
        total_steps: int, steps after which training stops.
    """

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.total_steps:
            self.model.stop_training = True
