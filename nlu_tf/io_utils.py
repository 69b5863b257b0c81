"""Writing outputs so that a killed run never leaves something that looks complete."""

import contextlib
import errno
import json
import os
import shutil
import uuid

from nlu_tf.errors import InputError


def _unique():
    """A suffix no other thread or process uses: the PID and a random part."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


MAX_JSON_BYTES = 16 * 1024 * 1024


def read_json_object(path):
    """The JSON object (dict) in the file at `path`.

    Raises:
        InputError: the file is missing, larger than `MAX_JSON_BYTES` (a config or
            metadata file never is), not UTF-8, not valid JSON or not an object.
    """
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    if os.path.getsize(path) > MAX_JSON_BYTES:
        raise InputError(path, f"larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB: not a "
                               "config or metadata file")
    try:
        with open(path, encoding="utf-8") as f:
            content = json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(path, f"not valid JSON ({str(error)[:80]})") from None
    if not isinstance(content, dict):
        raise InputError(path, "not a JSON object")
    return content


def work_dir(output_dir):
    """The hidden work folder (resumable checkpoints) of the run writing `output_dir`:
    `.<name>.work/` beside it."""
    parent, name = os.path.split(os.path.abspath(output_dir))
    return os.path.join(parent, f".{name}.work")


@contextlib.contextmanager
def atomic_dir(path, kind=None):
    """Yields a temporary sibling of `path`; renames it onto `path` only if the body succeeds.

    With a `kind` (every output of the commands has one), an existing `path` is replaced
    only if it is nlu_tf's own output (`nlu_tf.output_dirs.claim`; anything else is refused
    before a byte is written). A failure or a kill leaves `path` as it
    was; the temporary sibling (`.name.tmp-PID-*`) is removed on failure and ignored by
    readers. Writers finishing together (threads or processes) all succeed; the last one
    wins.
    """
    from nlu_tf.output_dirs import claim

    path = os.path.abspath(path)
    if kind is not None:
        claim(path, kind)
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    remove_stale_siblings(path)
    tmp = os.path.join(parent, f".{name}.tmp-{_unique()}")
    os.makedirs(tmp)
    try:
        yield tmp
        if kind is not None:
            claim(path, kind)  # checked again: another program may have filled it meanwhile
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_siblings(path):
    """Removes the temporary and set-aside siblings of `path` (`.name.tmp-PID-*`,
    `.name.old-PID-*`) that a killed writer left: those whose process is gone."""
    parent, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(parent):
        return
    for entry in os.listdir(parent):
        for infix in (".tmp-", ".old-"):
            prefix = f".{name}{infix}"
            if not entry.startswith(prefix):
                continue
            pid = entry[len(prefix):].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                stale = os.path.join(parent, entry)
                if os.path.isdir(stale) and not os.path.islink(stale):
                    shutil.rmtree(stale, ignore_errors=True)


def replace_dir(source, path, attempts=1000):
    """Renames the directory `source` onto `path`, replacing whatever `path` holds.

    `rename` replaces only an absent path or an empty directory, so a full one is first
    renamed aside to a unique `.name.old-PID-*` (removed afterwards). Another writer may
    move or fill `path` in between: then the two steps are retried.
    """
    parent, name = os.path.split(path)
    asides = []
    try:
        for _ in range(attempts):
            try:
                os.rename(source, path)
                return
            except OSError as error:
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR,
                                       errno.EISDIR):
                    raise
            aside = os.path.join(parent, f".{name}.old-{_unique()}")
            try:
                os.rename(path, aside)
                asides.append(aside)
            except FileNotFoundError:
                pass  # another writer moved it aside first
        raise OSError(errno.EBUSY, f"could not replace {path}: other writers kept replacing it")
    finally:
        for aside in asides:
            if os.path.isdir(aside) and not os.path.islink(aside):
                shutil.rmtree(aside, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.remove(aside)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a text file (UTF-8) that replaces `path` only when the body succeeds.

    The lines go to a temporary sibling (`path.tmp-PID-*`), renamed onto `path` at the
    end; on failure it is removed and `path` is left as it was.
    """
    tmp = f"{path}.tmp-{_unique()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_text_atomic(path, text):
    """Writes `text` to `path` through a temporary file and a rename."""
    with atomic_file(path) as f:
        f.write(text)


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def prepare_output_file(path, input_path=None):
    """Checks that a file can be written at `path` and creates its parent folders.

    Args:
        path: the output file.
        input_path: the input file the output is made from; `path` must not be it (under
            any name: a symlink, a hard link, a relative path).

    Raises:
        InputError: `path` is an existing directory or the input file, or its parent
            cannot be created.
    """
    if os.path.isdir(path):
        raise InputError(path, "is a directory, expected an output file path")
    if input_path is not None and _same_file(input_path, path):
        raise InputError(path, f"is the input file {input_path}: writing it would destroy "
                               "the input; choose another output file")
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise InputError(parent, f"cannot create the output folder ({error.strerror})") from None
