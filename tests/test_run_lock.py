"""One run per output directory (nlu_tf.run_lock) and directory replacement that never
fails when writers finish together (nlu_tf.io_utils.atomic_dir)."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir
from nlu_tf.run_lock import lock_path, run_lock
from tests.tiny import REPO

HOLD = ("import sys, time; sys.path.insert(0, {repo!r}); from nlu_tf.run_lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)\n")


def _holder(output_dir):
    """A child process that holds the lock of `output_dir` until killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLD.format(repo=REPO), output_dir],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def _tool(name, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    started = time.time()
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", name), *args],
                            capture_output=True, text=True, env=env, timeout=300)
    return result, time.time() - started


def test_second_holder_is_refused_naming_the_first_pid(tmp_path):
    output = str(tmp_path / "out")
    process = _holder(output)
    try:
        with pytest.raises(InputError) as error:
            with run_lock(output):
                pass
        assert f"another run (PID {process.pid}) is writing this output directory" in \
            str(error.value)
    finally:
        process.kill()
        process.wait()
    # flock is released with its holder: a dead run's lock file is taken over.
    assert os.path.isfile(lock_path(output))
    with run_lock(output):
        with open(lock_path(output)) as f:
            assert f.read().strip() == str(os.getpid())
        with pytest.raises(InputError, match=f"PID {os.getpid()}"):
            with run_lock(output):
                pass
    assert not os.path.exists(lock_path(output))
    assert not os.path.exists(output)


def test_stale_lock_file_with_a_dead_pid_is_taken_over(tmp_path):
    output = str(tmp_path / "out")
    with open(lock_path(output), "w") as f:
        f.write("999999999\n")
    with run_lock(output) as path:
        with open(path) as f:
            assert f.read().strip() == str(os.getpid())


def test_train_and_pipeline_refuse_a_live_output_at_once(tmp_path, tiny_data_dir):
    output = str(tmp_path / "out")
    process = _holder(output)
    try:
        result, seconds = _tool("train.py", "--data_dir", tiny_data_dir, "--output_dir", output,
                                "--teacher_model", str(tmp_path))
        assert result.returncode == 2, result.stderr[-2000:]
        assert result.stderr.splitlines() == [
            f"error: {output}: another run (PID {process.pid}) is writing this output "
            "directory; wait for it to end or choose another output directory"]
        assert seconds < 30
        result, _ = _tool("pipeline.py", "--config", os.path.join(REPO, "configs", "tiny.yaml"),
                          "--output_dir", output, "--set", f"data.data_dir={tiny_data_dir}")
        assert result.returncode == 2, result.stderr[-2000:]
        assert result.stderr.splitlines()[-1].startswith(
            f"error: {output}: another run (PID {process.pid})")
        assert len(result.stderr.splitlines()) == 1
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not os.path.exists(output)


def test_convert_augmentation_and_trim_refuse_a_live_output(tmp_path, tiny_data_dir,
                                                             export_model_dir):
    output = str(tmp_path / "out")
    process = _holder(output)
    try:
        for tool, args in (
                ("convert.py", ("--model_dir", export_model_dir, "--convert_dir", output,
                                "--quantization", "float32")),
                ("data_augmentation.py", ("--data_dir", tiny_data_dir, "--output_dir", output)),
                ("trim_vocab.py", ("--model_dir", export_model_dir, "--output_dir", output,
                                   "--data_dir", tiny_data_dir))):
            result, _ = _tool(tool, *args)
            assert result.returncode == 2, (tool, result.stderr[-2000:])
            assert result.stderr.splitlines()[-1] == (
                f"error: {output}: another run (PID {process.pid}) is writing this output "
                "directory; wait for it to end or choose another output directory"), tool
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not os.path.exists(output)


def _write(path, tag):
    with atomic_dir(path) as tmp:
        for name in ("a", "b"):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(tag)


def _leftovers(parent):
    return [name for name in os.listdir(parent) if name != "target"]


def test_writers_finishing_together_in_threads_all_succeed(tmp_path):
    path = str(tmp_path / "target")
    failures = []
    for trial in range(100):
        barrier = threading.Barrier(4)

        def writer(tag):
            barrier.wait()
            try:
                _write(path, tag)
            except Exception as error:  # noqa: BLE001 (every failure is the finding)
                failures.append(repr(error))

        threads = [threading.Thread(target=writer, args=(f"{trial}-{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with open(os.path.join(path, "a")) as a, open(os.path.join(path, "b")) as b:
            assert a.read() == b.read() and a.name != b.name  # one writer's whole content
    assert failures == []
    assert _leftovers(str(tmp_path)) == []


WRITERS = ("import sys; sys.path.insert(0, {repo!r}); from nlu_tf.io_utils import atomic_dir\n"
           "import os\n"
           "for i in range(150):\n"
           "    with atomic_dir(sys.argv[1]) as tmp:\n"
           "        open(os.path.join(tmp, 'a'), 'w').write(sys.argv[2])\n")


def test_writers_finishing_together_in_processes_all_succeed(tmp_path):
    path = str(tmp_path / "target")
    processes = [subprocess.Popen([sys.executable, "-c", WRITERS.format(repo=REPO), path, str(i)],
                                  stderr=subprocess.PIPE, text=True) for i in range(3)]
    errors = [process.communicate(timeout=300)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    assert _leftovers(str(tmp_path)) == []
    assert os.listdir(path) == ["a"]
