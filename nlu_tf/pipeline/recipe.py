"""A pipeline recipe: a YAML file, checked key by key, resolved into per-stage settings.

A recipe names every key it changes; keys it leaves out take the defaults of `DEFAULTS`,
which takes those of run settings from their dataclasses.
An unknown key or a value of the wrong type is an `InputError` naming the file and the
key. Command-line overrides (`--set stage_2_1.epochs=3`) go through the same checks.
"""

import copy
import dataclasses
import os

from nlu_tf.choices import EmdWeightUpdate, FallbackCharacters, names
from nlu_tf.augment.augmenter import AugmentSettings
from nlu_tf.data.reader import resolve_data_dir
from nlu_tf.errors import InputError, quote
from nlu_tf.export.metadata import QUANTIZATIONS
from nlu_tf.pipeline.safe_yaml import parse_value, read_yaml_file
from nlu_tf.precision import PRECISIONS, check_jit_compile
from nlu_tf.training.settings import (LAYER_MAPPINGS, RECIPE_BUDGETS, DataSettings,
                                      DistillSettings, OptimizerSettings, RunSettings)

_DATA, _OPT, _DISTILL, _RUN = DataSettings(), OptimizerSettings(), DistillSettings(), RunSettings()


def _fields(settings, names, renamed=()):
    """{key: default} of some fields of a settings dataclass; `renamed` maps a recipe key
    to the field it stands for."""
    values = {name: getattr(settings, name) for name in names}
    values.update({key: getattr(settings, field) for key, field in renamed})
    return values


def _budget(stage):
    # `eval_step` null: the stage evaluates dev as often as `training.eval_step` says.
    budget = {**dataclasses.asdict(RECIPE_BUDGETS[stage]), "eval_step": None,
              "ema_momentum": _OPT.ema_momentum}
    if stage != "teacher":
        # With augment.copies > 0: whether this stage learns from the augmented set.
        budget["aug_train"] = True
    return budget


