"""tools/pipeline.py: recipes, completeness checks, a killed run that resumes, a broken
stage that is redone, and the report of the tiny pipeline."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from nlu_tf.errors import InputError
from nlu_tf.pipeline.recipe import load_recipe, stage_settings
from nlu_tf.pipeline.stages import check_stage
from tests.tiny import REPO

TOOL = os.path.join(REPO, "tools", "pipeline.py")
TINY = os.path.join(REPO, "configs", "tiny.yaml")
RECIPES = sorted(glob.glob(os.path.join(REPO, "configs", "*.yaml")))
# Stage 2.1 long enough (8 epochs of 4 steps, a checkpoint every 2) to be killed inside it:
# the kill comes at its first checkpoint, 30 steps before its end.
LONG_2_1 = "stage_2_1.epochs=8"


def _command(output_dir, bert, data, *extra):
    return [sys.executable, TOOL, "--config", TINY, "--output_dir", output_dir,
            "--set", f"teacher.model={bert}", "--set", f"data.data_dir={data}",
            "--set", LONG_2_1, *extra]


def _call(command):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def _run(command):
    result = _call(command)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _metrics(output_dir, stage):
    with open(os.path.join(output_dir, stage, "metrics.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("path", RECIPES, ids=os.path.basename)
def test_every_recipe_resolves_to_valid_stage_settings(path):
    recipe = load_recipe(path, output_dir="/tmp/x")
    settings = stage_settings(recipe, "teacher_checkpoint")
    extra = settings.pop("extra_teachers", ())
    assert [s.stage for s in settings.values()] == ["2.0", "2.1", "2.2"]
    assert len(extra) == recipe["teacher"]["ensemble"] - 1
    assert settings["student_2.2"].extra_teachers == tuple(s.output_dir for s in extra)
    assert all(s.stage == "2.0" and s.seed > recipe["seed"] for s in extra)
    assert settings["student_2.2"].student_model == os.path.join("/tmp/x", "student_2.1")


def test_unknown_key_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stage_2_1:\n  epochs: 2\n  learnig_rate: 1e-4\n")
    with pytest.raises(InputError, match=r"bad\.yaml.*stage_2_1\.learnig_rate"):
        load_recipe(str(path))
    with pytest.raises(InputError, match="teacher.nope"):
        load_recipe(TINY, ["teacher.nope=1"])
    with pytest.raises(InputError, match="layer_mapping"):
        load_recipe(TINY, ["student.layer_mapping=random"])


@pytest.mark.parametrize("override, problem", [
    ("student.num_layers=3", "student.num_layers: a student cut from a 2-layer teacher"),
    ("student.num_layers=100000000", "has 1..2 layers"),
    ("student.tinybert=/nonexistent/tinybert", "config.json not found")])
def test_refused_student_leaves_nothing_behind(tiny_bert_dir, tiny_data_dir, tmp_path,
                                               override, problem):
    """#43 item 15: a recipe whose student stage 2.1 would refuse is refused before the
    teacher trains, and neither pipeline_settings.json nor an empty folder is left."""
    from nlu_tf.pipeline.orchestrator import run_pipeline

    out = tmp_path / "run"
    recipe = load_recipe(TINY, [f"teacher.model={tiny_bert_dir}", f"data.data_dir={tiny_data_dir}",
                                override], output_dir=str(out))
    with pytest.raises(InputError, match=problem):
        run_pipeline(recipe, log=lambda line: None)
    assert not out.exists()


def test_overrides_replace_recipe_values():
    recipe = load_recipe(TINY, ["stage_2_1.epochs=3", "export.quantizations=[int8]",
                                "student.layer_mapping=emd"], output_dir="elsewhere", seed=9)
    assert recipe["stage_2_1"]["epochs"] == 3.0 and recipe["export"]["quantizations"] == ["int8"]
    assert recipe["output_dir"] == "elsewhere" and recipe["seed"] == 9
    assert recipe["teacher"]["learning_rate"] == 3e-3  # "3.0e-3" in the YAML
    settings = stage_settings(recipe, "bert")
    assert settings["student_2.1"].distill.layer_mapping == "emd"
    assert settings["student_2.2"].distill.layer_mapping == "uniform"


def test_a_stage_eval_step_overrides_the_training_one_and_bad_values_are_refused():
    settings = stage_settings(load_recipe(TINY, ["training.eval_step=7",
                                                 "stage_2_2.eval_step=3",
                                                 "teacher.eval_step=0"]), "bert")
    assert [settings[name].eval_step for name in ("teacher", "student_2.1", "student_2.2")] \
        == [0, 7, 3]
    settings = stage_settings(load_recipe(TINY, ["training.eval_step=5",
                                                 "stage_2_1.eval_step=null"]), "bert")
    assert {s.eval_step for s in settings.values()} == {5}
    for bad in ("-1", "2.5", "true", "often"):
        with pytest.raises(InputError, match=r"stage_2_1\.eval_step: expected null or an integer"):
            load_recipe(TINY, [f"stage_2_1.eval_step={bad}"])


def test_stage_2_2_trains_for_4_bit_weights_on_request():
    settings = stage_settings(load_recipe(TINY, ["stage_2_2.weight_bits=4"]), "bert")
    assert [settings[name].student.weight_bits
            for name in ("teacher", "student_2.1", "student_2.2")] == [0, 0, 4]
    with pytest.raises(InputError, match="student_2.2: weight_bits must be 0"):
        stage_settings(load_recipe(TINY, ["stage_2_2.weight_bits=3"]), "bert")


def test_each_student_stage_chooses_the_augmented_set_or_the_gold_one(tiny_data_dir):
    from nlu_tf.pipeline.recipe import augments

    def splits(*overrides):
        recipe = load_recipe(TINY, [f"data.data_dir={tiny_data_dir}", "augment.copies=2",
                                    *overrides], output_dir="out")
        settings = stage_settings(recipe, "bert")
        return augments(recipe), [(settings[n].data.train_split, settings[n].data.data_dir)
                                  for n in ("teacher", "student_2.1", "student_2.2")]

    gold = tiny_data_dir
    augmented = os.path.join("out", "augment", os.path.basename(os.path.normpath(gold)))
    assert splits() == (True, [("train", gold), ("train_aug", augmented),
                               ("train_aug", augmented)])
    assert splits("stage_2_1.aug_train=false") == (
        True, [("train", gold), ("train", gold), ("train_aug", augmented)])
    assert splits("stage_2_2.aug_train=false")[1][1:] == [("train_aug", augmented),
                                                          ("train", gold)]
    with pytest.raises(InputError, match="augment.copies is set but neither stage_2_1.aug_train"):
        splits("stage_2_1.aug_train=false", "stage_2_2.aug_train=false")
    recipe = load_recipe(TINY, ["stage_2_1.aug_train=false"])  # no copies: nothing to choose
    assert not augments(recipe)
    with pytest.raises(InputError, match="teacher.aug_train"):
        load_recipe(TINY, ["teacher.aug_train=true"])


def test_check_stage_rejects_missing_and_half_written_outputs(tmp_path):
    export = {"export": {"quantizations": ["dynamic"], "saved_model": False}}
    assert check_stage("export", str(tmp_path / "none"), export) == "absent"
    folder = tmp_path / "export"
    (folder / "student" / "tflite_dynamic").mkdir(parents=True)
    (folder / "stage.json").write_text(json.dumps({"settings": export}))
    assert "model.tflite" in check_stage("export", str(folder), export)
    (folder / "teacher").mkdir()
    problem = check_stage("evaluate", str(folder), {"artefacts": []})
    assert problem and "results.json" in problem



def test_outputs_written_before_mixed_precision_still_count_as_complete(tmp_path):
    # A stage recorded before `mixed_precision` existed (jit_compile true, no precision)
    # is what a float32 "auto" recipe asks for now: skipped, not deleted and redone.
    folder = tmp_path / "evaluate"
    folder.mkdir()
    old = {"artefacts": [["student", "keras", "student_2.2"]], "jit_compile": True,
           "data": {"task": "snips"}}
    (folder / "results.json").write_text(json.dumps({"settings": old, "rows": [{}]}))
    now = {**old, "jit_compile": "auto"}
    assert check_stage("evaluate", str(folder), now) is None
    assert check_stage("evaluate", str(folder), {**now, "mixed_precision": "float32"}) is None
    problem = check_stage("evaluate", str(folder), {**now, "mixed_precision": "mixed_bfloat16"})
    assert problem and "other settings" in problem
    assert check_stage("evaluate", str(folder), {**old, "jit_compile": False}) is not None


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory, tiny_bert_dir, tiny_data_dir):
    """The tiny pipeline killed (SIGKILL) inside stage 2.1, then rerun to the end."""
    output = str(tmp_path_factory.mktemp("pipeline") / "out")
    command = _command(output, tiny_bert_dir, tiny_data_dir)
    state = os.path.join(output, ".student_2.1.work", "checkpoint", "state.json")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)
    deadline = time.time() + 300
    while not os.path.isfile(state) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert os.path.isfile(state), "stage 2.1 wrote no checkpoint before the kill"
    assert not os.path.exists(os.path.join(output, "student_2.1")), "killed too late"
    teacher_mtime = os.path.getmtime(os.path.join(output, "teacher", "metrics.json"))
    log = _run(command)
    return output, log, teacher_mtime


def test_killed_run_skips_the_teacher_and_resumes_stage_2_1(killed_and_resumed):
    output, log, teacher_mtime = killed_and_resumed
    assert "teacher: complete, skipped" in log
    assert os.path.getmtime(os.path.join(output, "teacher", "metrics.json")) == teacher_mtime
    resumed = _metrics(output, "student_2.1")
    assert 0 < resumed["resumed_from_step"] < resumed["steps"]
    assert _metrics(output, "student_2.2")["resumed_from_step"] == 0
    assert not os.path.exists(os.path.join(output, ".student_2.1.work"))


def test_report_has_every_artefact_and_the_plots(killed_and_resumed, tiny_bert_dir,
                                                tiny_data_dir):
    output, log, _ = killed_and_resumed
    with open(os.path.join(output, "report.json")) as f:
        report = json.load(f)
    names = [row["model"] for row in report["rows"]]
    assert names == ["teacher keras", "student keras", "teacher tflite_float32",
                     "teacher tflite_dynamic", "student tflite_float32",
                     "student tflite_dynamic"]
    for row in report["rows"]:
        assert 0 <= row["intent_acc"] <= 1 and row["size_mb"] > 0 and row["num_parameters"]
        assert (row["p50_ms"] is not None) == row["kind"].startswith("tflite")
    assert report["rows"][1]["num_parameters"] < report["rows"][0]["num_parameters"]
    assert set(report["plots"]) == {"dev_metrics.png", "accuracy_latency_size.png"}
    for name in report["plots"]:
        with open(os.path.join(output, "report", name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(output, "report.md")) as f:
        markdown = f.read()
    assert all(f"| {name} |" in markdown for name in names)
    assert log.rstrip().splitlines()[-1].startswith("| student tflite_dynamic |")
    with open(os.path.join(output, "pipeline_settings.json")) as f:
        assert json.load(f)["recipe"]["stage_2_1"]["epochs"] == 8.0
    again = _run(_command(output, tiny_bert_dir, tiny_data_dir))
    assert all(f"{stage}: complete, skipped" in again for stage in
               ("teacher", "student_2.1", "student_2.2", "export", "evaluate", "report"))
    assert again.rstrip().splitlines()[-1].startswith("| student tflite_dynamic |")


def test_broken_teacher_stage_is_redone_not_loaded(killed_and_resumed, tmp_path, tiny_bert_dir,
                                                    tiny_data_dir):
    # A copy, so that the shared finished run stays intact for the other tests.
    output = str(tmp_path / "out")
    shutil.copytree(killed_and_resumed[0], output)
    metrics = os.path.join(output, "teacher", "metrics.json")
    with open(metrics, "r+") as f:
        f.truncate(20)
    log = _run([*_command(output, tiny_bert_dir, tiny_data_dir), "--until", "teacher"])
    assert "teacher: incomplete or stale (JSONDecodeError" in log
    assert "teacher: done" in log
    assert _metrics(output, "teacher")["dev"]["examples"] > 0
    assert "test" not in _metrics(output, "teacher")
    for later in ("student_2.1", "student_2.2", "export", "evaluate", "report"):
        assert not os.path.exists(os.path.join(output, later)), later
    assert not os.path.exists(os.path.join(output, "report.md"))


def test_report_plots_include_emd_layer_weights(tmp_path):
    from nlu_tf.pipeline.report import markdown_table, write_plots

    rows = [{"model": "student tflite_int8", "intent_acc": 0.9, "slot_f1": 0.8,
             "sentence_acc": 0.7, "num_parameters": 1000, "size_mb": 0.5, "p50_ms": 1.5},
            {"model": "student keras", "intent_acc": 0.91, "slot_f1": 0.81,
             "sentence_acc": 0.71, "num_parameters": 1000, "size_mb": 2.0, "p50_ms": None}]
    history = {"student_2.2": [{"step": 4, "intent_acc": 0.5, "slot_f1": 0.4,
                                "sentence_acc": 0.3}]}
    weights = {"student_att": [0.5, 0.5], "teacher_att": [0.25, 0.25, 0.25, 0.25]}
    names = write_plots(str(tmp_path), history, weights, rows)
    assert names == ["dev_metrics.png", "emd_layer_weights.png", "accuracy_latency_size.png"]
    assert all((tmp_path / name).stat().st_size > 0 for name in names)
    table = markdown_table(rows)
    assert "| student tflite_int8 | 90.00 | 80.00 | 70.00 | 1,000 | 0.50 | 1.50 |" in table
    assert table.splitlines()[-1].endswith("| 2.00 |  |")


def test_resumed_run_ends_with_the_metrics_of_an_uninterrupted_run(killed_and_resumed, tmp_path,
                                                                   tiny_bert_dir, tiny_data_dir):
    """Resumption replays the same batches from the checkpointed step, so the killed and
    resumed run and an uninterrupted one end with the same students (up to float
    summation order: scores compared to 1e-6)."""
    resumed, _, _ = killed_and_resumed
    fresh = str(tmp_path / "fresh")
    # The same teacher (the kill came after it): the students are what resumed.
    _run([*_command(fresh, tiny_bert_dir, tiny_data_dir), "--until", "student_2.2", "--set",
          f"teacher.finetuned={os.path.join(resumed, 'teacher')}"])
    for stage in ("student_2.1", "student_2.2"):
        assert _metrics(fresh, stage)["resumed_from_step"] == 0
        # The losses logged before the kill survive the resume.
        want_losses, got_losses = (_metrics(run, stage)["loss_history"] for run in (fresh, resumed))
        assert got_losses == pytest.approx(want_losses, abs=1e-5), stage
        for split in ("dev",):  # training stages score dev only (test: the evaluate stage)
            want, got = _metrics(fresh, stage)[split], _metrics(resumed, stage)[split]
            for key in ("intent_acc", "slot_f1", "sentence_acc", "loss"):
                if key in want:
                    assert got[key] == pytest.approx(want[key], abs=1e-6), (stage, split, key)
    history = _metrics(fresh, "student_2.2")["dev_history"]
    assert len(history) > 1
    resumed_history = _metrics(resumed, "student_2.2")["dev_history"]
    assert [entry.keys() for entry in resumed_history] == [entry.keys() for entry in history]
    for want, got in zip(history, resumed_history):
        for key, value in want.items():
            assert got[key] == pytest.approx(value, abs=1e-6), (want["step"], key)


def test_finetuned_teacher_replaces_stage_2_0_and_emd_runs_to_the_report(
        killed_and_resumed, tmp_path, tiny_bert_dir, tiny_data_dir):
    teacher = os.path.join(killed_and_resumed[0], "teacher")
    teacher_mtime = os.path.getmtime(os.path.join(teacher, "metrics.json"))
    output = str(tmp_path / "emd")
    log = _run([*_command(output, tiny_bert_dir, tiny_data_dir), "--set",
                f"teacher.finetuned={teacher}", "--set", "student.layer_mapping=emd",
                "--set", "stage_2_1.epochs=1", "--set", "export.quantizations=[dynamic]"])
    assert "stage 2.0 not run" in log and "teacher: running" not in log
    assert not os.path.exists(os.path.join(output, "teacher"))
    assert os.path.getmtime(os.path.join(teacher, "metrics.json")) == teacher_mtime
    with open(os.path.join(output, "student_2.1", "settings.json")) as f:
        assert json.load(f)["teacher_model"] == teacher
    weights = _metrics(output, "student_2.1")["emd_layer_weights"]
    assert len(weights["teacher_att"]) == 2 and len(weights["student_att"]) == 1
    with open(os.path.join(output, "report.json")) as f:
        report = json.load(f)
    assert "emd_layer_weights.png" in report["plots"]
    teacher_row = report["rows"][0]
    assert teacher_row["model"] == "teacher keras"
    # Test is read by evaluate stages alone: the same teacher scores the same in both runs.
    with open(os.path.join(killed_and_resumed[0], "report.json")) as f:
        first = json.load(f)["rows"][0]
    assert first["model"] == "teacher keras"
    assert teacher_row["intent_acc"] == pytest.approx(first["intent_acc"])


def test_an_ensemble_trains_its_extra_teachers_resumably_and_feeds_stage_2_2(
        killed_and_resumed, tmp_path, tiny_bert_dir, tiny_data_dir):
    """teacher.ensemble 2: a second teacher at the next seed (killed inside it, resumed),
    stage 2.1 from the first teacher alone, stage 2.2 from both. The first teacher is the
    shared run's (teacher.finetuned): the extra one is fine-tuned all the same."""
    output = str(tmp_path / "ensemble")
    first = os.path.join(killed_and_resumed[0], "teacher")
    command = [*_command(output, tiny_bert_dir, tiny_data_dir), "--set", "teacher.ensemble=2",
               "--set", f"teacher.finetuned={first}", "--set", "teacher.epochs=10",
               "--set", "teacher.eval_step=0",
               "--set", "stage_2_1.epochs=1", "--until", "student_2.2"]
    second = os.path.join(output, "extra_teachers", "teacher_2")
    state = os.path.join(output, "extra_teachers", ".teacher_2.work", "checkpoint",
                         "state.json")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    deadline = time.time() + 300
    while not os.path.isfile(state) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert os.path.isfile(state) and not os.path.exists(second), "not killed inside teacher_2"
    log = _run(command)
    assert "stage 2.0 not run" in log and "extra_teachers: teacher_2 (seed 2)" in log
    resumed = _metrics(output, os.path.join("extra_teachers", "teacher_2"))
    assert 0 < resumed["resumed_from_step"] < resumed["steps"]
    with open(os.path.join(second, "settings.json")) as f:
        assert json.load(f)["seed"] == 2
    with open(os.path.join(output, "student_2.1", "settings.json")) as f:
        assert json.load(f)["extra_teachers"] == []
    with open(os.path.join(output, "student_2.2", "settings.json")) as f:
        assert json.load(f)["extra_teachers"] == [second]
    again = _run(command)
    assert "extra_teachers: complete, skipped" in again
    assert "student_2.2: complete, skipped" in again


