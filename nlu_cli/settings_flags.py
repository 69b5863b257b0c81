"""absl flag values -> settings dataclasses, for every command that builds settings
(training, BERT-EMD, general distillation, augmentation, pregeneration).

Each command's settings flags are derived from the fields of its settings dataclass
(name, type, default, help and choices: `nlu_tf.training.setting_fields`), read back by
the same `CommandFlags`; they keep the names of the original PyTorch, BERT-EMD and
TinyBERT workflows so their command lines work unchanged. Only the commands call these;
the library receives the dataclasses.
"""

import dataclasses

from absl import flags

from nlu_tf.augment.augmenter import AugmentSettings
from nlu_tf.pretraining.settings import GeneralDistillSettings, PregenerateSettings
from nlu_tf.training.setting_fields import build, from_flags, leaves
from nlu_tf.training.settings import EMD_ONE_STEP_EPOCHS, RunSettings

_DEFINE = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           str: flags.DEFINE_string, tuple: flags.DEFINE_multi_string}


@dataclasses.dataclass(frozen=True)
class CommandFlags:
    """The flags one command derives from the settings of the dataclass `cls` (nested
    sections walked): one per setting that has a flag, under the setting's flag name
    unless the command keeps another workflow's. A choice is an enum flag, a tuple a
    repeated string flag, a `flag_type=bool` setting a True / False flag that is None
    when unset. Every map is keyed by the setting's own flag name.

    Attributes:
        cls: the settings dataclass.
        only: the settings' flags the command defines (None: all of them but `skip`).
        skip: the settings' flags it does not define.
        names: {flag: the command's name for it}, e.g. BERT-EMD's `task_name`.
        defaults: {flag: the command's default}, where the command's is not the setting's.
        helps: {flag: the command's help}, where the setting's would mislead there.
        required: the flags the command requires (they have no default).
    """

    cls: type
    only: tuple = None
    skip: tuple = ()
    names: dict = dataclasses.field(default_factory=dict)
    defaults: dict = dataclasses.field(default_factory=dict)
    helps: dict = dataclasses.field(default_factory=dict)
    required: tuple = ()

    def named(self):
        """(leaf, the command's flag name) of each setting the command has a flag for."""
        for leaf in leaves(self.cls):
            if leaf.flag and leaf.flag not in self.skip and (
                    self.only is None or leaf.flag in self.only):
                yield leaf, self.names.get(leaf.flag, leaf.flag)

    def define(self, flag_values=flags.FLAGS):
        """Defines the flags (call once, from a command's module level)."""
        for leaf, name in self.named():
            meta, required = leaf.field.metadata, leaf.flag in self.required
            default = self.defaults.get(leaf.flag, leaf.field.default)
            if required or meta["flag_type"] is bool:
                default = None
            kwargs = {"flag_values": flag_values, "required": required}
            text = self._help(leaf)
            if meta["choices"] is not None:
                flags.DEFINE_enum(name, default, list(meta["choices"]), text, **kwargs)
            elif meta["flag_type"] is bool:
                flags.DEFINE_bool(name, default, text, **kwargs)
            else:
                value = list(default) if isinstance(default, tuple) else default
                _DEFINE[type(leaf.field.default)](name, value, text, **kwargs)

    def _help(self, leaf):
        # A help naming a flag or a folder (<task>/) the command renamed names its name.
        text = self.helps.get(leaf.flag, leaf.field.metadata["help"])
        for old, new in self.names.items():
            text = text.replace(f"--{old}", f"--{new}").replace(f"<{old}>", f"<{new}>")
        return text

    def tree(self, values):
        """The nested dict (`setting_fields.build`'s input) of the settings a dict of flag
        values (e.g. `FLAGS.flag_values_dict()`) sets; an unset (None) flag leaves its
        setting's default."""
        return from_flags(self.cls, {leaf.flag: values[name] for leaf, name in self.named()
                                     if name in values})

    def settings(self, values):
        """The settings dataclass a dict of flag values sets, the others at their defaults."""
        return build(self.cls, self.tree(values))


def define_settings_flags(cls, flag_values=flags.FLAGS, only=None, helps=None):
    """Defines a flag for each setting of the dataclass `cls` that has one (`CommandFlags`).

    Args:
        cls: a settings dataclass.
        flag_values: where the flags are defined.
        only: the flag names to define (None: all).
        helps: {flag name: help} replacing a setting's own help.
    """
    CommandFlags(cls, only=only, helps=helps or {}).define(flag_values)


