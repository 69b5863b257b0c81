"""Run settings as frozen dataclasses, each setting declared once (`setting_fields`): its
default, help, recipe key, flag and checks; the resolved settings are written next to the
outputs."""

import dataclasses

from nlu_tf.choices import (EmdWeightUpdate, FallbackCharacters, LayerMapping, Stage, Strategy,
                            names)
from nlu_tf.precision import JIT_AUTO, PRECISIONS, jit_compile_for
from nlu_tf.training.setting_fields import (FINITE_NON_NEGATIVE, FINITE_POSITIVE, NO_FLAG,
                                            NON_NEGATIVE, PATHS, POSITIVE, SHARE, at_least,
                                            check_fields, compared_values, from_stored,
                                            section, setting)

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


def jit_compile_setting(help):
    """The `jit_compile` setting of a training run (`RunSettings`, `GeneralDistillSettings`):
    True, False, or "auto" (the default, also when its True / False flag is unset), which
    compares as what it resolves to, so runs written with true / false still match."""
    return setting(JIT_AUTO, help, flag_type=bool,
                   check=(lambda v: isinstance(v, bool) or v == JIT_AUTO,
                          f"true, false or {JIT_AUTO}"),
                   compared=lambda settings: settings.resolved_jit_compile)


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """Where the dataset is and how it is cut into batches."""

    data_dir: str = setting("data", "Dataset root (holds <task>/) or a dataset folder.")
    task: str = setting("snips", "Dataset under --data_dir (any name, e.g. snips or atis), "
                                 "or a GLUE task (e.g. MRPC).")
    max_seq_len: int = setting(50, "Longest token sequence, specials included.",
                               check=at_least(3, "at least 3"))
    train_batch_size: int = setting(32, "Global training batch size.", check=POSITIVE)
    eval_batch_size: int = setting(64, "Evaluation batch size.", check=POSITIVE)
    bucket_width: int = setting(8, "A batch is padded to its longest utterance rounded up "
                                   "to a multiple of this many tokens.", flag=NO_FLAG)
    max_train_examples: int = setting(
        0, "Use only the first N training utterances (0: all).", check=NON_NEGATIVE)
    train_split: str = setting("train", "The training split: train, or train_aug for an "
                                        "augmented set (--aug_train).", flag=NO_FLAG)

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """AdamW with linear warm-up and decay, clipped by global norm."""

    learning_rate: float = setting(5e-5, "Peak AdamW learning rate.", check=FINITE_POSITIVE)
    warmup_proportion: float = setting(
        0.1, "Share of steps warming up.",
        check=(lambda v: FINITE_NON_NEGATIVE[0](v) and v <= 1, "in [0, 1]"))
    weight_decay: float = setting(0.01, "AdamW weight decay.", check=FINITE_NON_NEGATIVE)
    adam_epsilon: float = setting(1e-8, "AdamW's epsilon.", flag=NO_FLAG)
    clip_norm: float = setting(1.0, "Gradient clipping by global norm.", flag="max_grad_norm",
                               check=(FINITE_NON_NEGATIVE[0],
                                      "a finite number >= 0 (0: no clipping)"))
    # Polyak averaging: dev is scored, and the stage's model kept, with the average.
    ema_momentum: float = setting(
        0.0, "Score dev and keep the model with a moving average of the weights (each step "
             "keeps this share of it, e.g. 0.995); 0: off.",
        check=(SHARE[0], "in [0, 1) (0: no weight averaging)"))

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class DistillSettings:
    """Stage 2.1 / 2.2 / BERT-EMD options."""

    layer_mapping: str = setting(
        "uniform", "Stage 2.1 layer mapping: TinyBERT's uniform g(m)=m*N/M, or BERT-EMD.",
        choices=LAYER_MAPPINGS)
    temperature: float = setting(1.0, "Stage 2.2 softmax temperature.", check=FINITE_POSITIVE)
    alpha: float = setting(0.0, "Stage 2.2 weight of the gold-label loss (0: pure "
                                "distillation).")
    beta: float = setting(1.0, "BERT-EMD one-step: weight of the intermediate terms.")
    theta: float = setting(1.0, "BERT-EMD one-step: weight of the EMD terms vs embeddings.")
    T_emd: float = setting(1.0, "BERT-EMD: temperature of the softmax weight update.")
    emd_weight_update: str = setting(
        "softmax", "BERT-EMD layer-weight update: softmax with --T_emd (paper) or "
                   "sum-normalisation.", choices=names(EmdWeightUpdate))
    emd_weight_floor: float = setting(
        0.0, "BERT-EMD: share in [0, 1) of the layer weights spread uniformly after each "
             "update, so no layer falls below emd_weight_floor / layers (0: the published "
             "rule, which can put all weight on one layer).", check=SHARE)
    separate: bool = setting(False, "BERT-EMD: keep attention and hidden-state layer weights "
                                    "apart (else averaged).")
    one_step: bool = setting(False, "BERT-EMD one-step objective: beta*(theta*(L_att+L_hid)"
                                    "+L_emb) + L_pred.", flag="emd_one_step")

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class StudentSettings:
    """The shape of the student a distillation stage trains: its depth and width, the
    width of its token embedding, the bits its weights are read at."""

    num_layers: int = setting(4, "Blocks of a student cut from the teacher (when --tinybert "
                                 "is empty).", flag="student_num_layers")
    intermediate_size: int = setting(
        0, "Stage 2.1: the new student keeps this many feed-forward neurons in each layer, "
           "those with the largest weight norms (in times out), for more layers at the same "
           "latency. 0: all of the teacher's.",
        check=(NON_NEGATIVE[0], "a non-negative integer (0: the teacher's)"))
    embedding_size: int = setting(
        0, "Stage 2.1: the new student's token embedding is factorised into a (vocab, N) "
           "table and an (N, hidden) projection, started from the teacher's table by "
           "truncated SVD (a smaller on-device model; with --trim_vocab, after trimming). "
           "0: the full-width table.",
        check=(NON_NEGATIVE[0], "a non-negative integer (0: not factorised)"))
    weight_bits: int = setting(
        0, "4: quantization-aware training for `nlu-convert --quantization int4`: the "
           "student's dense layers and token rows are read rounded to 4 bits in the forward "
           "pass (dev is scored that way too); the weights stay float. 0: float training.",
        check=(lambda v: type(v) is int and v in (0, 4),
               "0 (float) or 4 (quantization-aware for int4)"))

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class TrimSettings:
    """Which vocabulary pieces a trimmed student keeps (stage 2.1's new student, or the
    pipeline's export): those its training data uses, and optionally a corpus's."""

    enabled: bool = setting(
        False, "Stage 2.1: the new student (cut from the teacher or --tinybert) keeps only the "
               "pieces its training data uses, and learns with that vocabulary (a smaller "
               "embedding; see nlu-trim-vocab).", key="trim_vocab")
    min_count: int = setting(1, "With --trim_vocab: a used piece is kept if it occurs this "
                                "often.", key="trim_min_count", check=at_least(1, ">= 1"))
    fallback_characters: str = setting(
        "all", "With --trim_vocab: single-character pieces kept (all, or latin plus those the "
               "data uses).", key="trim_fallback_characters",
        choices=names(FallbackCharacters))
    corpus: tuple = setting((), "With --trim_vocab: a plain-text file (one sentence a line) "
                                "whose pieces are kept too; repeat for several.",
                            key="trim_corpus", check=PATHS)
    vocab_size: int = setting(
        0, "With --trim_vocab and --trim_corpus: keep the training data's pieces, then the "
           "corpora's most used ones up to this many tokens (0: the corpora count with the "
           "data, --trim_min_count).", key="trim_vocab_size",
        check=(NON_NEGATIVE[0], "a non-negative integer (0: no fill)"))
    share_rows: bool = setting(
        False, "With --trim_vocab: keep the teacher's whole vocabulary; each dropped piece "
               "reads the row of its nearest kept piece, so test words are split as the "
               "teacher splits them (an int32 map, 4 bytes a piece).", key="trim_share_rows")

    def __post_init__(self):
        check_fields(self)
        for key, value in (("trim_corpus", self.corpus), ("trim_vocab_size", self.vocab_size),
                           ("trim_share_rows", self.share_rows)):
            if value and not self.enabled:
                raise ValueError(f"{key} goes with trim_vocab")
        if self.vocab_size and not self.corpus:
            raise ValueError("trim_vocab_size fills the vocabulary from trim_corpus: give one")


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything one training stage needs."""

    stage: str = setting(
        "2.0", "2.0: fine-tune the teacher on gold labels; 2.1: intermediate-layer "
               "distillation (embeddings, hidden states, pre-softmax attention; no labels); "
               "2.2: prediction-layer distillation. Stages 2.0 and 2.2 keep the best dev "
               "checkpoint, chosen by sentence accuracy with ties broken by slot F1.",
        choices=STAGES)
    output_dir: str = setting("outputs/teacher", "Where the model directory is written "
                                                 "(atomically, at the end).")
    teacher_model: str = setting(
        "", "Stage 2.0: a Hugging Face BERT directory (or an nlu_tf model directory) to "
            "fine-tune. Stages 2.1/2.2: the fine-tuned teacher (a stage 2.0 output).")
    student_model: str = setting("", "Stage 2.2: the stage 2.1 output to continue from.")
    tinybert: str = setting(
        "", "Stage 2.1: a general TinyBERT checkpoint (Hugging Face layout) as the student; "
            "empty: cut the student from the teacher (--student_num_layers).")
    num_train_epochs: float = setting(20.0, "Training epochs (may be fractional).",
                                      check=FINITE_POSITIVE)
    eval_step: int = setting(0, "Evaluate on dev every N steps (0: at epoch ends).",
                             check=NON_NEGATIVE)
    seed: int = setting(42, "Random seed: same seed, same data, same metrics.")
    slot_loss_coef: float = setting(1.0, "Weight of the slot loss.")
    head_dropout: float = setting(0.1, "Dropout before the intent and slot heads.",
                                  key="dropout", flag="dropout_rate", check=SHARE)
    mixed_precision: str = setting(
        "float32", "Keras dtype policy to train in: float32, mixed_bfloat16 (fast on CPUs with "
                   "AVX512-BF16 or AMX) or mixed_float16 (with loss scaling). Variables, "
                   "losses and the saved model stay float32.", choices=PRECISIONS)
    jit_compile: bool | str = jit_compile_setting(
        "XLA-compile training and evaluation. Unset: auto, on for float32 and off for "
        "mixed_bfloat16 / mixed_float16 (TensorFlow's oneDNN kernels use the CPU's bf16 units, "
        "XLA's do not); --jit_compile / --nojit_compile decide.")
    distribution_strategy: str = setting(
        "default", "tf.distribute strategy; the global batch is split across replicas.",
        choices=STRATEGIES)
    checkpoint_every: int = setting(
        0, "Steps between resumable checkpoints (0: every epoch). A killed run resumes from "
           "the last one when the same command runs again.", check=NON_NEGATIVE)
    # Never change what a run computes, so runs that differ in them compare equal (a run
    # written before `tensorboard` existed is the same run with curves off).
    tensorboard: bool = setting(
        True, "Write TensorBoard curves (every loss term, the learning rate, dev metrics) "
              "into <output_dir>/tensorboard.", compared=False)
    verbose: int = setting(1, "Keras fit verbosity: 0 silent, 1 a progress bar (a line per "
                              "epoch when not on a terminal), 2 a line per epoch.",
                           flag=NO_FLAG, compared=False)
    teacher_cache: bool = setting(
        True, "Stages 2.1 and 2.2: compute the frozen teacher's outputs once, into the run's "
              "work folder on disk, and read them every epoch instead of running the teacher "
              "(same losses; removed when the stage ends).", compared=False)
    teacher_cache_max_gb: float = setting(
        20.0, "Largest teacher-output cache written, in GB; a larger one (or one over the "
              "free disk space) is skipped with one log line.", compared=False,
        check=FINITE_POSITIVE)
    # nlu_tf.distill.teacher_ensemble: the hidden states and attention scores stay
    # teacher_model's.
    extra_teachers: tuple = setting(
        (), "Stages 2.1 and 2.2: another fine-tuned teacher (a stage 2.0 output with "
            "--teacher_model's vocabulary and labels); the student learns from the mean of "
            "the teachers' logits, and stage 2.1 from --teacher_model's layers. Repeat for "
            "several.", flag="extra_teacher",
        check=(PATHS[0], "a tuple of model directories"))
    data: DataSettings = section(DataSettings)
    optimizer: OptimizerSettings = section(OptimizerSettings)
    distill: DistillSettings = section(DistillSettings)
    student: StudentSettings = section(StudentSettings)
    trim: TrimSettings = section(TrimSettings)

    def __post_init__(self):
        check_fields(self)
        new_student = self.stage == "2.1" and not self.student_model
        checks = [(not (self.stage == "2.2" and self.distill.layer_mapping == "emd"),
                   "stage 2.2 distils the predictions only: layer_mapping emd belongs to "
                   "stage 2.1 (with one_step for BERT-EMD's one-step objective)"),
                  (not self.trim.enabled or new_student,
                   "trim_vocab trims the new student of stage 2.1 (cut from the teacher or "
                   "--tinybert), not a --student_model or a stage "
                   f"{self.stage} model: trim one with nlu-trim-vocab"),
                  *((not getattr(self.student, name) or new_student,
                     f"{name} {verb} the new student of stage 2.1 (cut from the teacher or "
                     f"--tinybert), not a --student_model or a stage {self.stage} model")
                    for name, verb in (("embedding_size", "factorises"),
                                       ("intermediate_size", "narrows"))),
                  (not self.student.weight_bits or self.stage != "2.0",
                   "weight_bits trains a student (stages 2.1 and 2.2), not the teacher"),
                  (not self.extra_teachers or self.stage != "2.0",
                   "extra_teachers are read by distillation (stages 2.1 and 2.2), not by "
                   "stage 2.0")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def resolved_jit_compile(self):
        """Whether training and evaluation are XLA-compiled (`precision.jit_compile_for`)."""
        return jit_compile_for(self.jit_compile, self.mixed_precision)

    def to_dict(self):
        return dataclasses.asdict(self)


def comparable_settings(stored):
    """What the settings of two runs compare (resuming a checkpoint, skipping a complete
    pipeline stage), from a stored `RunSettings` dict: read back by
    `setting_fields.from_stored` (settings added since take their defaults, settings moved
    since are found by their flag names), without what never changes a run's results,
    and with what the stored dict holds that no setting reads.

    Raises:
        ValueError: the stored values are not valid settings.
    """
    settings, unread = from_stored(RunSettings, stored)
    return {**compared_values(settings), **({"unread": unread} if unread else {})}


def same_run(stored, settings):
    """Whether two `RunSettings` dicts (one stored, one asked for now) describe the same
    run (`comparable_settings`); False when one is not valid settings."""
    try:
        return comparable_settings(stored) == comparable_settings(settings)
    except ValueError:
        return False
