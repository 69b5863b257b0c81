"""Glue shared by the command lines (nlu_cli/, tools/): a quiet TensorFlow start-up, absl
start-up and error reporting. Imported by every tool before anything that imports
TensorFlow (it makes that import quiet; it does not import TensorFlow itself)."""

import importlib.abc
import importlib.util
import os
import sys


def _asks_for_verbosity(argv):
    return any(arg in ("-v", "--verbosity") or arg.startswith(("-v=", "--verbosity="))
               for arg in argv[1:])


class _QuietLoader:
    """Runs a module's own loader with the process's stderr closed (see
    `_QuietTensorFlow`)."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # anything else the import system or a reader asks
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            self._loader.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
            # The package keeps its own loader (resource readers, source lookups).
            module.__loader__ = self._loader
            if module.__spec__ is not None:
                module.__spec__.loader = self._loader


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Makes the first `import tensorflow`, wherever it happens, quiet.

    On a machine without a GPU, TensorFlow prints "Could not find cuda drivers" while it
    loads and "failed call to cuInit: ... CUDA error" at its first op; a newcomer reads
    both as failures. The first is written before TensorFlow's log level applies, so the
    process's stderr is closed while the package loads; the second is an ERROR-level log
    line, hidden by level 3. TensorFlow is imported when a command first needs it, not
    here: a command that checks its input first refuses a bad command line or recipe at
    once instead of after TensorFlow's start-up (seconds).
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def _quiet_tensorflow_import():
    """`--verbosity` (absl's flag) shows everything, and so does `TF_CPP_MIN_LOG_LEVEL`
    set to 0 or 1; otherwise level 3 (level 2, the usual advice, still lets the cuInit
    ERROR line through) and a quiet first import."""
    if _asks_for_verbosity(sys.argv):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") not in ("0", "1"):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" not in sys.modules and not any(
            isinstance(finder, _QuietTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())


_quiet_tensorflow_import()

from absl import app, flags  # noqa: E402

from nlu_tf.errors import InputError, RunError  # noqa: E402


def settings(build, values):
    """Calls `build(values)`, turning a `ValueError` from settings validation into an `InputError`."""
    try:
        return build(values)
    except ValueError as error:
        raise InputError("command line", str(error)) from None


def _flags_in_short_help():
    """Makes `--help` list the command's flags: absl lists those of the main module (the
    script run), and they are defined in nlu_cli's modules."""
    values = flags.FLAGS
    for module, defined in list(values.flags_by_module_dict().items()):
        if module.startswith("nlu_cli."):
            for flag in defined:
                values.register_key_flag_for_module(sys.argv[0], flag)


def run(main, doc=None):
    """Runs an absl `main`: an `InputError` gives one line on stderr and exit status 2, a
    `RunError` one line and exit status 1.

    `doc` (the command module's docstring) is what `--help` prints: absl reads the usage
    text from `__main__`, which is a console-script stub or a tools/ shim.
    """
    if doc:
        sys.modules["__main__"].__doc__ = doc
    _flags_in_short_help()

    def guarded(argv):
        try:
            return main(argv)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except RunError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)

    app.run(guarded)
