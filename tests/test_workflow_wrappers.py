"""The BERT-EMD / TinyBERT command lines run on our tasks through the same library."""

import json
import os
import subprocess
import sys

from tests.tiny import REPO, write_tiny_bert, write_tiny_dataset


def _run(tool, *args):
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", tool), *args],
                          capture_output=True, text=True, timeout=600)


def test_emd_task_distill_then_task_distill_eval(tmp_path, tiny_model_dir):
    data = tmp_path / "data"
    write_tiny_dataset(str(data / "snips"), train=32, dev=16, test=16)
    tinybert = write_tiny_bert(str(tmp_path / "tinybert"), seed=5, num_hidden_layers=1,
                               hidden_size=16, num_attention_heads=4, intermediate_size=32)
    student = tmp_path / "emd_student"
    result = _run("emd_task_distill.py", "--teacher_model", tiny_model_dir,
                  "--student_model", tinybert, "--data_dir", str(data), "--task_name", "snips",
                  "--output_dir", str(student), "--max_seq_length", "32",
                  "--train_batch_size", "16", "--num_train_epochs", "1", "--do_lower_case", "--nojit_compile")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    # Training prints and stores dev scores only: test is read by evaluation alone.
    assert "test" not in summary and summary["dev"]["examples"] == 16
    with open(student / "metrics.json") as f:
        assert "test" not in json.load(f)
    assert set(summary["emd_layer_weights"]) == {"student_att", "teacher_att", "student_hid",
                                                  "teacher_hid"}
    with open(student / "config.json") as f:
        assert json.load(f)["model"]["encoder_config"]["hidden_size"] == 16

    evaluated = _run("task_distill.py", "--do_eval", "--student_model", str(student),
                     "--data_dir", str(data), "--task_name", "snips", "--output_dir",
                     str(tmp_path / "eval"), "--do_lower_case", "--eval_batch_size", "8",
                     "--max_seq_length", "32")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert (tmp_path / "eval" / "eval_results.txt").read_text().startswith("intent_acc = ")
    assert json.loads(evaluated.stdout.strip().splitlines()[-1])["examples"] == 16


def test_aug_train_without_augmented_set_says_so(tmp_path, tiny_model_dir):
    data = tmp_path / "data"
    write_tiny_dataset(str(data / "snips"))
    result = _run("emd_task_distill.py", "--teacher_model", tiny_model_dir, "--data_dir",
                  str(data), "--task_name", "snips", "--output_dir", str(tmp_path / "out"),
                  "--aug_train")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(
        "snips/train_aug: no 'train_aug' folder: training split not found")
    assert not (tmp_path / "out").exists()
