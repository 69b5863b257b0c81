"""absl flag values -> settings dataclasses, for every command that builds settings
(training, BERT-EMD, general distillation, augmentation); the training flags are defined here.

The training flags are derived from the fields of `RunSettings` (name, type, default,
help and choices: `nlu_tf.training.setting_fields`); they keep the names of the original
PyTorch workflow so its command lines work unchanged. Only the commands call these; the
library receives the dataclasses.
"""

from absl import flags

from nlu_tf.precision import JIT_AUTO
from nlu_tf.training.setting_fields import build, from_flags, leaves
from nlu_tf.training.settings import DataSettings, DistillSettings, OptimizerSettings, RunSettings

_DEFINE = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           str: flags.DEFINE_string, tuple: flags.DEFINE_multi_string}


def define_settings_flags(cls, flag_values=flags.FLAGS, only=None, helps=None):
    """Defines a flag for each setting of the dataclass `cls` (nested sections walked)
    that has one: a choice is an enum flag, a tuple a repeated string flag, a
    `flag_type=bool` setting a True / False flag that is None when unset.

    Args:
        cls: a settings dataclass.
        flag_values: where the flags are defined.
        only: the flag names to define (None: all).
        helps: {flag name: help} replacing a setting's own help.
    """
    for leaf in leaves(cls):
        name, field = leaf.flag, leaf.field
        if not name or (only is not None and name not in only):
            continue
        meta, default = field.metadata, field.default
        text = (helps or {}).get(name, meta["help"])
        if meta["choices"] is not None:
            flags.DEFINE_enum(name, default, list(meta["choices"]), text, flag_values=flag_values)
        elif meta["flag_type"] is bool:
            flags.DEFINE_bool(name, None, text, flag_values=flag_values)
        else:
            value = list(default) if isinstance(default, tuple) else default
            _DEFINE[type(default)](name, value, text, flag_values=flag_values)


def define_precision_flags(jit_help=None, flag_values=flags.FLAGS):
    """Defines --mixed_precision and --jit_compile (unset: "auto", see `precision`)."""
    define_settings_flags(RunSettings, flag_values, only=("mixed_precision", "jit_compile"),
                          helps={"jit_compile": jit_help} if jit_help else None)


def jit_choice(values):
    """The `jit_compile` setting of a flag dict: True, False, or "auto" when unset."""
    return JIT_AUTO if values["jit_compile"] is None else values["jit_compile"]


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


def define_teacher_cache_flags(flag_values=flags.FLAGS):
    """Defines --teacher_cache and --teacher_cache_max_gb (training and BERT-EMD commands)."""
    define_settings_flags(RunSettings, flag_values, only=("teacher_cache", "teacher_cache_max_gb"))


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


def emd_settings_from_flags(values):
    """`RunSettings` of BERT-EMD's one-step task distillation (`nlu-emd-task-distill`,
    whose flags keep BERT-EMD's names: `--max_seq_length`, `--task_name`, `--seperate`).

    `--student_model` is an nlu_tf model directory to continue, or a general (Hugging Face)
    student to start from.
    """
    from nlu_tf.model_io.model_files import is_model_dir

    student = values["student_model"]
    data = DataSettings(data_dir=values["data_dir"], task=values["task_name"],
                        max_seq_len=values["max_seq_length"],
                        train_batch_size=values["train_batch_size"],
                        train_split="train_aug" if values["aug_train"] else "train")
    distill = DistillSettings(layer_mapping="emd", temperature=values["temperature"],
                              alpha=values["alpha"], beta=values["beta"], theta=values["theta"],
                              T_emd=values["T_emd"], emd_weight_update=values["emd_weight_update"],
                              emd_weight_floor=values["emd_weight_floor"],
                              separate=values["seperate"], one_step=True)
    return RunSettings(
        stage="2.1", output_dir=values["output_dir"], teacher_model=values["teacher_model"],
        student_model=student if student and is_model_dir(student) else "",
        tinybert=student if student and not is_model_dir(student) else "",
        num_train_epochs=values["num_train_epochs"], seed=values["seed"], data=data,
        distill=distill, optimizer=OptimizerSettings(learning_rate=values["learning_rate"]),
        teacher_cache=values["teacher_cache"],
        teacher_cache_max_gb=values["teacher_cache_max_gb"])


def general_settings_from_flags(values):
    """`GeneralDistillSettings` of `nlu-general-distill`."""
    from nlu_tf.pretraining.settings import GeneralDistillSettings

    optimizer = OptimizerSettings(learning_rate=values["learning_rate"],
                                  warmup_proportion=values["warmup_proportion"],
                                  weight_decay=values["weight_decay"],
                                  clip_norm=values["max_grad_norm"])
    return GeneralDistillSettings(
        pregenerated_data=values["pregenerated_data"], teacher_model=values["teacher_model"],
        student_model=values["student_model"], output_dir=values["output_dir"],
        num_train_epochs=values["num_train_epochs"], train_batch_size=values["train_batch_size"],
        max_steps=values["max_steps"], held_out_data=values["held_out_data"] or "",
        layer_mapping=values["layer_mapping"], T_emd=values["T_emd"],
        emd_weight_update=values["emd_weight_update"],
        emd_weight_floor=values["emd_weight_floor"], separate=values["separate"],
        seed=values["seed"], mixed_precision=values["mixed_precision"],
        jit_compile=jit_choice(values),
        distribution_strategy=values["distribution_strategy"],
        checkpoint_every=values["checkpoint_every"], tensorboard=values.get("tensorboard", True),
        optimizer=optimizer)


def augment_settings_from_flags(values):
    """`AugmentSettings` of `nlu-data-augmentation` (TinyBERT's flag names N, M, p)."""
    from nlu_tf.augment.augmenter import AugmentSettings

    return AugmentSettings(copies=values["N"], candidates=values["M"], probability=values["p"],
                           seed=values["seed"], batch_size=values["batch_size"])
