"""Glue shared by the command lines (nlu_cli/, tools/): quiet TensorFlow start-up, absl start-up and
error reporting. Imported by every tool before anything that imports TensorFlow."""

import os
import sys


def _asks_for_verbosity(argv):
    return any(arg in ("-v", "--verbosity") or arg.startswith(("-v=", "--verbosity="))
               for arg in argv[1:])


def _import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up notices kept off the terminal.

    On a machine without a GPU, TensorFlow prints "Could not find cuda drivers" while it
    loads and "failed call to cuInit: ... CUDA error" at its first op; a newcomer reads
    both as failures. The first is written before TensorFlow's log level applies, so the
    process's stderr is closed for the import alone; the second is an ERROR-level log
    line, hidden by level 3. `--verbosity` (absl's flag) shows everything, and so does
    `TF_CPP_MIN_LOG_LEVEL` set to 0 or 1.
    """
    if _asks_for_verbosity(sys.argv):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") not in ("0", "1"):
        # Level 2, the usual advice, still lets the cuInit ERROR line through.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()

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