def _stage_eval_step(value):
    """A stage's own `eval_step`: null (then `training.eval_step`) or an integer >= 0."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"expected null or an integer >= 0, got {quote(value)}")


# The defaults of every key a recipe may set: run settings and stage budgets come from
# nlu_tf.training.settings; only the pipeline's own keys (paths, export, benchmark) are
# set here.
DEFAULTS = {
    "output_dir": "outputs/pipeline",
    "seed": _RUN.seed,
    "data": _fields(_DATA, ("data_dir", "task", "max_seq_len", "train_batch_size",
                            "eval_batch_size", "max_train_examples", "train_split")),
    "training": {**_fields(_RUN, ("mixed_precision", "jit_compile", "checkpoint_every",
                                  "tensorboard",
                                  "eval_step", "slot_loss_coef", "verbose", "teacher_cache",
                                  "teacher_cache_max_gb"),
                           renamed=(("dropout", "head_dropout"),)),
                 **_fields(_OPT, ("warmup_proportion", "weight_decay", "clip_norm"))},
    "augment": {"copies": 0, "candidates": AugmentSettings.candidates,
                "probability": AugmentSettings.probability, "source": ""},
    # ensemble N > 1: N - 1 more teachers fine-tuned at seeds seed + 1 ... (the
    # extra_teachers stage); stage 2.2 learns from the mean of the N teachers' logits.
    "teacher": {"model": "", "finetuned": "", "ensemble": 1, **_budget("teacher")},
    "student": {"tinybert": "", "trim_vocab": False, "trim_min_count": 1,
                "trim_fallback_characters": "all", "trim_corpus": [], "trim_vocab_size": 0,
                "trim_share_rows": False,
                "embedding_size": 0, "intermediate_size": 0,
                **_fields(_DISTILL, ("layer_mapping",),
                          renamed=(("num_layers", "student_num_layers"),))},
    "stage_2_1": {**_budget("stage_2_1"),
                  **_fields(_DISTILL, ("T_emd", "emd_weight_update", "emd_weight_floor",
                                       "separate"))},
    "stage_2_2": {**_budget("stage_2_2"),
                  **_fields(_DISTILL, ("temperature", "alpha")),
                  **_fields(_RUN, ("weight_bits",))},
    "export": {"quantizations": ["dynamic"], "representative_size": 300, "saved_model": True,
               "clu": False,
               "trim_vocab": False, "trim_min_count": 1, "trim_fallback_characters": "all",
               "trim_corpus": [], "trim_vocab_size": 0, "trim_share_rows": False},
    "benchmark": {"split": "test", "queries": 100, "warmup": 10, "threads": 1,
                  "keras_latency": True},
}
CHOICES = {"student.layer_mapping": LAYER_MAPPINGS,
           "stage_2_1.emd_weight_update": names(EmdWeightUpdate),
           "benchmark.split": ("train", "dev", "test"),
           "training.mixed_precision": PRECISIONS,
           "export.trim_fallback_characters": names(FallbackCharacters),
           "student.trim_fallback_characters": names(FallbackCharacters)}
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
    _check_export_trim(recipe["export"], where)
    if not recipe["output_dir"]:
        raise InputError(where, "output_dir is empty")


def _check_export_trim(export, where):
    """The export stage's trimming keys, or an `InputError` naming `where`."""
    for key in ("trim_share_rows", "trim_corpus", "trim_vocab_size"):
        if export[key] and not export["trim_vocab"]:
            raise InputError(where, f"export.{key} goes with export.trim_vocab: true")
    if export["trim_min_count"] < 1 or export["trim_vocab_size"] < 0:
        raise InputError(where, "export.trim_min_count must be >= 1 and "
                                "export.trim_vocab_size >= 0")
    if export["trim_vocab_size"] and not export["trim_corpus"]:
        raise InputError(where, "export.trim_vocab_size fills the vocabulary from "
                                "export.trim_corpus: give one")
    if not all(isinstance(path, str) and path for path in export["trim_corpus"]):
        raise InputError(where, "export.trim_corpus must be a list of file paths")


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
    data = DataSettings(**recipe["data"])

    def eval_step(section):
        return t["eval_step"] if section["eval_step"] is None else section["eval_step"]

    def optimizer(section):
        return OptimizerSettings(learning_rate=section["learning_rate"],
                                 warmup_proportion=t["warmup_proportion"],
                                 weight_decay=t["weight_decay"], clip_norm=t["clip_norm"],
                                 ema_momentum=section["ema_momentum"])

    common = dict(seed=recipe["seed"], slot_loss_coef=t["slot_loss_coef"],
                  head_dropout=t["dropout"], mixed_precision=t["mixed_precision"],
                  jit_compile=t["jit_compile"],
                  checkpoint_every=t["checkpoint_every"], tensorboard=t["tensorboard"],
                  verbose=t["verbose"], teacher_cache=t["teacher_cache"],
                  teacher_cache_max_gb=t["teacher_cache_max_gb"])
    # The teacher learns from the gold training set; the students, with augmentation on,
    # from the augment stage's copy of the dataset (train_aug: originals, then copies).
    # The augment stage keeps only the first max_train_examples originals.
    augmented = (dataclasses.replace(data, data_dir=augmented_data_dir(recipe), task="",
                                     train_split="train_aug", max_train_examples=0)
                 if augments(recipe) else data)
    teacher = teacher_dir(recipe)
    first, second = recipe["stage_2_1"], recipe["stage_2_2"]
    data_2_1, data_2_2 = (augmented if section["aug_train"] else data
                          for section in (first, second))
    distill_2_1 = DistillSettings(layer_mapping=s["layer_mapping"], T_emd=first["T_emd"],
                                  emd_weight_update=first["emd_weight_update"],
                                  emd_weight_floor=first["emd_weight_floor"],
                                  separate=first["separate"], student_num_layers=s["num_layers"])
    distill_2_2 = DistillSettings(temperature=second["temperature"], alpha=second["alpha"],
                                  student_num_layers=s["num_layers"])
    build = {
        "teacher": lambda: RunSettings(
            stage="2.0", output_dir=teacher, teacher_model=teacher_model,
            num_train_epochs=recipe["teacher"]["epochs"], eval_step=eval_step(recipe["teacher"]),
            optimizer=optimizer(recipe["teacher"]), data=data, **common),
        "student_2.1": lambda: RunSettings(
            stage="2.1", output_dir=os.path.join(out, "student_2.1"), teacher_model=teacher,
            tinybert=s["tinybert"], num_train_epochs=first["epochs"],
            trim_vocab=s["trim_vocab"], trim_min_count=s["trim_min_count"],
            trim_fallback_characters=s["trim_fallback_characters"],
            trim_corpus=tuple(s["trim_corpus"]), trim_vocab_size=s["trim_vocab_size"],
            trim_share_rows=s["trim_share_rows"],
            embedding_size=s["embedding_size"], intermediate_size=s["intermediate_size"],
            eval_step=eval_step(first),
            optimizer=optimizer(first),
            distill=distill_2_1, data=data_2_1, **common),
        "student_2.2": lambda: RunSettings(
            stage="2.2", output_dir=os.path.join(out, "student_2.2"), teacher_model=teacher,
            student_model=os.path.join(out, "student_2.1"), num_train_epochs=second["epochs"],
            eval_step=eval_step(second), optimizer=optimizer(second), distill=distill_2_2,
            weight_bits=second["weight_bits"],
            extra_teachers=tuple(extra_teacher_dirs(recipe)), data=data_2_2, **common),
    }
    if recipe["teacher"]["finetuned"]:
        del build["teacher"]
    if recipe["teacher"]["ensemble"] > 1:
        # Each extra teacher is stage 2.0 from the same checkpoint at its own seed.
        build["extra_teachers"] = lambda: tuple(
            RunSettings(stage="2.0", output_dir=path, teacher_model=teacher_model,
                        num_train_epochs=recipe["teacher"]["epochs"],
                        eval_step=eval_step(recipe["teacher"]),
                        optimizer=optimizer(recipe["teacher"]), data=data,
                        **{**common, "seed": recipe["seed"] + k})
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
