"""Numeric checks of run settings: values that would train silently into NaN or nothing."""

import math

from nlu_tf.errors import quote


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def numeric_problems(settings):
    """The problems of a `RunSettings`' numbers, as messages (empty when all is well).

    Learning rate finite and > 0; dropout in [0, 1); epochs finite and > 0; batch sizes
    positive; `max_train_examples` >= 0; warm-up share in [0, 1]; weight decay, clipping
    norm, `checkpoint_every` and `eval_step` >= 0; `ema_momentum` in [0, 1); distillation
    temperature and the teacher-cache limit finite and > 0.
    """
    o, d, x = settings.optimizer, settings.data, settings.distill
    checks = [
        (_finite(o.learning_rate) and o.learning_rate > 0, "learning_rate", o.learning_rate,
         "a finite number > 0"),
        (_finite(settings.head_dropout) and 0 <= settings.head_dropout < 1, "dropout",
         settings.head_dropout, "in [0, 1)"),
        (_finite(settings.num_train_epochs) and settings.num_train_epochs > 0,
         "num_train_epochs", settings.num_train_epochs, "a finite number > 0"),
        (d.train_batch_size > 0, "train_batch_size", d.train_batch_size, "positive"),
        (d.eval_batch_size > 0, "eval_batch_size", d.eval_batch_size, "positive"),
        (d.max_train_examples >= 0, "max_train_examples", d.max_train_examples, ">= 0"),
        (_finite(o.warmup_proportion) and 0 <= o.warmup_proportion <= 1, "warmup_proportion",
         o.warmup_proportion, "in [0, 1]"),
        (_finite(o.weight_decay) and o.weight_decay >= 0, "weight_decay", o.weight_decay,
         "a finite number >= 0"),
        (_finite(o.clip_norm) and o.clip_norm >= 0, "max_grad_norm", o.clip_norm,
         "a finite number >= 0 (0: no clipping)"),
        (_finite(o.ema_momentum) and 0 <= o.ema_momentum < 1, "ema_momentum", o.ema_momentum,
         "in [0, 1) (0: no weight averaging)"),
        (_finite(x.temperature) and x.temperature > 0, "temperature", x.temperature,
         "a finite number > 0"),
        (settings.checkpoint_every >= 0, "checkpoint_every", settings.checkpoint_every, ">= 0"),
        (settings.eval_step >= 0, "eval_step", settings.eval_step, ">= 0"),
        (_finite(settings.teacher_cache_max_gb) and settings.teacher_cache_max_gb > 0,
         "teacher_cache_max_gb", settings.teacher_cache_max_gb, "a finite number > 0"),
    ]
    return [f"{name} must be {wanted}, got {quote(value)}"
            for ok, name, value, wanted in checks if not ok]
