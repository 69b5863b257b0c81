"""Writing outputs so that a killed run never leaves something that looks complete."""

import contextlib
import json
import os
import shutil

from nlu_tf.errors import InputError


@contextlib.contextmanager
def atomic_dir(path):
    """Yields a temporary sibling of `path`; renames it onto `path` only if the body succeeds.

    An existing `path` is replaced. A failure or a kill leaves `path` as it was; the
    temporary sibling (`.name.tmp-PID`) is removed on failure and ignored by readers.
    """
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = os.path.join(parent, f".{name}.old-{os.getpid()}")
    if os.path.exists(path):
        os.rename(path, old)
    os.rename(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path, text):
    """Writes `text` to `path` through a temporary file and a rename."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def prepare_output_file(path):
    """Checks that a file can be written at `path` and creates its parent folders.

    Raises:
        InputError: `path` is an existing directory, or its parent cannot be created.
    """
    if os.path.isdir(path):
        raise InputError(path, "is a directory, expected an output file path")
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise InputError(parent, f"cannot create the output folder ({error.strerror})") from None
