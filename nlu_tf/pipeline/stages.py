"""The stages of a pipeline run, where each one writes, and whether its output is complete.

A stage is complete only if its output passes `check_stage`: the augmented dataset holds
the line counts its `stage.json` records; a training stage's model directory (each
extra teacher's) has every file (`check_model_dir`), a `metrics.json` that parses and the
`settings.json` of the settings asked for now; the export holds every expected
`model.tflite` and a `model_info.json` that parses; the evaluation and the report hold
JSON that parses and the files it names. Nothing here imports TensorFlow.
"""

import glob
import json
import os
import shutil

from nlu_tf.errors import InputError
from nlu_tf.io_utils import work_dir
from nlu_tf.export.metadata import read_model_info
from nlu_tf.model_io.model_files import check_model_dir
from nlu_tf.pipeline.recipe import DEFAULTS
from nlu_tf.training.setting_fields import own_fields
from nlu_tf.training.settings import RunSettings, comparable_settings, same_run

TRAINING_STAGES = ("teacher", "extra_teachers", "student_2.1", "student_2.2")
# augment follows the teachers, which never read it: redoing it redoes only the students.
STAGES = TRAINING_STAGES[:2] + ("augment",) + TRAINING_STAGES[2:] + ("export", "evaluate",
                                                                    "report")
STAGE_FILE = "stage.json"
RESULTS_FILE = "results.json"
REPORT_FILES = ("report.md", "report.json")
ROLES = ("teacher", "student")  # the exported models: stage 2.0's and stage 2.2's outputs
_RUN_SETTINGS = tuple(own_fields(RunSettings))  # those a non-training stage's settings hold


def stage_dir(output_dir, stage):
    """`<output_dir>/<stage>/`."""
    return os.path.join(output_dir, stage)


