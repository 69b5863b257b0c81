"""Settings of a general-distillation run (frozen; written beside the student it makes)."""

import dataclasses

from nlu_tf.choices import EmdWeightUpdate, names
from nlu_tf.precision import JIT_AUTO, check_jit_compile, check_precision, jit_compile_for
from nlu_tf.training.settings import LAYER_MAPPINGS, STRATEGIES, OptimizerSettings


@dataclasses.dataclass(frozen=True)
class GeneralDistillSettings:
    """Everything `general_distill` needs.

    `optimizer` holds BERT's AdamW recipe (peak `learning_rate`, warm-up share, weight
    decay, clipping); the EMD fields apply with `layer_mapping` "emd" only.
    """

    pregenerated_data: str = ""
    teacher_model: str = ""
    student_model: str = ""
    output_dir: str = "outputs/general_student"
    num_train_epochs: int = 3
    max_steps: int = 0  # stop after this many steps (0: every epoch); the schedule spans them
    held_out_data: str = ""  # pregenerated held-out epoch: losses to the teacher before/after
    train_batch_size: int = 32
    layer_mapping: str = "uniform"
    T_emd: float = 1.0
    emd_weight_update: str = "softmax"
    emd_weight_floor: float = 0.0
    separate: bool = False
    seed: int = 42
    mixed_precision: str = "float32"  # Keras dtype policy: float32, mixed_bfloat16, mixed_float16
    jit_compile: bool | str = JIT_AUTO  # True, False, or "auto": see `resolved_jit_compile`
    distribution_strategy: str = "default"
    checkpoint_every: int = 0  # steps between resumable checkpoints; 0: every epoch
    tensorboard: bool = True  # curves of the losses and learning rate in <output>/tensorboard
    shuffle_buffer: int = 10_000
    verbose: int = 1
    optimizer: OptimizerSettings = OptimizerSettings()

    def __post_init__(self):
        checks = [(self.num_train_epochs > 0, "num_train_epochs must be positive"),
                  (self.train_batch_size > 0, "train_batch_size must be positive"),
                  (self.max_steps >= 0, "max_steps must be >= 0"),
                  (self.layer_mapping in LAYER_MAPPINGS,
                   f"layer_mapping must be one of {LAYER_MAPPINGS}"),
                  (self.emd_weight_update in names(EmdWeightUpdate),
                   "emd_weight_update must be softmax or sum"),
                  (self.T_emd > 0, "T_emd must be positive"),
                  (0.0 <= self.emd_weight_floor < 1.0, "emd_weight_floor must be in [0, 1)"),
                  (self.distribution_strategy in STRATEGIES,
                   f"distribution_strategy must be one of {STRATEGIES}"),
                  (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
                  (self.shuffle_buffer > 0, "shuffle_buffer must be positive")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        check_precision(self.mixed_precision)
        check_jit_compile(self.jit_compile)

    @property
    def resolved_jit_compile(self):
        """Whether the train step is XLA-compiled (`precision.jit_compile_for`)."""
        return jit_compile_for(self.jit_compile, self.mixed_precision)

    def to_dict(self):
        return dataclasses.asdict(self)
