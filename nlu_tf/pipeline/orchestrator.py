"""Runs a recipe stage by stage, skipping complete stages and redoing broken ones.

Before a stage runs, the outputs of every later stage are removed (they were made from
what this stage is about to replace). A training stage killed part-way resumes from its
checkpoint (`run_stage` does it); a stage whose output fails `check_stage` is reported,
removed and redone, never loaded.
"""

import dataclasses
import os
import shutil
import time

from nlu_tf.benchmark.machine import describe_machine, machine_info
from nlu_tf.checkpoints.hf_names import config_from_hf
from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir, write_json, write_text_atomic
from nlu_tf.pipeline import report as reports
from nlu_tf.pipeline.glue_pipeline import (check_glue_recipe, evaluate_glue_artefacts,
                                           glue_columns, glue_notes, glue_task_of,
                                           read_glue_data)
from nlu_tf.pipeline.recipe import (augment_settings, augmented_data_dir, augments,
                                    export_trim, settings_dicts, stage_settings, teacher_dir)
from nlu_tf.pipeline.stages import (RESULTS_FILE, STAGE_FILE, STAGES, check_stage,
                                    check_trained_model, export_paths, read_json,
                                    remove_stage, stage_dir)
from nlu_tf.output_dirs import check_output_dir, mark
from nlu_tf.precision import jit_compile_for

SETTINGS_FILE = "pipeline_settings.json"


def _expected(recipe, training):
    """Every stage's settings as dicts (what `check_stage` compares)."""
    out = recipe["output_dir"]
    expected = settings_dicts(training)
    expected["augment"] = {"augment": recipe["augment"], "seed": recipe["seed"],
                           "data": recipe["data"], "source": _augment_source(recipe),
                           "dataset": os.path.basename(augmented_data_dir(recipe))}
    expected["export"] = {"export": recipe["export"], "data": recipe["data"],
                          "seed": recipe["seed"],
                          "models": {"teacher": teacher_dir(recipe),
                                     "student": stage_dir(out, "student_2.2")}}
    artefacts = [["teacher", "keras", teacher_dir(recipe)],
                 ["student", "keras", stage_dir(out, "student_2.2")]]
    artefacts += [[role, kind, path] for (role, kind), path in
                  export_paths(stage_dir(out, "export"), recipe["export"]).items()]
    expected["evaluate"] = {"artefacts": artefacts, "data": recipe["data"],
                            "benchmark": recipe["benchmark"],
                            "jit_compile": recipe["training"]["jit_compile"]}
    expected["report"] = {"output_dir": out}
    return expected


def _augment_source(recipe):
    """The checkpoint whose masked LM (or input embeddings) proposes replacement words:
    `augment.source`, else the checkpoint the teacher is fine-tuned from."""
    from nlu_tf.defaults import default_teacher_dir

    return recipe["augment"]["source"] or recipe["teacher"]["model"] or default_teacher_dir()


def _copy_dataset(source, target, max_train_examples):
    """Copies the vocabularies and splits of a dataset folder; train cut to its first
    `max_train_examples` utterances (0: all)."""
    os.makedirs(target)
    for name in ("intent_label.txt", "slot_label.txt"):
        shutil.copy(os.path.join(source, name), target)
    for split in ("train", "dev", "test"):
        os.makedirs(os.path.join(target, split))
        for name in ("seq.in", "seq.out", "label"):
            with open(os.path.join(source, split, name), encoding="utf-8") as f:
                lines = f.read().splitlines()
            if split == "train" and max_train_examples:
                lines = lines[:max_train_examples]
            write_text_atomic(os.path.join(target, split, name), "\n".join(lines) + "\n")


def _extra_teachers(settings, dataset, log):
    """Fine-tunes each extra teacher whose folder is not complete; a killed one resumes
    from the checkpoint in its own work folder."""
    from nlu_tf.training.stage import run_stage

    for one in settings:
        name = os.path.basename(one.output_dir)
        if check_stage("teacher", one.output_dir, dataclasses.asdict(one)) is None:
            log(f"extra_teachers: {name} complete, skipped")
            continue
        # Its output and leftovers removed, its checkpoint kept (to resume from).
        remove_stage(os.path.dirname(one.output_dir), name, keep_checkpoint=True)
        log(f"extra_teachers: {name} (seed {one.seed})")
        run_stage(one, dataset)


def _augment(recipe, expected, path, log):
    from nlu_tf.augment.run import augment_dataset
    from nlu_tf.data.reader import resolve_data_dir

    settings, data = expected["augment"], recipe["data"]
    with atomic_dir(path, "pipeline_stage") as tmp:
        dataset = os.path.join(tmp, settings["dataset"])
        _copy_dataset(resolve_data_dir(data["data_dir"], data["task"]), dataset,
                      data["max_train_examples"])
        _, counts, kind = augment_dataset(dataset, settings["source"], augment_settings(recipe))
        counts = dataclasses.asdict(counts)
        write_json(os.path.join(tmp, STAGE_FILE), {"stage": "augment", "settings": settings,
                                                   "source_kind": kind, "counts": counts})
    log(f"augment: {counts['originals']} originals + {counts['augmented']} copies "
        f"({kind}); {counts['dropped_dev_test']} copies equal to dev/test utterances dropped")


