"""BERT-EMD's GLUE command lines (#45): `nlu-emd-task-distill --task_name MRPC` then
`nlu-task-distill --do_eval`, and the one-line error of a malformed GLUE file."""

import json
import os
import subprocess
import sys

import pytest

from nlu_tf.training.stage import run_stage
from tests.glue_files import write_glue_task
from tests.test_glue_training import glue_settings
from tests.tiny import REPO, write_tiny_bert


def _run(tool, *args):
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", tool), *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def mrpc(tmp_path_factory, tiny_bert_dir):
    """(GLUE root, fine-tuned MRPC teacher directory)."""
    root = str(tmp_path_factory.mktemp("glue_cli"))
    write_glue_task(root, "mrpc", train=32, dev=16)
    teacher = str(tmp_path_factory.mktemp("glue_cli_teacher") / "teacher")
    run_stage(glue_settings(root, "mrpc", teacher, tiny_bert_dir, num_train_epochs=2))
    return root, teacher


def test_emd_task_distill_then_do_eval_on_mrpc(mrpc, tmp_path):
    root, teacher = mrpc
    student = write_tiny_bert(str(tmp_path / "tinybert"), seed=5, num_hidden_layers=1,
                              hidden_size=16, num_attention_heads=4, intermediate_size=32)
    output = tmp_path / "emd_student"
    # The seed command line, --data_dir the task's own folder.
    trained = _run("emd_task_distill.py", "--teacher_model", teacher, "--student_model", student,
                   "--data_dir", os.path.join(root, "MRPC"), "--task_name", "MRPC",
                   "--output_dir", str(output), "--max_seq_length", "32",
                   "--train_batch_size", "8", "--num_train_epochs", "1", "--do_lower_case",
                   "--beta", "0.5", "--T_emd", "2", "--temperature", "2")
    assert trained.returncode == 0, trained.stderr[-2000:]
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert set(summary["dev"]) == {"acc", "f1", "acc_and_f1", "examples"}
    assert summary["dev"]["examples"] == 16
    assert set(summary["emd_layer_weights"]) == {"student_att", "teacher_att", "student_hid",
                                                  "teacher_hid"}
    with open(output / "config.json") as f:
        config = json.load(f)
    assert config["head"] == "sequence" and config["model"]["task"] == "mrpc"
    assert config["model"]["encoder_config"]["hidden_size"] == 16
    with open(output / "settings.json") as f:
        distill = json.load(f)["distill"]
    assert (distill["beta"], distill["T_emd"], distill["temperature"]) == (0.5, 2.0, 2.0)

    # --data_dir the GLUE root this time: both are accepted.
    evaluated = _run("task_distill.py", "--do_eval", "--student_model", str(output),
                     "--data_dir", root, "--task_name", "mrpc", "--output_dir",
                     str(tmp_path / "eval"), "--do_lower_case", "--eval_batch_size", "8",
                     "--max_seq_length", "32")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    printed = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert printed == pytest.approx(summary["dev"])  # the figures training printed
    assert (tmp_path / "eval" / "eval_results.txt").read_text().startswith("acc = ")


@pytest.mark.parametrize("line, problem", [
    ("1\t7\t8\tone sentence", "3: 4 column(s), expected 5"),
    ("2\t7\t8\tone sentence\tanother one", "3: label '2' is not one of '0', '1'"),
])
def test_malformed_glue_file_is_one_line_and_exit_2(mrpc, tmp_path, line, problem):
    root, teacher = mrpc
    folder = write_glue_task(str(tmp_path / "glue"), "mrpc", train=8, dev=4)
    train = os.path.join(folder, "train.tsv")
    with open(train) as f:
        lines = f.read().splitlines()
    lines[2] = line  # the file's line 3
    with open(train, "w") as f:
        f.write("\n".join(lines) + "\n")
    result = _run("emd_task_distill.py", "--teacher_model", teacher, "--data_dir", folder,
                  "--task_name", "MRPC", "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"error: {train}:{problem}"
    assert not (tmp_path / "out").exists()


def test_nlu_train_fine_tunes_a_glue_teacher(tmp_path, tiny_bert_dir):
    root = str(tmp_path / "glue")
    write_glue_task(root, "sts-b", train=16, dev=8)
    result = _run("train.py", "--stage", "2.0", "--teacher_model", tiny_bert_dir,
                  "--data_dir", root, "--task", "STS-B", "--output_dir", str(tmp_path / "t"),
                  "--max_seq_len", "32", "--num_train_epochs", "1", "--nojit_compile")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"dev_pearson", "dev_spearmanr", "dev_corr"} <= set(printed)
    assert "dev_intent_acc" not in printed
