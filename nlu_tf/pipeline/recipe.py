"""A pipeline recipe: a YAML file, checked key by key, resolved into per-stage settings.

A recipe names every key it changes; keys it leaves out take the defaults of `DEFAULTS`,
which takes those of run settings from their dataclasses.
An unknown key or a value of the wrong type is an `InputError` naming the file and the
key. Command-line overrides (`--set stage_2_1.epochs=3`) go through the same checks.
"""

import copy
import dataclasses
import os

from nlu_tf.augment.augmenter import AugmentSettings
from nlu_tf.data.reader import resolve_data_dir
from nlu_tf.errors import InputError, quote
from nlu_tf.export.metadata import QUANTIZATIONS
from nlu_tf.pipeline.safe_yaml import parse_value, read_yaml_file
from nlu_tf.precision import check_jit_compile
from nlu_tf.training.setting_fields import defaults, fields_from, key_of, own_fields
from nlu_tf.training.settings import (RECIPE_BUDGETS, DataSettings, DistillSettings,
                                      OptimizerSettings, RunSettings, StudentSettings,
                                      TrimSettings)


def _all_but(cls, *names):
    """The names of the fields of `cls`, but `names`."""
    return tuple(name for name in own_fields(cls) if name not in names)


def _budget(stage):
    # `eval_step` null: the stage evaluates dev as often as `training.eval_step` says.
    budget = {**dataclasses.asdict(RECIPE_BUDGETS[stage]), "eval_step": None,
              **defaults(_fields(stage))}
    if stage != "teacher":
        # With augment.copies > 0: whether this stage learns from the augmented set.
        budget["aug_train"] = True
    return budget


def _stage_eval_step(value):
    """A stage's own `eval_step`: null (then `training.eval_step`) or an integer >= 0."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"expected null or an integer >= 0, got {quote(value)}")


# Which settings each recipe section sets: (dataclass, field names); a setting's recipe
# key, default and choices are its field's (nlu_tf.training.settings). A stage's own
# `epochs` and `learning_rate` defaults are its `RECIPE_BUDGETS`.
SETTINGS = {
    "data": ((DataSettings, ("data_dir", "task", "max_seq_len", "train_batch_size",
                             "eval_batch_size", "max_train_examples", "train_split")),),
    "training": ((RunSettings, ("mixed_precision", "jit_compile", "checkpoint_every",
                                "tensorboard", "eval_step", "slot_loss_coef", "verbose",
                                "teacher_cache", "teacher_cache_max_gb", "head_dropout")),
                 (OptimizerSettings, ("warmup_proportion", "weight_decay", "clip_norm"))),
    "teacher": ((OptimizerSettings, ("ema_momentum",)),),
    # A new student option is a new field of StudentSettings: a key here, no edit.
    "student": ((RunSettings, ("tinybert",)), (TrimSettings, _all_but(TrimSettings)),
                (StudentSettings, _all_but(StudentSettings, "weight_bits")),
                (DistillSettings, ("layer_mapping",))),
    "stage_2_1": ((OptimizerSettings, ("ema_momentum",)),
                  (DistillSettings, ("T_emd", "emd_weight_update", "emd_weight_floor",
                                     "separate"))),
    "stage_2_2": ((OptimizerSettings, ("ema_momentum",)),
                  (DistillSettings, ("temperature", "alpha")),
                  (StudentSettings, ("weight_bits",))),
    "export": ((TrimSettings, _all_but(TrimSettings)),),
    # The seed is the recipe's; the masked-LM batch stays the command's default.
    "augment": ((AugmentSettings, ("copies", "candidates", "probability")),),
}


def _fields(name):
    """The fields of the settings that recipe section `name` sets."""
    return [own_fields(cls)[field] for cls, names in SETTINGS[name] for field in names]


# The defaults of every key a recipe may set: run settings from their dataclasses
# and augmentation settings from their dataclasses (`SETTINGS`), stage budgets from
# nlu_tf.training.settings; only the pipeline's own keys (paths, the augmentation's source
# and number of copies, export, benchmark) are set here.
DEFAULTS = {
    "output_dir": "outputs/pipeline",
    "seed": RunSettings.seed,
    "data": defaults(_fields("data")),
    "training": defaults(_fields("training")),
    # No copies unless the recipe asks (nlu-data-augmentation makes 30 by default).
    "augment": {**defaults(_fields("augment")), "copies": 0, "source": ""},
    # ensemble N > 1: N - 1 more teachers fine-tuned at seeds seed + 1 ... (the
    # extra_teachers stage); stage 2.2 learns from the mean of the N teachers' logits.
    "teacher": {"model": "", "finetuned": "", "ensemble": 1, **_budget("teacher")},
    "student": defaults(_fields("student")),
    "stage_2_1": _budget("stage_2_1"),
    "stage_2_2": _budget("stage_2_2"),
    "export": {"quantizations": ["dynamic"], "representative_size": 300, "saved_model": True,
               "clu": False, **defaults(_fields("export"))},
    "benchmark": {"split": "test", "queries": 100, "warmup": 10, "threads": 1,
                  "keras_latency": True},
}
# The closed sets a key chooses from: its setting's choices, and the pipeline's own.
CHOICES = {"benchmark.split": ("train", "dev", "test"),
           **{f"{name}.{key_of(field)}": field.metadata["choices"]
              for name in SETTINGS for field in _fields(name) if field.metadata["choices"]}}
# Keys whose values are not all of their default's type, with their own check.
CHECKS = {"training.jit_compile": check_jit_compile,
          **{f"{stage}.eval_step": _stage_eval_step
             for stage in ("teacher", "stage_2_1", "stage_2_2")}}


def _coerce(value, default, where, key):
    """`value` as the type of `default`, or an `InputError` naming `where` and `key`."""
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads `2e-4` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str:
        if value is None:
            return ""
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif kind is list:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    raise InputError(where, f"{key}: expected {kind.__name__}, got {quote(value)}")


def _merge(target, values, defaults, where, prefix=""):
    if not isinstance(values, dict):
        raise InputError(where, f"{prefix.rstrip('.') or 'the recipe'}: expected a mapping, "
                                f"got {quote(values)}")
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            raise InputError(where, f"unknown key {quote(dotted)} (known: "
                                    f"{', '.join(prefix + k for k in defaults)})")
        if isinstance(defaults[key], dict):
            _merge(target[key], value if value is not None else {}, defaults[key], where,
                   dotted + ".")
        elif dotted in CHECKS:
            try:
                target[key] = CHECKS[dotted](value)
            except ValueError as error:
                raise InputError(where, f"{dotted}: {error}") from None
        else:
            target[key] = _coerce(value, defaults[key], where, dotted)


def _check(recipe, where):
    for dotted, choices in CHOICES.items():
        section, key = dotted.split(".")
        if recipe[section][key] not in choices:
            raise InputError(where, f"{dotted} must be one of {', '.join(choices)}, got "
                                    f"{quote(recipe[section][key])}")
    bad = [q for q in recipe["export"]["quantizations"] if q not in QUANTIZATIONS]
    if bad or not recipe["export"]["quantizations"]:
        raise InputError(where, f"export.quantizations: each one of {', '.join(QUANTIZATIONS)}, "
                                f"got {quote(recipe['export']['quantizations'])}")
    if recipe["augment"]["copies"] < 0 or not 0.0 <= recipe["augment"]["probability"] <= 1.0:
        raise InputError(where, "augment.copies must be >= 0 and augment.probability in [0, 1]")
    if recipe["augment"]["copies"] and not (recipe["stage_2_1"]["aug_train"]
                                            or recipe["stage_2_2"]["aug_train"]):
        raise InputError(where, "augment.copies is set but neither stage_2_1.aug_train nor "
                                "stage_2_2.aug_train: no stage would use the copies")
    for dotted in ("benchmark.queries", "benchmark.threads", "export.representative_size",
                   "student.num_layers", "augment.candidates", "teacher.ensemble"):
        section, key = dotted.split(".")
        if recipe[section][key] < 1:
            raise InputError(where, f"{dotted} must be positive")
    try:  # the export's trimming is checked as a student's is
        export_trim(recipe)
    except ValueError as error:
        raise InputError(where, f"export: {error}") from None
    if not recipe["output_dir"]:
        raise InputError(where, "output_dir is empty")


def export_trim(recipe):
    """The `TrimSettings` of the export stage's student (the `export.trim_*` keys)."""
    return TrimSettings(**fields_from(TrimSettings, recipe["export"]))


