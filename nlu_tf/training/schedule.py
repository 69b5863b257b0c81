"""Learning-rate schedule: linear warm-up then linear decay to zero (BERT's AdamW recipe)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nlu_tf")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from 0 to `peak` over `warmup_steps`, then falls linearly to 0 at `total_steps`.

    Args:
        peak: float, the learning rate at the end of warm-up.
        total_steps: int, steps of the whole run.
        warmup_steps: int, steps of the warm-up.
    """

    def __init__(self, peak, total_steps, warmup_steps):
        self.peak = float(peak)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = step / max(self.warmup_steps, 1)
        decay = (self.total_steps - step) / max(self.total_steps - self.warmup_steps, 1)
        factor = ops.where(step < self.warmup_steps, warm, decay)
        return self.peak * ops.clip(factor, 0.0, 1.0)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps}