def test_finetuned_teacher_that_is_not_a_model_directory_is_refused(tmp_path, tiny_bert_dir,
                                                                     tiny_data_dir):
    output = str(tmp_path / "out")
    result = _call([*_command(output, tiny_bert_dir, tiny_data_dir), "--set",
                    f"teacher.finetuned={tmp_path / 'nowhere'}"])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'}: model directory not found"]
    assert not os.path.exists(output)


@pytest.mark.parametrize("section", ["student", "export"])
def test_missing_trim_corpus_is_refused_before_the_teacher_trains(tmp_path, tiny_bert_dir,
                                                                   tiny_data_dir, section):
    output = str(tmp_path / "out")
    missing = tmp_path / "words.txt"
    result = _call([*_command(output, tiny_bert_dir, tiny_data_dir), "--set",
                    f"{section}.trim_vocab=true", "--set", f"{section}.trim_corpus=[{missing}]"])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {missing}: corpus file not found ({section}.trim_corpus)"]
    assert not os.path.exists(output)


def _refused(command, status=2):
    """Runs a command that must fail: returns its one `error:` line (the last of stderr)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == status, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], \
        result.stderr[-3000:]
    return errors[0]


def test_recipe_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"seed: 1\nstage_2_1:\n  epochs: 2  # caf\xe9\n")
    assert _refused([sys.executable, TOOL, "--config", str(path)]) == \
        f"error: {path}:3: not UTF-8 (byte 0xe9)"


def test_recipe_alias_bomb_is_refused_at_once(tmp_path):
    """A few hundred bytes of nested aliases expand to 9**9 strings when anything walks them."""
    rows = ["  - &a [" + ", ".join(["lol"] * 9) + "]"]
    rows += [f"  - &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
             for i in range(8)]
    path = tmp_path / "laughs.yaml"
    path.write_text("seed:\n" + "\n".join(rows) + "\n")
    started = time.time()
    line = _refused([sys.executable, TOOL, "--config", str(path)])
    assert time.time() - started < 60
    assert line == f"error: {path}:3: YAML aliases (*name) are not allowed in a recipe"


def test_values_quoted_in_recipe_errors_are_truncated(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("seed: '" + "9x" * 50_000 + "'\n")
    line = _refused([sys.executable, TOOL, "--config", str(path)])
    assert line.startswith(f"error: {path}: seed: expected int, got '9x9x") and len(line) < 300


@pytest.mark.parametrize("override, message", [
    ("teacher.learning_rate=.nan", "teacher: learning_rate must be a finite number > 0, got nan"),
    ("stage_2_1.learning_rate=0", "student_2.1: learning_rate must be a finite number > 0"),
    ("training.dropout=1.0", "teacher: dropout must be in [0, 1), got 1.0"),
    ("data.max_train_examples=-1", "teacher: max_train_examples must be >= 0, got -1"),
    ("data.eval_batch_size=0", "teacher: eval_batch_size must be positive, got 0"),
])
def test_recipe_settings_out_of_range_are_refused(override, message):
    recipe = load_recipe(TINY, [override])
    with pytest.raises(InputError) as error:
        stage_settings(recipe, "bert")
    assert str(error.value).startswith(f"recipe: {message}")


def test_nan_loss_stops_the_pipeline_with_status_1_and_no_complete_stage(tmp_path, tiny_bert_dir,
                                                                        tiny_data_dir):
    output = str(tmp_path / "out")
    line = _refused([*_command(output, tiny_bert_dir, tiny_data_dir),
                     "--set", "teacher.learning_rate=1e30"], status=1)
    assert line.startswith(f"error: {output}/teacher: the training loss became nan at step ")
    assert check_stage("teacher", os.path.join(output, "teacher"), {}) == "absent"
    assert not os.path.exists(os.path.join(output, "student_2.1"))