def augment_settings(recipe):
    """The `AugmentSettings` of the augment stage: the `augment` keys, the recipe's seed."""
    return AugmentSettings(**fields_from(AugmentSettings, recipe["augment"]),
                           seed=recipe["seed"])


def parse_override(text):
    """`key.sub=value` -> (["key", "sub"], value parsed as YAML)."""
    if "=" not in text:
        raise InputError("--set", f"expected key.sub=value, got {quote(text)}")
    key, value = text.split("=", 1)
    return [part for part in key.strip().split(".") if part], parse_value(value)


def load_recipe(path, overrides=(), output_dir="", seed=None):
    """Reads the recipe at `path`, applies overrides, and returns the resolved dict.

    Args:
        path: the YAML file.
        overrides: `key.sub=value` strings (`--set`), applied in order.
        output_dir: replaces `output_dir` when not empty.
        seed: replaces `seed` when not None.

    Raises:
        InputError: a missing, unreadable, non-UTF-8 or oversized file, a YAML alias, an
            unknown key, a bad value.
    """
    values = read_yaml_file(path) or {}
    recipe = copy.deepcopy(DEFAULTS)
    _merge(recipe, values, DEFAULTS, path)
    for text in overrides:
        keys, value = parse_override(text)
        if not keys:
            raise InputError("--set", f"expected key.sub=value, got {quote(text)}")
        nested = value
        for key in reversed(keys):
            nested = {key: nested}
        _merge(recipe, nested, DEFAULTS, f"--set {text[:80]}")
    if output_dir:
        recipe["output_dir"] = output_dir
    if seed is not None:
        recipe["seed"] = int(seed)
    _check(recipe, path)
    return recipe


