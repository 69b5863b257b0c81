"""Seed repeats: the aggregate of per-seed reports (mean ± std, min - max), and the
`--seeds` flag's refusals."""

import os
import subprocess
import sys

import pytest

from nlu_tf.pipeline.aggregate import aggregate, markdown, seed_dir
from tests.tiny import REPO


def _report(intent, slot, p50):
    return {"rows": [{"model": "teacher keras", "intent_acc": intent, "slot_f1": slot,
                      "sentence_acc": 0.5, "size_mb": 90.0, "p50_ms": None},
                     {"model": "student tflite_dynamic", "intent_acc": intent - 0.01,
                      "slot_f1": slot - 0.01, "sentence_acc": 0.4, "size_mb": 17.0,
                      "p50_ms": p50}]}


def test_mean_std_min_max_per_artefact_and_metric():
    result = aggregate({42: _report(0.98, 0.95, 0.3), 43: _report(0.96, 0.93, 0.5),
                        44: _report(0.97, 0.94, 0.4)})
    assert result["seeds"] == [42, 43, 44]
    teacher, student = result["rows"]
    assert teacher["model"] == "teacher keras" and teacher["runs"] == 3
    assert teacher["intent_acc"]["mean"] == pytest.approx(0.97)
    assert teacher["intent_acc"]["std"] == pytest.approx(0.01)  # sample std, n - 1
    assert (teacher["intent_acc"]["min"], teacher["intent_acc"]["max"]) == (0.96, 0.98)
    assert "p50_ms" not in teacher and student["p50_ms"]["mean"] == pytest.approx(0.4)
    table = markdown(result)
    assert "| student tflite_dynamic | 3 | 96.00 ± 1.00 (95.00 – 97.00)" in table
    assert table.startswith("Seeds 42, 43, 44")


def test_one_seed_has_no_spread():
    result = aggregate({7: _report(0.9, 0.8, 1.0)})
    assert result["rows"][0]["slot_f1"]["std"] == 0.0


def test_seed_dirs():
    assert seed_dir("runs/snips/", 42) == "runs/snips/seed_42"


@pytest.mark.parametrize("args", [["--seeds", "42,x"], ["--seeds", "42,42"],
                                  ["--seeds", "42,43", "--seed", "1"]])
def test_bad_seed_lists_exit_2_with_one_line(args, tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, os.path.join(REPO, "tools", "pipeline.py"),
                           "--config", os.path.join(REPO, "configs", "tiny.yaml"),
                           "--output_dir", str(tmp_path / "out"), *args],
                          env=env, capture_output=True, text=True, timeout=180)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 2 and len(errors) == 1 and "--seeds" in errors[0], done.stderr[-1500:]
    assert not (tmp_path / "out").exists()
