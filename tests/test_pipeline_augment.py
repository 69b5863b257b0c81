"""The pipeline's augment stage: students distil on train_aug, the teacher never does; a
killed augment stage is redone to the same bytes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.tiny import REPO

TOOL = os.path.join(REPO, "tools", "pipeline.py")
TINY = os.path.join(REPO, "configs", "tiny.yaml")


def _command(output_dir, bert, data, *extra):
    return [sys.executable, TOOL, "--config", TINY, "--output_dir", output_dir,
            "--set", f"teacher.model={bert}", "--set", f"data.data_dir={data}",
            "--set", "augment.copies=3", "--set", "augment.candidates=4", *extra]


def _run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory, tiny_bert_dir, tiny_data_dir):
    """(output folder, log) of a tiny recipe with augmentation run up to stage 2.1: both
    tests read it, the second as the bytes a killed augment stage must come back to."""
    output = str(tmp_path_factory.mktemp("fresh") / "run")
    return output, _run(_command(output, tiny_bert_dir, tiny_data_dir, "--until", "student_2.1"))


def test_students_distil_on_the_augmented_set_and_the_teacher_on_gold(fresh_run, tiny_bert_dir,
                                                                    tiny_data_dir):
    output, log = fresh_run
    assert "augment: 64 originals + " in log
    with open(os.path.join(output, "augment", "stage.json")) as f:
        counts = json.load(f)["counts"]
    assert counts["originals"] == 64 and counts["augmented"] > 64
    dataset = os.path.join(output, "augment", os.path.basename(tiny_data_dir))
    for split in ("dev", "test"):
        assert _read(os.path.join(dataset, split, "seq.in")) == _read(
            os.path.join(tiny_data_dir, split, "seq.in"))

    def metrics(stage):
        with open(os.path.join(output, stage, "metrics.json")) as f:
            return json.load(f)

    assert metrics("teacher")["train_examples"] == 64
    assert metrics("student_2.1")["train_examples"] == counts["originals"] + counts["augmented"]
    with open(os.path.join(output, "student_2.1", "settings.json")) as f:
        data = json.load(f)["data"]
    assert data["data_dir"] == dataset and data["train_split"] == "train_aug"
    again = _run(_command(output, tiny_bert_dir, tiny_data_dir, "--until", "student_2.1"))
    assert "augment: complete, skipped" in again and "student_2.1: complete, skipped" in again


def test_killed_augment_stage_is_redone_to_the_same_bytes(fresh_run, tmp_path, tiny_bert_dir,
                                                          tiny_data_dir):
    fresh = fresh_run[0]
    teacher = ["--until", "augment"]
    killed = str(tmp_path / "killed")
    # Share the fresh run's teacher so that the killed run reaches the augment stage fast.
    os.makedirs(killed)
    os.symlink(os.path.join(fresh, "teacher"), os.path.join(killed, "teacher"))
    process = subprocess.Popen(_command(killed, tiny_bert_dir, tiny_data_dir, *teacher),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if any(name.startswith(".augment.tmp-") for name in os.listdir(killed)):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    log = _run(_command(killed, tiny_bert_dir, tiny_data_dir, *teacher))
    assert "augment: complete, skipped" in log or "augment: running" in log
    assert not [name for name in os.listdir(killed) if name.startswith(".augment.tmp-")]
    name = os.path.basename(tiny_data_dir)
    for file in ("seq.in", "seq.out", "label"):
        path = os.path.join("augment", name, "train_aug", file)
        assert _read(os.path.join(killed, path)) == _read(os.path.join(fresh, path))
