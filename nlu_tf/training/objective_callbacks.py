"""Keras callbacks that belong to an objective: they watch its state during training and
hand a summary to the stage's metrics."""

import keras


class ObjectiveCallback(keras.callbacks.Callback):
    """A callback whose `summary()` joins the stage's `metrics.json`."""

    def summary(self):
        """JSON-ready entries for the stage's metrics (none by default)."""
        return {}


class EmdWeightLogger(ObjectiveCallback):
    """Prints the BERT-EMD layer weights at the end of each Keras epoch and keeps their history.

    Args:
        objective: the `EmdObjective` being trained.
    """

    def __init__(self, objective):
        super().__init__()
        self.objective = objective
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        weights = self.objective.weights_dict()
        self.history.append({"step": step, **weights})
        shown = "  ".join(f"{name} [{' '.join(f'{w:.3f}' for w in values)}]"
                          for name, values in weights.items())
        print(f"\nEMD layer weights @ step {step}: {shown}", flush=True)

    def summary(self):
        return {"emd_layer_weights": self.objective.weights_dict(),
                "emd_weight_history": self.history}
