"""One run per output directory: an exclusive OS file lock held for the run's whole life.

The lock is `fcntl.flock` on `.<name>.lock`, a hidden sibling of the output directory
(beside its work folder `.<name>.work/`). The kernel releases it when its holder dies, so
a lock file left by a killed run is simply taken over. The holder writes its PID into the
file so that a second run can name it.
"""

import contextlib
import fcntl
import os

from nlu_tf.errors import InputError


def lock_path(output_dir):
    """The lock file of the run writing `output_dir`."""
    parent, name = os.path.split(os.path.abspath(output_dir))
    return os.path.join(parent, f".{name}.lock")


def _holder(fd):
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


def _acquire(path, output_dir):
    """Returns an open descriptor of `path` holding its lock, or raises `InputError`."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise InputError(path, f"cannot open the run's lock file ({error.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            raise InputError(output_dir, f"another run (PID {pid}) is writing this output "
                                         "directory; wait for it to end or choose another "
                                         "output directory") from None
        except BaseException:
            os.close(fd)
            raise
        # The previous holder may have removed the file between our open and our lock:
        # the lock is then on an orphaned inode, so start again on the current file.
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(current, os.fstat(fd)):
            return fd
        os.close(fd)


@contextlib.contextmanager
def run_lock(output_dir):
    """Holds the exclusive lock of `output_dir` for the body; `InputError` if another live
    process holds it (the message names its PID)."""
    path = lock_path(output_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = _acquire(path, output_dir)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        # Removed while still locked, so that a waiting opener re-checks (see `_acquire`).
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)
