"""The stage-2.1 throughput benchmark times the Distiller's own step on a student cut
from the model, and leaves the teacher as it was."""

import numpy as np

from nlu_tf.benchmark.throughput import measure_distill
from nlu_tf.data.reader import read_dataset
from nlu_tf.models.model_dir import load_any
from tests.tiny import write_tiny_bert, write_tiny_dataset


def test_distill_step_is_timed_and_trains_only_the_student(tmp_path):
    labels, splits = read_dataset(write_tiny_dataset(str(tmp_path / "data")))
    bundle = load_any(write_tiny_bert(str(tmp_path / "bert")), labels, 24)
    before = [w.numpy().copy() for w in bundle.model.weights]
    result = measure_distill(bundle, splits["train"], 1, batch_size=4, train_steps=2,
                             jit_compile=False)
    assert result["distill_layers"] == 1
    assert result["distill_examples_per_s"] > 0
    assert result["distill_shapes"] >= 1
    after = [w.numpy() for w in bundle.model.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_cached_teacher_step_is_timed_from_the_command_line(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.tiny import REPO

    data = write_tiny_dataset(str(tmp_path / "data"))
    bert = write_tiny_bert(str(tmp_path / "bert"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "benchmark_train.py"), "--model_dir", bert,
         "--data_dir", data, "--task", "", "--max_seq_len", "24", "--batch_size", "4",
         "--train_steps", "2", "--distill_layers", "1", "--teacher_cache", "--nojit_compile"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["distill_teacher_cache"] is True
    assert report["distill_examples_per_s"] > 0
    assert report["distill_cache_fill_seconds"] >= 0 and report["distill_cache_mb"] > 0
