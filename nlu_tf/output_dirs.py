"""The one rule for output directories: a command replaces only what it wrote itself.

Every output directory nlu_tf writes (a model directory, an export folder, a pipeline stage,
an augmented split, a teacher cache, checkpoints) goes through `io_utils.atomic_dir`,
which calls `claim` before anything is written: the directory must be absent, empty, or
recognisably nlu_tf's own output. A folder that holds other outputs (a pipeline's, a
convert folder, a seed series) carries a `MARKER` file naming its kind; an artefact is
recognised by the files only nlu_tf writes (`OWN_FILES`, a `config.json` of nlu_tf's model
format, an augmented split), so that nothing foreign travels inside what an app ships.
Anything else (a dataset, a Hugging Face checkpoint, a home folder) is refused with one
line, before a single byte is written. Commands also call `check_output_dir` at start, so
that a long run never fails at its end, and never writes over its own input.
"""

import json
import os

from nlu_tf.errors import InputError

MARKER = ".nlu_tf_output"
# Files that only nlu_tf writes at the top of an output directory.
OWN_FILES = ("model_info.json", "stage.json", "settings.json", "pipeline_settings.json",
             "report.json", "results.json", "metrics.json", "state.json", "manifest.json",
             "general_distill.json")
# A split folder that augmentation writes: these files and no other, under this name.
AUGMENTED_SPLIT = ("train_aug", {"seq.in", "seq.out", "label"})
MODEL_FORMAT_PREFIX = "nlu_tf"


def _marker_kind(path):
    try:
        with open(os.path.join(path, MARKER), encoding="utf-8") as f:
            return str(json.load(f).get("kind", ""))
    except (OSError, ValueError, AttributeError):
        return None


def _own_model_config(path):
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config) or os.path.getsize(config) > 1024 * 1024:
        return False
    try:
        with open(config, encoding="utf-8") as f:
            return str(json.load(f).get("format", "")).startswith(MODEL_FORMAT_PREFIX)
    except (OSError, ValueError, AttributeError):
        return False


def _recognised(path, entries, depth=1):
    """nlu_tf's own artefact: one of its files at the top, its model format, an augmented
    split, or (a container written before markers) directories that are all its outputs."""
    if any(name in entries for name in OWN_FILES) or _own_model_config(path):
        return True
    name, files = AUGMENTED_SPLIT
    if os.path.basename(os.path.normpath(path)) == name and set(entries) <= files:
        return True
    if depth == 0:
        return False
    children = [os.path.join(path, entry) for entry in entries]
    # A linked directory counts by what it holds (a pipeline may link a shared stage).
    return all(os.path.isdir(child) and (
        _marker_kind(child) is not None or _recognised(child, os.listdir(child), depth - 1))
        for child in children)


def claim(path, kind):
    """Raises `InputError` unless `path` may be (re)written as an output of `kind`.

    Args:
        path: the output directory.
        kind: what the command writes there, e.g. "model" or "tflite".
    """
    if not os.path.lexists(path):
        return
    # A link to a directory is judged by what it points to (only the link is replaced).
    if not os.path.isdir(path):
        raise InputError(path, "exists and is not a directory: choose a new output directory")
    entries = [name for name in os.listdir(path) if not name.startswith(".nlu_tf_tmp")]
    if not entries:
        return
    marked = _marker_kind(path)
    if marked is None and _recognised(path, entries):
        return
    if marked is None:
        raise InputError(path, f"holds files nlu_tf did not write ({len(entries)} entries, "
                               f"e.g. {sorted(entries)[0]!r}); it is never replaced: choose "
                               f"an empty or new output directory")
    if marked != kind:
        raise InputError(path, f"holds an nlu_tf output of another kind ({marked}, not "
                               f"{kind}); choose another output directory")


def mark(path, kind):
    """Writes the marker of `kind` into the directory `path` (a folder of other outputs)."""
    with open(os.path.join(path, MARKER), "w", encoding="utf-8") as f:
        json.dump({"kind": kind, "written_by": "nlu_tf"}, f)


def _real(path):
    return os.path.realpath(os.path.abspath(path))


def refuse_inputs(path, inputs):
    """Raises `InputError` if the output directory `path` is, or holds, one of `inputs`
    (replacing it would destroy that input).

    Args:
        path: the output directory.
        inputs: the command's input paths (files or directories; empty ones are skipped).
    """
    output = _real(path)
    for given in inputs:
        if not given:
            continue
        source = _real(given)
        if source == output or source.startswith(output + os.sep):
            raise InputError(path, f"is {'' if source == output else 'a parent of '}the "
                                   f"input {given}: writing it would destroy the input; "
                                   f"choose another output directory")


def check_output_dir(path, kind, inputs=()):
    """`refuse_inputs` then `claim`: what a command checks before it starts working."""
    refuse_inputs(path, inputs)
    claim(path, kind)
