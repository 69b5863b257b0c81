"""The command lines refuse hostile or inconsistent checkpoints with exit 2 and one line."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.model_dir_builder import write_model_dir
from tests.tiny import REPO, write_tiny_bert, write_tiny_dataset
from tests.torch_bin_writer import View, save_torch_state_dict


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("data")), train=16, dev=8, test=8)


def _run(tool, *args, timeout=180):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", tool), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _refused(done, path, problem):
    """Exit 2, one `error: <path>: <problem>` line, no traceback."""
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert errors[0].startswith(f"error: {path}: ") and problem in errors[0], errors[0]


def _train(data_dir, teacher, output, *extra):
    return _run("train.py", "--stage", "2.0", "--teacher_model", str(teacher), "--data_dir",
                data_dir, "--output_dir", str(output), "--num_train_epochs", "1", *extra)


def test_train_refuses_stride0_pytorch_bin(tmp_path, data_dir):
    teacher = write_tiny_bert(str(tmp_path / "bert"))
    os.unlink(os.path.join(teacher, "model.safetensors"))
    weights = os.path.join(teacher, "pytorch_model.bin")
    save_torch_state_dict({"w": np.zeros(1, np.float32), "big": View("w", 0, (1 << 28,), (0,))},
                          weights)
    _refused(_train(data_dir, teacher, tmp_path / "out"), weights, "larger than its storage")
    assert not (tmp_path / "out").exists()


def test_train_refuses_a_million_layers_fast(tmp_path, data_dir):
    teacher = write_tiny_bert(str(tmp_path / "bert"), num_hidden_layers=2)
    config = json.load(open(os.path.join(teacher, "config.json")))
    config["num_hidden_layers"] = 1000000
    with open(os.path.join(teacher, "config.json"), "w") as f:
        json.dump(config, f)
    _refused(_train(data_dir, teacher, tmp_path / "out"),
             os.path.join(teacher, "config.json"),
             "num_hidden_layers is 1000000 but the weights hold 2 layer(s)")


def test_train_refuses_max_seq_len_beyond_positions(tmp_path, data_dir):
    teacher = write_tiny_bert(str(tmp_path / "bert"))
    _refused(_train(data_dir, teacher, tmp_path / "out", "--max_seq_len", "65"),
             os.path.join(teacher, "config.json"),
             "max_seq_len 65 is longer than the model's max_position_embeddings (64)")


def test_evaluate_refuses_a_label_file_one_line_short(tmp_path, data_dir):
    model = write_model_dir(str(tmp_path / "built"))
    broken = shutil.copytree(model, tmp_path / "model")
    labels = (broken / "intent_label.txt").read_text().splitlines()
    (broken / "intent_label.txt").write_text("\n".join(labels[:-1]) + "\n")
    done = _run("evaluate.py", "--model_dir", str(broken), "--data_dir", data_dir,
                "--jit_compile=false")
    _refused(done, broken / "intent_label.txt",
             f"{len(labels) - 1} labels, but the model's head has {len(labels)} outputs")