def _export(recipe, expected, path):
    from nlu_tf.data.reader import resolve_data_dir
    from nlu_tf.export.convert import convert_model_dir
    from nlu_tf.export.trim_model_dir import trim_model_dir

    settings = expected["export"]
    data = recipe["data"]
    trim = export_trim(recipe)
    with atomic_dir(path, "pipeline_stage") as tmp:
        for role, model_dir in settings["models"].items():
            if role == "student" and trim.enabled:
                # The student's exports are made from its trimmed copy, kept beside them.
                trimmed = os.path.join(tmp, "student_trimmed")
                trim_model_dir(model_dir, trimmed, [(resolve_data_dir(
                    data["data_dir"], data["task"]), data["train_split"])],
                    min_count=trim.min_count, fallback_characters=trim.fallback_characters,
                    share_rows=trim.share_rows, corpora=trim.corpus,
                    vocab_size=trim.vocab_size)
                model_dir = trimmed
            convert_model_dir(model_dir, os.path.join(tmp, role),
                              recipe["export"]["quantizations"], recipe["data"]["data_dir"],
                              recipe["data"]["task"], recipe["export"]["representative_size"],
                              seed=recipe["seed"], saved_model=recipe["export"]["saved_model"],
                              clu=recipe["export"]["clu"] and role == "student")
        write_json(os.path.join(tmp, STAGE_FILE), {"stage": "export", "settings": settings})


def _evaluate(recipe, expected, path, log):
    from nlu_tf.benchmark.compare import evaluate_artefacts
    from nlu_tf.benchmark.latency import run_measurement

    settings = expected["evaluate"]
    data, bench = recipe["data"], recipe["benchmark"]
    # Every artefact is scored in float32, whatever precision the stages trained in.
    jit = jit_compile_for(recipe["training"]["jit_compile"], "float32")
    if glue_task_of(recipe):
        rows = evaluate_glue_artefacts(settings["artefacts"], recipe, jit, log)
        _write_results(path, settings, rows)
        return
    paths = [artefact[2] for artefact in settings["artefacts"]]
    scored = evaluate_artefacts(paths, data["data_dir"], data["task"], "test",
                                data["eval_batch_size"], jit, num_threads=1)
    rows = []
    for (role, kind, artefact), row in zip(settings["artefacts"], scored):
        row = dict(row, model=f"{role} {kind}", role=role, kind=kind, p50_ms=None,
                   latency=None)
        if kind.startswith("tflite") or (kind == "keras" and bench["keras_latency"]):
            result = run_measurement(artefact, bench["threads"], data["data_dir"],
                                     data["task"], bench["split"], bench["queries"],
                                     bench["warmup"], jit)
            row["p50_ms"] = result["model_ms"]["p50"]
            row["latency"] = {key: result[key] for key in
                              ("model_ms", "tokenize_ms", "total_ms", "queries", "threads",
                               "mean_tokens")}
        log(f"evaluate: {row['model']}: sentence acc {100 * row['sentence_acc']:.2f}"
            + (f", p50 {row['p50_ms']:.2f} ms" if row["p50_ms"] is not None else ""))
        rows.append(row)
    _write_results(path, settings, rows)


def _write_results(path, settings, rows):
    with atomic_dir(path, "pipeline_stage") as tmp:
        write_json(os.path.join(tmp, RESULTS_FILE),
                   {"settings": settings, "rows": rows, "machine": machine_info()})


