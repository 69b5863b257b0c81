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


DATA_SIDE = """
import sys
from absl import flags
shared = set(flags.FLAGS)
for name in sys.argv[1:]:
    __import__(name)
    for flag in set(flags.FLAGS) - shared:  # the next command defines its own again
        delattr(flags.FLAGS, flag)
print(sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
"""

# What a command runs before it builds a model: its flags, its recipe, and the reading and
# validation of its data. None of it may import TensorFlow, so that a bad flag or a malformed
# file is refused in a fraction of a second, not after the seconds TensorFlow takes to load.
COMMANDS_BEFORE_TENSORFLOW = [
    "nlu_cli.train", "nlu_cli.emd_task_distill", "nlu_cli.task_distill", "nlu_cli.predict",
    "nlu_cli.evaluate", "nlu_cli.convert", "nlu_cli.pipeline", "nlu_cli.trim_vocab",
    "nlu_cli.general_distill", "nlu_cli.data_augmentation", "nlu_cli.benchmark_latency",
    "nlu_cli.benchmark_train", "nlu_cli.golden_vectors", "nlu_tf.training.task_data",
    "nlu_tf.training.glue_data", "nlu_tf.data.reader", "nlu_tf.data.glue",
    "nlu_tf.pipeline.recipe"]


def test_commands_read_flags_and_data_before_tensorflow_loads():
    result = subprocess.run([sys.executable, "-c", DATA_SIDE, *COMMANDS_BEFORE_TENSORFLOW],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[]"]
