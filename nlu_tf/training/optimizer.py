"""The optimizer of every training stage: AdamW with linear warm-up and decay."""

import contextlib

import keras

from nlu_tf.precision import loss_scaled
from nlu_tf.training.schedule import WarmupLinearDecay


def with_loss_scale(optimizer, mixed_precision):
    """`optimizer` in a `keras.optimizers.LossScaleOptimizer` under mixed_float16 (whose
    small gradients would flush to zero unscaled), else `optimizer` itself."""
    if loss_scaled(mixed_precision):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_optimizer(settings, total_steps, variables, mixed_precision="float32"):
    """AdamW over `variables` with the warm-up / decay schedule of `settings`.

    With `settings.ema_momentum` > 0 it also keeps a moving average of the variables
    (`use_ema`; `averaged_weights` puts it in place).

    Weight decay skips vectors (biases, layer-norm scales and offsets): they are chosen by
    rank, not by name, so renaming a layer cannot change training.

    Args:
        settings: an `OptimizerSettings`.
        total_steps: the steps of the run (the schedule decays to 0 at the last).
        variables: the variables it will update.
        mixed_precision: the run's policy; mixed_float16 adds dynamic loss scaling.
    """
    schedule = WarmupLinearDecay(settings.learning_rate, total_steps,
                                 int(total_steps * settings.warmup_proportion))
    optimizer = keras.optimizers.AdamW(learning_rate=schedule,
                                       weight_decay=settings.weight_decay,
                                       epsilon=settings.adam_epsilon,
                                       use_ema=settings.ema_momentum > 0,
                                       ema_momentum=settings.ema_momentum)
    optimizer.exclude_from_weight_decay(var_list=[v for v in variables if len(v.shape) < 2])
    return with_loss_scale(optimizer, mixed_precision)


@contextlib.contextmanager
def averaged_weights(optimizer, variables):
    """Within the block, `variables` (those `optimizer` updates, in its order) hold the
    optimizer's moving averages when it keeps them (`use_ema`); after it, their trained
    values again. Without averages it changes nothing."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if not getattr(inner, "use_ema", False):
        yield
        return
    trained = [v.numpy() for v in variables]
    inner.finalize_variable_values(variables)
    try:
        yield
    finally:
        for variable, value in zip(variables, trained):
            variable.assign(value)
