"""The stage-2.1 throughput benchmark times the Distiller's own step on a student cut
from the model, and leaves the teacher as it was; the train benchmark's JSON names its
machine, precision and XLA choice."""

import json
import os
import subprocess
import sys

import numpy as np

from nlu_tf.benchmark.machine import SPEED_FLAGS
from nlu_tf.benchmark.throughput import measure_distill
from nlu_tf.data.reader import read_dataset
from nlu_tf.model_io.model_dir import load_any
from tests.tiny import REPO, write_tiny_bert, write_tiny_dataset


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


def test_train_benchmark_names_its_machine_precision_and_xla_choice(tmp_path):
    # The distillation step also reads cached teacher outputs (--teacher_cache).
    data = write_tiny_dataset(str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "benchmark_train.py"), "--model_dir",
         write_tiny_bert(str(tmp_path / "bert")), "--data_dir", data, "--task", "",
         "--batch_size", "4", "--train_steps", "1", "--max_seq_len", "24",
         "--distill_layers", "1", "--mixed_precision", "mixed_bfloat16", "--teacher_cache"],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["mixed_precision"] == "mixed_bfloat16" and report["jit_compile"] is False
    assert report["train_examples_per_s"] > 0 and report["distill_examples_per_s"] > 0
    assert report["infer_examples_per_s"] > 0 and report["infer_file_order_examples_per_s"] > 0
    assert report["machine"]["cpu"] and set(report["machine"]["cpu_flags"]) == set(SPEED_FLAGS)
    assert report["distill_teacher_cache"] is True
    assert report["distill_cache_fill_seconds"] >= 0 and report["distill_cache_mb"] > 0