def _json(value):
    """`value` after a JSON round trip (tuples become lists), as a stored one reads."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def comparable(settings):
    """A non-training stage's settings as they compare between runs: the recipe sections
    they hold (`data`, `export` ...) with absent keys at their defaults, and the run
    settings they hold (`seed`, the evaluation's `jit_compile`) as run settings compare
    (`comparable_settings`), so a stage written before a key existed matches its default."""
    value = _json(settings)
    if not isinstance(value, dict):
        return value
    run = {key: value.pop(key) for key in list(value) if key in _RUN_SETTINGS}
    return {"run_settings": comparable_settings(run),
            **{key: {**DEFAULTS[key], **item}
               if isinstance(item, dict) and isinstance(DEFAULTS.get(key), dict) else item
               for key, item in value.items()}}


def read_json(path):
    """The parsed JSON file at `path`; `ValueError` / `OSError` if it is missing or broken."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_settings(name, stored, expected):
    """A `ValueError` unless the settings `stored` in the stage's file `name` compare equal
    to `expected` (`comparable`)."""
    if comparable(stored) != comparable(expected):
        raise ValueError(f"{name} holds other settings (the recipe changed)")


def export_paths(folder, export):
    """The export folders of the pipeline, as {(role, kind): path} in report order."""
    paths = {}
    for role in ROLES:
        if export["saved_model"]:
            paths[(role, "saved_model")] = os.path.join(folder, role, "saved_model")
        for mode in export["quantizations"]:
            paths[(role, f"tflite_{mode}")] = os.path.join(folder, role, f"tflite_{mode}")
    return paths


def check_trained_model(path):
    """Raises unless `path` is a complete model directory whose `metrics.json` parses and
    holds dev scores: `InputError` (a missing file), `ValueError` / `OSError` (metrics).
    Test scores are not asked for: the evaluate stage is the only reader of test."""
    check_model_dir(path)
    metrics = read_json(os.path.join(path, "metrics.json"))
    if not isinstance(metrics, dict) or not isinstance(metrics.get("dev"), dict):
        raise ValueError("metrics.json has no dev scores")


def _check_training(path, expected):
    check_trained_model(path)
    # Read back as run settings: a run written before a setting existed or moved is the
    # same run when its values mean the same (`same_run`).
    if not same_run(read_json(os.path.join(path, "settings.json")), _json(expected)):
        raise ValueError("settings.json holds other settings (the recipe changed)")


def _check_extra_teachers(path, expected):
    del path  # each teacher's folder is in its settings
    for settings in expected:
        _check_training(settings["output_dir"], settings)


def _check_augment(path, expected):
    stage = read_json(os.path.join(path, STAGE_FILE))
    _check_settings(STAGE_FILE, stage.get("settings"), expected)
    counts = stage["counts"]
    folder = os.path.join(path, expected["dataset"], "train_aug")
    for name in ("seq.in", "seq.out", "label"):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            lines = sum(1 for _ in f)
        if lines != counts["originals"] + counts["augmented"]:
            raise ValueError(f"train_aug/{name} holds {lines} lines, stage.json counts "
                             f"{counts['originals'] + counts['augmented']}")


def _check_export(path, expected):
    _check_settings(STAGE_FILE, read_json(os.path.join(path, STAGE_FILE)).get("settings"),
                    expected)
    for (role, kind), folder in export_paths(path, expected["export"]).items():
        if kind == "saved_model":
            if not os.path.isfile(os.path.join(folder, "saved_model.pb")):
                raise ValueError(f"{role}/saved_model/saved_model.pb is missing")
            continue
        model = os.path.join(folder, "model.tflite")
        if not os.path.isfile(model) or os.path.getsize(model) == 0:
            raise ValueError(f"{role}/{kind}/model.tflite is missing or empty")
        read_model_info(folder)


def _check_evaluate(path, expected):
    results = read_json(os.path.join(path, RESULTS_FILE))
    _check_settings(RESULTS_FILE, results.get("settings"), expected)
    if not results.get("rows") or len(results["rows"]) != len(expected["artefacts"]):
        raise ValueError(f"{RESULTS_FILE} lacks rows")


def _check_report(path, expected):
    report = read_json(os.path.join(path, "report.json"))
    _check_settings("report.json", report.get("settings"), expected)
    for name in report.get("plots", []):
        if not os.path.isfile(os.path.join(path, name)):
            raise ValueError(f"plot {name} is missing")
    parent = os.path.dirname(os.path.abspath(path))
    for name in REPORT_FILES:
        if not os.path.isfile(os.path.join(parent, name)):
            raise ValueError(f"{os.path.join(parent, name)} is missing")


_CHECKS = {"augment": _check_augment, "teacher": _check_training,
           "extra_teachers": _check_extra_teachers, "student_2.1": _check_training,
           "student_2.2": _check_training, "export": _check_export,
           "evaluate": _check_evaluate, "report": _check_report}


def check_stage(stage, path, expected):
    """Why the output of `stage` at `path` is not complete, or None if it is.

    Args:
        stage: one of `STAGES`.
        path: the stage's output folder.
        expected: the stage's settings now (a dict); a stage written with others is stale.

    Returns:
        None, "absent" when there is no output, or the problem in words.
    """
    if not os.path.exists(path):
        return "absent"
    try:
        _CHECKS[stage](path, expected)
    except InputError as error:
        return str(error)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def remove_stage(output_dir, stage, keep_checkpoint=False):
    """Removes a stage's output, its leftover temporary folders and (unless kept) its
    resumable checkpoint; for the report also the top-level report files."""
    path = stage_dir(output_dir, stage)
    shutil.rmtree(path, ignore_errors=True)
    for pattern in (f".{stage}.tmp-*", f".{stage}.old-*"):
        for leftover in glob.glob(os.path.join(output_dir, pattern)):
            shutil.rmtree(leftover, ignore_errors=True)
    if not keep_checkpoint:
        shutil.rmtree(work_dir(path), ignore_errors=True)
    if stage == "report":
        for name in REPORT_FILES:
            target = os.path.join(output_dir, name)
            if os.path.isfile(target):
                os.remove(target)
