"""A training run stopped part way, as a kill would stop it: `kill_at_step(n)` raises
`Interrupt` once the optimizer has taken `n` steps."""


class Interrupt(Exception):
    """Raised by `kill_at_step` callbacks."""


def kill_at_step(step):
    """A Keras callback that raises `Interrupt` after optimizer step `step`."""
    import keras

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == step:
                raise Interrupt()

    return KillAtStep()
