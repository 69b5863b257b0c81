"""Run settings as frozen dataclasses; the resolved settings are written next to the outputs."""

import dataclasses

from nlu_tf.choices import FallbackCharacters, LayerMapping, Stage, Strategy, names
from nlu_tf.precision import JIT_AUTO, check_jit_compile, check_precision, jit_compile_for
from nlu_tf.training.setting_checks import numeric_problems

STAGES = names(Stage)
LAYER_MAPPINGS = names(LayerMapping)
STRATEGIES = names(Strategy)


@dataclasses.dataclass(frozen=True)
class StageBudget:
    """How long and how fast one stage of a pipeline recipe trains, unless the recipe says."""

    epochs: float
    learning_rate: float


# The recipe defaults of each stage (the command lines, like the workflows they replace,
# default to `RunSettings.num_train_epochs` and `OptimizerSettings.learning_rate`).
RECIPE_BUDGETS = {"teacher": StageBudget(4.0, 2e-4), "stage_2_1": StageBudget(10.0, 5e-5),
                  "stage_2_2": StageBudget(3.0, 5e-5)}
EMD_ONE_STEP_EPOCHS = 10.0  # BERT-EMD's task distillation default
# Settings that never change what a run computes: left out when the settings of two runs
# are compared (resuming a checkpoint, skipping a complete pipeline stage), so runs
# written before a setting existed stay valid.
NOT_COMPARED = ("verbose", "teacher_cache", "teacher_cache_max_gb")


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """Where the dataset is and how it is cut into batches."""

    data_dir: str = "data"
    task: str = "snips"
    max_seq_len: int = 50
    train_batch_size: int = 32
    eval_batch_size: int = 64
    bucket_width: int = 8
    max_train_examples: int = 0  # 0: all; a small budget for demos and tests
    train_split: str = "train"  # "train_aug" for an augmented training set


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """AdamW with linear warm-up and decay, clipped by global norm."""

    learning_rate: float = 5e-5
    warmup_proportion: float = 0.1
    weight_decay: float = 0.01
    adam_epsilon: float = 1e-8
    clip_norm: float = 1.0
    # > 0: dev is scored, and the stage's model kept, with an exponential moving average of
    # the weights (Polyak averaging; each step keeps this share of the average). 0: off.
    ema_momentum: float = 0.0


