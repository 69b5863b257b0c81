"""The one rule for output directories: a command replaces only what it wrote itself.

Every output directory nlu_tf writes (a model directory, an export folder, a pipeline stage,
an augmented split, a teacher cache, checkpoints) goes through `io_utils.atomic_dir`,
which calls `claim` before anything is written: the directory must be absent, empty, or
recognisably nlu_tf's own output of the same kind — its `MARKER` file names the kind; an
output of an earlier version, written before markers, is recognised by the files only
nlu_tf writes (`LEGACY_FILES`). Anything else (a dataset, a checkpoint, a home folder) is
refused with one line, before a single byte is written. Commands also call `claim` and
`refuse_inputs` on their output directory at start, so that a long run never fails at its
end, and never writes over its own input.
"""

import json
import os

from nlu_tf.errors import InputError

MARKER = ".nlu_tf_output"
# Files that only nlu_tf writes at the top of an output directory (before markers existed).
LEGACY_FILES = ("model_info.json", "stage.json", "settings.json", "pipeline_settings.json",
                "report.json", "results.json", "metrics.json", "state.json", "manifest.json")
# A split folder that augmentation wrote before markers existed: these files and no other.
LEGACY_SPLIT = ("train_aug", {"seq.in", "seq.out", "label"})


def _marker_kind(path):
    try:
        with open(os.path.join(path, MARKER), encoding="utf-8") as f:
            return str(json.load(f).get("kind", ""))
    except (OSError, ValueError, AttributeError):
        return None


def _legacy(path, entries, depth=1):
    """An output written before markers: a legacy file at the top, an augmented split, or
    (a container such as a convert folder) directories that are all nlu_tf outputs."""
    if any(name in entries for name in LEGACY_FILES):
        return True
    name, files = LEGACY_SPLIT
    if os.path.basename(os.path.normpath(path)) == name and set(entries) <= files:
        return True
    if depth == 0:
        return False
    children = [os.path.join(path, entry) for entry in entries]
    return all(os.path.isdir(child) and not os.path.islink(child) and (
        _marker_kind(child) is not None or _legacy(child, os.listdir(child), depth - 1))
        for child in children)


def claim(path, kind):
    """Raises `InputError` unless `path` may be (re)written as an output of `kind`.

    Args:
        path: the output directory.
        kind: what the command writes there, e.g. "model" or "tflite".
    """
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        raise InputError(path, "exists and is not a directory: choose a new output directory")
    entries = [name for name in os.listdir(path) if not name.startswith(".nlu_tf_tmp")]
    if not entries:
        return
    marked = _marker_kind(path)
    if marked is None and _legacy(path, entries):
        return
    if marked is None:
        raise InputError(path, f"holds files nlu_tf did not write ({len(entries)} entries, "
                               f"e.g. {sorted(entries)[0]!r}); it is never replaced: choose "
                               f"an empty or new output directory")
    if marked != kind:
        raise InputError(path, f"holds an nlu_tf output of another kind ({marked}, not "
                               f"{kind}); choose another output directory")


def mark(path, kind):
    """Writes the marker of `kind` into the directory `path` (a writer's temporary folder)."""
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