def _report(recipe, expected, path):
    out = recipe["output_dir"]
    results = read_json(os.path.join(stage_dir(out, "evaluate"), RESULTS_FILE))
    histories, emd_weights, stages = {}, None, {}
    for stage in ("teacher", "student_2.1", "student_2.2"):
        folder = teacher_dir(recipe) if stage == "teacher" else stage_dir(out, stage)
        metrics = read_json(os.path.join(folder, "metrics.json"))
        stages[stage] = {key: metrics.get(key) for key in
                         ("train_seconds", "steps", "resumed_from_step", "best_step", "dev")}
        if metrics.get("dev_history"):
            histories[stage] = metrics["dev_history"]
        if metrics.get("emd_layer_weights"):
            emd_weights = metrics["emd_layer_weights"]
    task = glue_task_of(recipe)
    scores = task.metrics if task else ("intent_acc", "slot_f1", "sentence_acc")
    rows = [{key: row.get(key) for key in
             ("model", "role", "kind", "path", *scores,
              "num_parameters", "size_mb", "p50_ms", "latency", "examples")}
            for row in results["rows"]]
    bench = recipe["benchmark"]
    notes = [f"accuracy: the test split of {recipe['data']['data_dir']} "
             f"{recipe['data']['task']} ({rows[0]['examples']} utterances); accuracies in %",
             f"latency: model forward pass only, one query at a time at its real length, "
             f"{bench['threads']} thread(s), {bench['queries']} queries of the "
             f"{bench['split']} split after {bench['warmup']} warm-up calls "
             f"(nlu_tf.benchmark.latency; TFLite in-process, Keras in a subprocess"
             + ("" if bench["keras_latency"] else ", Keras not measured: "
                "benchmark.keras_latency is false") + ")",
             f"machine: {describe_machine(results['machine'])}",
             "size MB: the model file(s) only, without vocabulary and labels"]
    if task:  # dev scores, no latency
        notes = glue_notes(recipe, rows)
    if augments(recipe):
        counts = read_json(os.path.join(stage_dir(out, "augment"), STAGE_FILE))["counts"]
        notes.append(f"students distilled on {counts['originals']} training utterances and "
                     f"{counts['augmented']} augmented copies (augment.copies "
                     f"{recipe['augment']['copies']}, probability "
                     f"{recipe['augment']['probability']}); on the copies the targets are "
                     f"the teacher's predictions")
    if recipe["teacher"]["ensemble"] > 1:
        notes.append(f"stage 2.2 learned from the mean of {recipe['teacher']['ensemble']} "
                     f"teachers' logits (teacher.ensemble; the extra ones fine-tuned at seeds "
                     f"{recipe['seed'] + 1} and up, in extra_teachers/); the teacher rows are "
                     f"the first teacher's")
    with atomic_dir(path, "pipeline_stage") as tmp:
        plots = reports.write_plots(tmp, histories, emd_weights, rows, scores)
        summary = {"settings": expected["report"], "rows": rows, "stages": stages,
                   "plots": plots, "notes": notes, "machine": results["machine"]}
        write_json(os.path.join(tmp, "report.json"), summary)
    write_json(os.path.join(out, "report.json"), summary)
    table = reports.markdown_report(f"Pipeline report: {out}", rows, plots, notes,
                                    glue_columns(task) if task else reports.COLUMNS)
    write_text_atomic(os.path.join(out, "report.md"), table + "\n")
    return summary


def _check_finetuned(path):
    """Raises `InputError` unless `path` is a complete nlu_tf model directory with its
    `metrics.json` (the recipe's already fine-tuned teacher, which replaces stage 2.0)."""
    try:
        check_trained_model(path)
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputError(os.path.join(path, "metrics.json"),
                         f"{type(error).__name__}: {error}; teacher.finetuned must be a "
                         "model directory written by nlu_tf") from None


def _teacher_layers(recipe, teacher_model):
    """The layer count of the teacher stage 2.1 cuts its student from, read from config.json
    (the fine-tuned teacher's, else the checkpoint stage 2.0 fine-tunes); None if unknown."""
    if recipe["teacher"]["finetuned"]:
        config = read_json(os.path.join(teacher_dir(recipe), "config.json"))
        return ((config.get("model") or {}).get("encoder_config") or {}).get("num_layers")
    if os.path.isdir(teacher_model):
        return config_from_hf(teacher_model).get("num_layers")
    return None


def check_student(recipe, teacher_model):
    """Refuses, before anything is written or trained, a student that stage 2.1 would refuse
    after the teacher's training: a missing TinyBERT checkpoint, or more layers than the
    teacher has."""
    student = recipe["student"]
    if student["tinybert"]:
        config_from_hf(student["tinybert"])
        return
    layers = _teacher_layers(recipe, teacher_model)
    wanted = student["num_layers"]
    if layers is not None and not 0 < wanted <= layers:
        raise InputError("recipe", f"student.num_layers: a student cut from a {layers}-layer "
                                   f"teacher has 1..{layers} layers, got {wanted}")


def restart_output(output_dir):
    """Removes every stage output, checkpoint and report of a previous run."""
    for stage in STAGES:
        remove_stage(output_dir, stage)
    settings_file = os.path.join(output_dir, SETTINGS_FILE)
    if os.path.isfile(settings_file):
        os.remove(settings_file)


def _train(settings, dataset, data_dir):
    from nlu_tf.training.stage import run_stage

    # Students on augmented data read the augment stage's dataset themselves.
    run_stage(settings, dataset if settings.data.data_dir == data_dir else None)


