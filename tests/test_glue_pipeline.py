"""The GLUE recipes (#45): each resolves to a teacher, a 4-layer student and its stages, and
the MRPC recipe runs end to end on a tiny generated task with the tiny recipe's budgets."""

import glob
import json
import os

import pytest

from nlu_tf.errors import InputError
from nlu_tf.pipeline.recipe import load_recipe, stage_settings
from tests.glue_files import write_glue_task
from tests.tiny import REPO

GLUE_RECIPES = sorted(glob.glob(os.path.join(REPO, "configs", "glue_*.yaml")))
# configs/tiny.yaml's budgets, on a GLUE recipe: a 1-layer student of the 2-layer tiny BERT,
# one epoch a stage, no XLA, one export mode (tests/test_glue_export.py converts every mode).
TINY = ("data.max_seq_len=32", "data.train_batch_size=16", "data.eval_batch_size=32",
        "training.jit_compile=false", "training.checkpoint_every=2", "training.verbose=0",
        "training.warmup_proportion=0.0", "teacher.epochs=1", "teacher.learning_rate=3e-3",
        "student.num_layers=1", "stage_2_1.epochs=1", "stage_2_1.learning_rate=3e-3",
        "stage_2_2.epochs=1", "stage_2_2.learning_rate=3e-3",
        "export.quantizations=[float32]", "export.representative_size=8")


def test_the_five_glue_recipes_resolve(tmp_path):
    names = sorted(os.path.basename(path) for path in GLUE_RECIPES)
    assert names == ["glue_cola.yaml", "glue_mrpc.yaml", "glue_rte.yaml", "glue_sst-2.yaml",
                     "glue_sts-b.yaml"]
    for path in GLUE_RECIPES:
        recipe = load_recipe(path, output_dir=str(tmp_path))
        assert recipe["teacher"]["model"] == ""  # the embedded default teacher
        settings = stage_settings(recipe, "teacher_checkpoint")
        assert [s.stage for s in settings.values()] == ["2.0", "2.1", "2.2"]
        student = settings["student_2.1"]
        assert (student.student.num_layers, student.distill.layer_mapping) == (4, "emd")
        assert (student.optimizer.learning_rate, student.data.train_batch_size,
                student.data.max_seq_len, student.num_train_epochs) == (5e-5, 32, 128, 10)


def test_a_glue_recipe_refuses_what_reads_joint_data(tiny_bert_dir, tmp_path):
    from nlu_tf.pipeline.orchestrator import run_pipeline

    write_glue_task(str(tmp_path), "mrpc", train=8, dev=4)
    recipe = load_recipe(os.path.join(REPO, "configs", "glue_mrpc.yaml"),
                         [f"teacher.model={tiny_bert_dir}", f"data.data_dir={tmp_path}",
                          "export.clu=true", *TINY], output_dir=str(tmp_path / "out"))
    with pytest.raises(InputError, match="export.clu is for joint intent"):
        run_pipeline(recipe, log=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_the_mrpc_recipe_runs_end_to_end_on_a_tiny_task(tiny_bert_dir, tmp_path):
    from nlu_tf.pipeline.orchestrator import run_pipeline

    write_glue_task(str(tmp_path), "mrpc", train=16, dev=8)
    out = tmp_path / "out"
    recipe = load_recipe(os.path.join(REPO, "configs", "glue_mrpc.yaml"),
                         [f"teacher.model={tiny_bert_dir}", f"data.data_dir={tmp_path}", *TINY],
                         output_dir=str(out))
    lines = []
    report = run_pipeline(recipe, log=lines.append)
    kinds = [(row["role"], row["kind"]) for row in report["rows"]]
    assert kinds == [("teacher", "keras"), ("student", "keras")] + [
        (role, kind) for role in ("teacher", "student")
        for kind in ("saved_model", "tflite_float32")]
    for row in report["rows"]:  # every artefact scored on the same 8 dev pairs
        assert row["examples"] == 8 and set(row) >= {"acc", "f1", "acc_and_f1"}, row
        assert "intent_acc" not in row
    by_kind = {(row["role"], row["kind"]): row for row in report["rows"]}
    for role in ("teacher", "student"):
        assert by_kind[(role, "tflite_float32")]["acc"] == pytest.approx(
            by_kind[(role, "keras")]["acc"])
    with open(out / "student_2.1" / "metrics.json") as f:
        assert "emd_layer_weights" in json.load(f)  # stage 2.1 used BERT-EMD's mapping
    with open(out / "export" / "student" / "tflite_float32" / "model_info.json") as f:
        info = json.load(f)
    assert (info["task"], info["is_pair"], info["labels"]) == ("mrpc", True, ["0", "1"])
    table = (out / "report.md").read_text()
    assert "| model | dev acc | dev f1 | dev acc_and_f1 |" in table
    assert any("GLUE's test labels are not public" in note for note in report["notes"])
