"""Settings of the pretraining commands, each setting declared once (`setting_fields`): its
default, help (what `--help` of BERT-EMD's command line prints), flag and check.

`PregenerateSettings` (nlu-pregenerate-training-data) are hashed into the fingerprint of
the pregenerated epochs by field name; `GeneralDistillSettings` (nlu-general-distill) are
written beside the student it makes and in its resumable checkpoint.
"""

import dataclasses

from nlu_tf.choices import EmdWeightUpdate, names
from nlu_tf.precision import PRECISIONS, jit_compile_for
from nlu_tf.training.setting_fields import (FINITE_POSITIVE, NO_FLAG, NON_NEGATIVE, POSITIVE,
                                            SHARE, at_least, check_fields, help_of, section,
                                            setting)
from nlu_tf.training.settings import (LAYER_MAPPINGS, STRATEGIES, OptimizerSettings,
                                      RunSettings, jit_compile_setting)

@dataclasses.dataclass(frozen=True)
class PregenerateSettings:
    """Options of `pregenerate` (BERT-EMD's flag names)."""

    epochs_to_generate: int = setting(3, "Epochs of data, each masked afresh.", check=POSITIVE)
    max_seq_len: int = setting(128, "Tokens per example, specials included.",
                               check=at_least(5, "at least 5"))
    short_seq_prob: float = setting(
        0.1, "Chance of a shorter target length.",
        check=(lambda v: isinstance(v, (int, float)) and 0.0 <= v <= 1.0, "in [0, 1]"))
    masked_lm_prob: float = setting(
        0.15, "Share of tokens masked.",
        check=(lambda v: isinstance(v, (int, float)) and 0.0 < v < 1.0, "in (0, 1)"))
    max_predictions_per_seq: int = setting(20, "Most masked tokens per example.", check=POSITIVE)
    whole_word_mask: bool = setting(False, "Mask whole words, not pieces.",
                                    flag="do_whole_word_mask")
    # Left out of the fingerprint: streaming changes where the corpus waits, not the output.
    reduce_memory: bool = setting(False, "Stream the tokenized corpus through temporary files "
                                         "instead of memory.")
    shard_size: int = setting(100_000, "Examples per TFRecord shard.", check=POSITIVE)
    seed: int = setting(42, "Random seed: same seed, same files.")

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class GeneralDistillSettings:
    """Everything `general_distill` needs.

    `optimizer` holds BERT's AdamW recipe (peak `learning_rate`, warm-up share, weight
    decay, clipping); the EMD fields apply with `layer_mapping` "emd" only.
    """

    # nlu-general-distill requires the four paths; their defaults serve the library's callers.
    pregenerated_data: str = setting("", "Output of pregenerate_training_data.py.")
    teacher_model: str = setting("", "Pre-trained BERT directory (Hugging Face layout).")
    student_model: str = setting("", "Directory with the student's config.json (a new shape) "
                                     "or a whole Hugging Face student.")
    output_dir: str = setting("outputs/general_student", "Where the student is written.")
    num_train_epochs: int = setting(3, "Epochs (epoch e reads pregenerated epoch e mod N).",
                                    check=POSITIVE)
    max_steps: int = setting(0, "Stop after this many steps (0: all the epochs); the "
                                "learning-rate schedule spans them.", check=NON_NEGATIVE)
    held_out_data: str = setting(
        "", "A pregenerated epoch of held-out text: the losses to the teacher on it, before "
            "and after training, go into general_distill.json.")
    train_batch_size: int = setting(32, "Global batch size.", check=POSITIVE)
    layer_mapping: str = setting(
        "uniform", "TinyBERT's uniform g(m)=m*N/M, or BERT-EMD's many-to-many mapping.",
        choices=LAYER_MAPPINGS)
    T_emd: float = setting(1.0, "BERT-EMD: temperature of the softmax weight update.",
                           check=FINITE_POSITIVE)
    emd_weight_update: str = setting("softmax", "BERT-EMD layer-weight update rule.",
                                     choices=names(EmdWeightUpdate))
    emd_weight_floor: float = setting(
        0.0, "BERT-EMD: share in [0, 1) of the layer weights spread uniformly after each "
             "update (0: the published rule).", check=SHARE)
    separate: bool = setting(False, "BERT-EMD: keep attention and hidden-state layer weights "
                                    "apart.")
    seed: int = setting(42, "Random seed.")
    mixed_precision: str = setting("float32", help_of(RunSettings, "mixed_precision"),
                                   choices=PRECISIONS)
    jit_compile: bool | str = jit_compile_setting(
        "XLA-compile the train step. Unset: auto, on for float32 and off for mixed_bfloat16 / "
        "mixed_float16; --jit_compile / --nojit_compile decide.")
    distribution_strategy: str = setting("default", help_of(RunSettings, "distribution_strategy"),
                                         choices=STRATEGIES)
    checkpoint_every: int = setting(0, "Steps between resumable checkpoints (0: every epoch).",
                                    check=NON_NEGATIVE)
    tensorboard: bool = setting(True, "Write TensorBoard curves (every loss term, the learning "
                                      "rate) into <output_dir>/tensorboard.", compared=False)
    shuffle_buffer: int = setting(10_000, "Examples held for shuffling the pregenerated epochs.",
                                  flag=NO_FLAG, check=POSITIVE)
    verbose: int = setting(1, help_of(RunSettings, "verbose"), flag=NO_FLAG, compared=False)
    optimizer: OptimizerSettings = section(OptimizerSettings)

    def __post_init__(self):
        check_fields(self)

    @property
    def resolved_jit_compile(self):
        """Whether the train step is XLA-compiled (`precision.jit_compile_for`)."""
        return jit_compile_for(self.jit_compile, self.mixed_precision)

    def to_dict(self):
        return dataclasses.asdict(self)
