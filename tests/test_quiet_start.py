"""nlu_cli.app: TensorFlow is imported when a command first needs it, and that import
prints nothing on stderr (no CUDA notices on a machine without a GPU) unless asked to.
A child process each: what is tested is the process's own stderr and first import."""

import os
import subprocess
import sys

from tests.tiny import REPO

SCRIPT = """
import sys
sys.argv = ["command", *sys.argv[1:]]
import nlu_cli.app
assert "tensorflow" not in sys.modules, "imported at start-up"
import tensorflow as tf
print(tf.constant(3).numpy(), type(tf.__spec__.loader).__name__)
"""


def _run(*args):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=300)


def test_the_first_tensorflow_import_is_deferred_and_quiet():
    result = _run()
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["3", "SourceFileLoader"]  # its own loader again
    assert result.stderr == ""


def test_verbosity_shows_what_tensorflow_prints():
    result = _run("--verbosity=1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(notice in result.stderr for notice in ("InitializeLog", "oneDNN", "cuda")), \
        result.stderr