def define_precision_flags(jit_help=None, flag_values=flags.FLAGS):
    """Defines --mixed_precision and --jit_compile (unset: "auto", see `precision`)."""
    define_settings_flags(RunSettings, flag_values, only=("mixed_precision", "jit_compile"),
                          helps={"jit_compile": jit_help} if jit_help else None)


def define_train_flags(flag_values=flags.FLAGS):
    """Defines the training flags (call once, from a tool's module level): one per
    `RunSettings` field, and those that are no field."""
    define_settings_flags(RunSettings, flag_values)
    fv = {"flag_values": flag_values}
    flags.DEFINE_bool("pred_distill", False,
                      "Prediction-layer distillation (same as --stage 2.2).", **fv)
    flags.DEFINE_bool("aug_train", False,
                      "Distil on the augmented set <task>/train_aug (tools/data_augmentation.py); "
                      "on augmented utterances the targets are the teacher's predictions.", **fv)
    flags.DEFINE_bool("restart", False, "Discard a resumable checkpoint and start over.", **fv)


def settings_from_flags(values):
    """Builds `RunSettings` from a dict of flag values (e.g. `FLAGS.flag_values_dict()`):
    each setting from its flag, --pred_distill and --aug_train as the stage and split
    they choose."""
    tree = from_flags(RunSettings, values)
    if values.get("pred_distill"):
        tree["stage"] = "2.2"
    if values.get("aug_train"):
        tree.setdefault("data", {})["train_split"] = "train_aug"
    return build(RunSettings, tree)


# BERT-EMD's task distillation (nlu-emd-task-distill) keeps BERT-EMD's flag names; its
# --student_model, which is the student to continue or the general one to start from, and
# --aug_train are the command's own.
EMD_FLAGS = CommandFlags(
    RunSettings, only=("teacher_model", "data_dir", "task", "output_dir", "max_seq_len",
                       "train_batch_size", "num_train_epochs", "learning_rate", "temperature",
                       "alpha", "beta", "theta", "T_emd", "emd_weight_update",
                       "emd_weight_floor", "separate", "seed", "teacher_cache",
                       "teacher_cache_max_gb", "mixed_precision", "jit_compile"),
    names={"task": "task_name", "max_seq_len": "max_seq_length", "separate": "seperate"},
    defaults={"num_train_epochs": EMD_ONE_STEP_EPOCHS},
    # The settings' own words speak of stage 2.0 (fine-tuning) and stage 2.2.
    helps={"teacher_model": "Fine-tuned teacher (a stage 2.0 output).",
           "temperature": "Softmax temperature of L_pred.",
           "alpha": "Weight of the gold-label loss inside L_pred."},
    required=("teacher_model", "output_dir"))


def emd_settings_from_flags(values):
    """`RunSettings` of BERT-EMD's one-step task distillation (`EMD_FLAGS`): stage 2.1 with
    the EMD layer mapping and the one-step objective.

    `--student_model` is an nlu_tf model directory to continue, or a general (Hugging Face)
    student to start from.
    """
    from nlu_tf.model_io.model_files import is_model_dir

    tree = EMD_FLAGS.tree(values)
    student = values["student_model"]
    continued = bool(student) and is_model_dir(student)
    tree.update(stage="2.1", student_model=student if continued else "",
                tinybert=student if student and not continued else "")
    tree.setdefault("distill", {}).update(layer_mapping="emd", one_step=True)
    if values["aug_train"]:
        tree.setdefault("data", {})["train_split"] = "train_aug"
    return build(RunSettings, tree)


# nlu-general-distill: every setting but the weight averaging, which it does not do.
GENERAL_FLAGS = CommandFlags(
    GeneralDistillSettings, skip=("ema_momentum",),
    required=("pregenerated_data", "teacher_model", "student_model", "output_dir"),
    defaults={"held_out_data": None})  # unset: no held-out losses, as the flag always said
# nlu-data-augmentation (TinyBERT's N, M, p) and nlu-pregenerate-training-data (BERT-EMD's).
AUGMENT_FLAGS = CommandFlags(AugmentSettings)
PREGENERATE_FLAGS = CommandFlags(PregenerateSettings)