@dataclasses.dataclass(frozen=True)
class DistillSettings:
    """Stage 2.1 / 2.2 / BERT-EMD options."""

    layer_mapping: str = "uniform"
    temperature: float = 1.0
    alpha: float = 0.0
    beta: float = 1.0
    theta: float = 1.0
    T_emd: float = 1.0
    emd_weight_update: str = "softmax"
    emd_weight_floor: float = 0.0  # share spread uniformly over layers; 0: published rule
    separate: bool = False
    one_step: bool = False
    student_num_layers: int = 4


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything one training stage needs."""

    stage: str = "2.0"
    output_dir: str = "outputs/teacher"
    teacher_model: str = ""
    student_model: str = ""
    tinybert: str = ""
    num_train_epochs: float = 20.0
    eval_step: int = 0  # 0: evaluate at the end of each epoch only
    seed: int = 42
    slot_loss_coef: float = 1.0
    head_dropout: float = 0.1
    mixed_precision: str = "float32"  # Keras dtype policy: float32, mixed_bfloat16, mixed_float16
    jit_compile: bool | str = JIT_AUTO  # True, False, or "auto": see `resolved_jit_compile`
    distribution_strategy: str = "default"
    checkpoint_every: int = 0  # steps between resumable checkpoints; 0: every epoch
    tensorboard: bool = True  # curves of losses, learning rate and dev in <output>/tensorboard
    verbose: int = 1
    teacher_cache: bool = True  # stages with a teacher read its outputs from a disk cache
    teacher_cache_max_gb: float = 20.0  # a larger cache is not written (the teacher runs)
    # Stage 2.1's new student keeps only the pieces its training data uses (at least
    # trim_min_count times) and the fallbacks of `trim_fallback_characters` (all or latin),
    # so it learns with the vocabulary it ships with (nlu_tf.surgery.vocab_trim).
    trim_vocab: bool = False
    trim_min_count: int = 1
    trim_fallback_characters: str = "all"
    # Plain-text files (one sentence a line) whose pieces the trimmed student keeps too: at
    # least trim_min_count times (with the data's counts), or with trim_vocab_size > 0 the
    # most used of them until the vocabulary has that many tokens.
    trim_corpus: tuple = ()
    trim_vocab_size: int = 0
    # With trim_vocab: the student keeps the teacher's whole vocabulary, and each dropped
    # piece reads its nearest kept piece's row (nlu_tf.surgery.shared_rows).
    trim_share_rows: bool = False
    # Stage 2.1's new student has a factorised token embedding of this width (0: the
    # teacher's full-width table; nlu_tf.surgery.factorise), for a smaller on-device model.
    embedding_size: int = 0
    # Stage 2.1's new student keeps this many feed-forward neurons a layer, those that
    # carry the most weight (0: all; nlu_tf.surgery.ffn_prune): more layers at one latency.
    intermediate_size: int = 0
    # 4: quantization-aware training for the int4 TFLite mode: the student's dense layers
    # and token rows are read rounded to 4 bits in the forward pass (nlu_tf.models.
    # fake_quant), the weights stay float. 0: float training.
    weight_bits: int = 0
    # Stages 2.1 and 2.2: more fine-tuned teachers (model directories) whose intent and
    # slot logits are averaged with teacher_model's; the hidden states and attention scores
    # stay teacher_model's (nlu_tf.distill.teacher_ensemble).
    extra_teachers: tuple = ()
    data: DataSettings = DataSettings()
    optimizer: OptimizerSettings = OptimizerSettings()
    distill: DistillSettings = DistillSettings()

    def __post_init__(self):
        checks = [(self.stage in STAGES, f"stage must be one of {STAGES}"),
                  (self.distill.layer_mapping in LAYER_MAPPINGS,
                   f"layer_mapping must be one of {LAYER_MAPPINGS}"),
                  (self.distribution_strategy in STRATEGIES,
                   f"distribution_strategy must be one of {STRATEGIES}"),
                  (not (self.stage == "2.2" and self.distill.layer_mapping == "emd"),
                   "stage 2.2 distils the predictions only: layer_mapping emd belongs to "
                   "stage 2.1 (with one_step for BERT-EMD's one-step objective)"),
                  (self.num_train_epochs > 0, "num_train_epochs must be positive"),
                  (0.0 <= self.distill.emd_weight_floor < 1.0,
                   "emd_weight_floor must be in [0, 1)"),
                  (self.data.max_seq_len >= 3, "max_seq_len must be at least 3"),
                  (not self.trim_vocab or (self.stage == "2.1" and not self.student_model),
                   "trim_vocab trims the new student of stage 2.1 (cut from the teacher or "
                   "--tinybert), not a --student_model or a stage "
                   f"{self.stage} model: trim one with nlu-trim-vocab"),
                  (self.trim_min_count >= 1, "trim_min_count must be at least 1"),
                  (self.trim_vocab or not (self.trim_corpus or self.trim_vocab_size
                                           or self.trim_share_rows),
                   "trim_corpus, trim_vocab_size and trim_share_rows go with trim_vocab"),
                  (isinstance(self.trim_corpus, tuple)
                   and all(isinstance(path, str) and path for path in self.trim_corpus),
                   "trim_corpus must be a tuple of file paths"),
                  (type(self.trim_vocab_size) is int and self.trim_vocab_size >= 0,
                   "trim_vocab_size must be a non-negative integer (0: no fill)"),
                  (not self.trim_vocab_size or self.trim_corpus,
                   "trim_vocab_size fills the vocabulary from trim_corpus: give one"),
                  *((not getattr(self, name) or (self.stage == "2.1" and not self.student_model),
                     f"{name} {verb} the new student of stage 2.1 (cut from the teacher or "
                     f"--tinybert), not a --student_model or a stage {self.stage} model")
                    for name, verb in (("embedding_size", "factorises"),
                                       ("intermediate_size", "narrows"))),
                  (type(self.embedding_size) is int and self.embedding_size >= 0,
                   "embedding_size must be a non-negative integer (0: not factorised)"),
                  (type(self.intermediate_size) is int and self.intermediate_size >= 0,
                   "intermediate_size must be a non-negative integer (0: the teacher's)"),
                  (self.weight_bits in (0, 4) and type(self.weight_bits) is int,
                   "weight_bits must be 0 (float) or 4 (quantization-aware for int4)"),
                  (not self.weight_bits or self.stage != "2.0",
                   "weight_bits trains a student (stages 2.1 and 2.2), not the teacher"),
                  (isinstance(self.extra_teachers, tuple)
                   and all(isinstance(path, str) and path for path in self.extra_teachers),
                   "extra_teachers must be a tuple of model directories"),
                  (not self.extra_teachers or self.stage != "2.0",
                   "extra_teachers are read by distillation (stages 2.1 and 2.2), not by "
                   "stage 2.0"),
                  (self.trim_fallback_characters in names(FallbackCharacters),
                   f"trim_fallback_characters must be one of {names(FallbackCharacters)}"),
                  (self.data.train_batch_size > 0, "train_batch_size must be positive")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        check_precision(self.mixed_precision)
        check_jit_compile(self.jit_compile)
        for message in numeric_problems(self):
            raise ValueError(message)

    @property
    def resolved_jit_compile(self):
        """Whether training and evaluation are XLA-compiled (`precision.jit_compile_for`)."""
        return jit_compile_for(self.jit_compile, self.mixed_precision)

    def to_dict(self):
        return dataclasses.asdict(self)


def comparable_settings(settings):
    """A settings dict as the settings of two runs compare (resuming a checkpoint, skipping
    a complete pipeline stage): without the `NOT_COMPARED` keys, and with the settings
    added since a run may have been written reduced to what they mean (`_normalized`)."""
    return _normalized({k: v for k, v in settings.items() if k not in NOT_COMPARED})


# Keys added to a recipe since runs were written, at the default that every run had before.
ADDED_DEFAULTS = (("trim_vocab", False), ("trim_min_count", 1),
                  ("trim_fallback_characters", "all"), ("embedding_size", 0),
                  ("trim_corpus", []), ("trim_vocab_size", 0), ("trim_share_rows", False),
                  ("intermediate_size", 0), ("ema_momentum", 0.0), ("weight_bits", 0),
                  ("extra_teachers", []))


def _normalized(value):
    # `mixed_precision` is new: float32 (its default) is what every run did before it, so
    # it compares as absent; `jit_compile` "auto" compares as what it resolves to. So do
    # the other `ADDED_DEFAULTS` at their defaults.
    if isinstance(value, (list, tuple)):
        return [_normalized(item) for item in value]
    if not isinstance(value, dict):
        return value
    value = {key: _normalized(item) for key, item in value.items()}
    precision = value.get("mixed_precision", "float32")
    if value.get("jit_compile") == JIT_AUTO:
        value["jit_compile"] = jit_compile_for(JIT_AUTO, precision)
    if precision == "float32":
        value.pop("mixed_precision", None)
    for key, default in ADDED_DEFAULTS:
        if value.get(key, default) == default:
            value.pop(key, None)
    return value
