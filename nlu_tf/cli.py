"""Glue shared by the command lines in tools/: absl start-up and error reporting."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402

from nlu_tf.errors import InputError, RunError  # noqa: E402


def settings(build, values):
    """Calls `build(values)`, turning a `ValueError` from settings validation into an `InputError`."""
    try:
        return build(values)
    except ValueError as error:
        raise InputError("command line", str(error)) from None


def run(main):
    """Runs an absl `main`: an `InputError` gives one line on stderr and exit status 2, a
    `RunError` one line and exit status 1."""

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