def _plan(recipe, training, dataset, expected, log):
    """The stages as data: per stage `(run, skipped)`, where `run(path)` makes the stage's
    output folder and `skipped` is False, True (not part of this recipe) or the line that
    says why the stage is not run. `STAGES` is the order; a stage depends on all before it
    (redoing one removes the later ones)."""
    data_dir = recipe["data"]["data_dir"]

    def trainer(settings):
        return lambda path: _train(settings, dataset, data_dir)

    plan = {stage: (trainer(training[stage]), False)
            for stage in ("teacher", "student_2.1", "student_2.2") if stage in training}
    if "teacher" not in training:
        plan["teacher"] = (None, f"{teacher_dir(recipe)} (teacher.finetuned), stage 2.0 not run")
    plan["extra_teachers"] = (
        lambda path: _extra_teachers(training["extra_teachers"], dataset, log),
        "extra_teachers" not in training)
    plan["augment"] = (lambda path: _augment(recipe, expected, path, log), not augments(recipe))
    plan["export"] = (lambda path: _export(recipe, expected, path), False)
    plan["evaluate"] = (lambda path: _evaluate(recipe, expected, path, log), False)
    plan["report"] = (lambda path: _report(recipe, expected, path), False)
    return {stage: plan[stage] for stage in STAGES}


def _redo(out, index, run, expected, log):
    """Runs stage `STAGES[index]` anew (its checkpoint kept, the later stages removed)."""
    stage = STAGES[index]
    path = stage_dir(out, stage)
    problem = check_stage(stage, path, expected)
    if problem != "absent":
        log(f"{stage}: incomplete or stale ({problem}): removing and redoing")
    for later in STAGES[index + 1:]:
        remove_stage(out, later)
    if stage != "extra_teachers":  # its complete teachers are kept
        # The stage's own checkpoint is kept: a killed training stage resumes from it.
        remove_stage(out, stage, keep_checkpoint=True)
    log(f"{stage}: running")
    started = time.time()
    run(path)
    problem = check_stage(stage, path, expected)
    if problem is not None:
        raise RuntimeError(f"{stage}: output incomplete right after running: {problem}")
    log(f"{stage}: done in {(time.time() - started) / 60:.1f} min")


def run_pipeline(recipe, restart=False, until="", log=print, config_path=""):
    """Runs (or resumes) every stage of `recipe` in order; returns the report dict.

    Args:
        recipe: a resolved recipe (`nlu_tf.pipeline.recipe.load_recipe`).
        restart: remove every output and checkpoint first.
        until: stop after this stage ("" : run them all).
        log: called with one line of progress text.
        config_path: the recipe file, recorded in `pipeline_settings.json`.

    Returns:
        The report (`report.json`'s content), or None when stopped early by `until`.
    """
    from nlu_tf.data.reader import read_dataset, resolve_data_dir
    from nlu_tf.defaults import default_teacher_dir

    if until and until not in STAGES:
        raise InputError("--until", f"unknown stage {until!r} (one of {', '.join(STAGES)})")
    out = recipe["output_dir"]
    data = recipe["data"]
    teacher_model = recipe["teacher"]["model"] or default_teacher_dir()
    training = stage_settings(recipe, teacher_model)
    if glue_task_of(recipe):  # the task's TSV files, validated before anything runs
        check_glue_recipe(recipe)
        dataset = read_glue_data(training["student_2.1"])
    else:
        dataset = read_dataset(resolve_data_dir(data["data_dir"], data["task"]),
                               data["max_train_examples"], data["train_split"])
    expected = _expected(recipe, training)
    if "teacher" not in training:
        _check_finetuned(teacher_dir(recipe))
    # Checked before the teacher's hour of training, not when stage 2.1 opens them.
    for section in ("student", "export"):
        for path in recipe[section]["trim_corpus"]:
            if not os.path.isfile(path):
                raise InputError(path, f"corpus file not found ({section}.trim_corpus)")
    check_student(recipe, teacher_model)
    # Before --restart removes anything: only a pipeline's own output directory is touched.
    check_output_dir(out, "pipeline", (data["data_dir"], recipe["teacher"]["model"],
                                       recipe["teacher"]["finetuned"],
                                       recipe["student"]["tinybert"]))
    if restart:
        log(f"restart: removing the previous outputs in {out}")
        restart_output(out)
    os.makedirs(out, exist_ok=True)
    mark(out, "pipeline")
    write_json(os.path.join(out, SETTINGS_FILE),
               {"config": config_path, "recipe": recipe, "stages": expected})
    plan = _plan(recipe, training, dataset, expected, log)
    for index, stage in enumerate(STAGES):
        run, skipped = plan[stage]
        if skipped:
            if skipped is not True:
                log(f"{stage}: {skipped}")
        elif check_stage(stage, stage_dir(out, stage), expected[stage]) is None:
            log(f"{stage}: complete, skipped")
        else:
            _redo(out, index, run, expected[stage], log)
        if stage == until:
            return None
    return read_json(os.path.join(out, "report.json"))