def teacher_dir(recipe):
    """The fine-tuned teacher the students learn from: `teacher.finetuned` when the recipe
    names one (stage 2.0 is then not run), else `<output_dir>/teacher`."""
    if recipe["teacher"]["finetuned"]:
        return os.path.abspath(recipe["teacher"]["finetuned"])
    return os.path.join(recipe["output_dir"], "teacher")


def extra_teacher_dirs(recipe):
    """The folders of the teachers beside the first (`teacher.ensemble` - 1 of them,
    `<output_dir>/extra_teachers/teacher_<k>`, k from 2)."""
    folder = os.path.join(recipe["output_dir"], "extra_teachers")
    return [os.path.join(folder, f"teacher_{k}")
            for k in range(2, recipe["teacher"]["ensemble"] + 1)]


def augments(recipe):
    """True when the recipe distils a student stage on an augmented training set (a
    loaded recipe with copies has a stage that uses them: `_check`)."""
    return recipe["augment"]["copies"] > 0


def augmented_data_dir(recipe):
    """The dataset folder the augment stage writes (`<output_dir>/augment/<dataset>/`): the
    recipe's vocabularies, train, dev and test, and `train_aug/`."""
    data = recipe["data"]
    name = os.path.basename(os.path.normpath(resolve_data_dir(data["data_dir"], data["task"])))
    return os.path.join(recipe["output_dir"], "augment", name)


def stage_settings(recipe, teacher_model):
    """The `RunSettings` of the training stages to run, keyed by stage name (no "teacher"
    when the recipe names an already fine-tuned teacher; "extra_teachers", a tuple of
    stage-2.0 settings, with `teacher.ensemble` > 1).

    Args:
        recipe: a resolved recipe (`load_recipe`).
        teacher_model: the checkpoint stage 2.0 fine-tunes (the recipe's, or the default).
    """
    out = recipe["output_dir"]
    t, s = recipe["training"], recipe["student"]
    augmented = augmented_data_dir(recipe) if augments(recipe) else None

    def eval_step(section):
        return t["eval_step"] if section["eval_step"] is None else section["eval_step"]

    def optimizer(section):  # the stage's learning rate and averaging, the rest training's
        return OptimizerSettings(**fields_from(OptimizerSettings, {**t, **section}))

    def data(section):
        # The teacher learns from the gold training set; a student, with augmentation
        # on and its stage's aug_train, from the augment stage's copy of the dataset
        # (train_aug: originals, then copies), which keeps only the first
        # max_train_examples originals.
        gold = DataSettings(**recipe["data"])
        if not (augmented and section.get("aug_train")):
            return gold
        return dataclasses.replace(gold, data_dir=augmented, task="",
                                   train_split="train_aug", max_train_examples=0)

    def run(section, **settings):
        return RunSettings(**{"seed": recipe["seed"], **fields_from(RunSettings, t),
                              "eval_step": eval_step(section), "optimizer": optimizer(section),
                              "data": data(section), **settings})

    def teacher_run(output_dir, seed):
        return run(recipe["teacher"], stage="2.0", output_dir=output_dir,
                   teacher_model=teacher_model, seed=seed,
                   num_train_epochs=recipe["teacher"]["epochs"])

    teacher = teacher_dir(recipe)
    first, second = recipe["stage_2_1"], recipe["stage_2_2"]
    build = {
        "teacher": lambda: teacher_run(teacher, recipe["seed"]),
        "student_2.1": lambda: run(
            first, stage="2.1", output_dir=os.path.join(out, "student_2.1"),
            teacher_model=teacher, tinybert=s["tinybert"], num_train_epochs=first["epochs"],
            distill=DistillSettings(**fields_from(DistillSettings, {**s, **first})),
            student=StudentSettings(**fields_from(StudentSettings, s)),
            trim=TrimSettings(**fields_from(TrimSettings, s))),
        "student_2.2": lambda: run(
            second, stage="2.2", output_dir=os.path.join(out, "student_2.2"),
            teacher_model=teacher, student_model=os.path.join(out, "student_2.1"),
            num_train_epochs=second["epochs"],
            distill=DistillSettings(**fields_from(DistillSettings, second)),
            student=StudentSettings(num_layers=s["num_layers"],
                                    **fields_from(StudentSettings, second)),
            extra_teachers=tuple(extra_teacher_dirs(recipe))),
    }
    if recipe["teacher"]["finetuned"]:
        del build["teacher"]
    if recipe["teacher"]["ensemble"] > 1:
        # Each extra teacher is stage 2.0 from the same checkpoint at its own seed.
        build["extra_teachers"] = lambda: tuple(
            teacher_run(path, recipe["seed"] + k)
            for k, path in enumerate(extra_teacher_dirs(recipe), start=1))
    settings = {}
    for name, make in build.items():
        try:
            settings[name] = make()
        except ValueError as error:
            raise InputError("recipe", f"{name}: {error}") from None
    return settings


def settings_dicts(settings):
    """JSON-ready form of `stage_settings`' result."""
    return {name: [dataclasses.asdict(one) for one in value] if isinstance(value, tuple)
            else dataclasses.asdict(value) for name, value in settings.items()}
