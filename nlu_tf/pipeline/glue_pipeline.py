"""What a pipeline on a GLUE task (`data.task: MRPC`, ...) does differently (#45).

The stages are the same (teacher 2.0, student 2.1 with the uniform or the EMD mapping, 2.2,
export, evaluate, report); only the data and the scoring differ:

- the data is the task's TSV files (`GlueData`, read and validated before any training);
- every artefact (the Keras teacher and student, the SavedModels, each `.tflite`) is scored
  on the task's dev split with `task_metrics` (GLUE's test labels are not public);
- latency is not measured (the latency benchmark times joint-NLU queries);
- the report's columns are the task's metrics.

Augmentation, the export's vocabulary trimming and the BertCluAnnotator export read
joint-NLU data or heads: a GLUE recipe that asks for one is refused before anything runs.
"""

import os

from nlu_tf.data.glue import find_task
from nlu_tf.errors import InputError


def glue_task_of(recipe):
    """The recipe's `GlueTask` when `data.task` names one (any case), else None."""
    return find_task(recipe["data"]["task"])


def check_glue_recipe(recipe):
    """Refuses, in one line, what a GLUE recipe cannot do (see the module docstring)."""
    asked = {"augment.copies": recipe["augment"]["copies"] > 0,
             "export.clu": recipe["export"]["clu"],
             "export.trim_vocab": recipe["export"]["trim_vocab"]}
    for key, value in asked.items():
        if value:
            raise InputError("recipe", f"{key} is for joint intent + slot data; a GLUE task "
                                       f"({recipe['data']['task']}) cannot use it")


def read_glue_data(settings):
    """The task's train and dev examples, validated (the `dataset` every stage reuses)."""
    from nlu_tf.training.task_data import task_data

    return task_data(settings)


def evaluate_glue_artefacts(artefacts, recipe, jit_compile, log):
    """One row per `(role, kind, path)`: the task's dev metrics, size and parameters."""
    from nlu_tf.serving.artefact import open_artefact
    from nlu_tf.serving.glue import evaluate_glue_split

    data = recipe["data"]
    rows = []
    for role, kind, path in artefacts:
        artefact = open_artefact(path)
        predictor = artefact.predictor(jit_compile, 1)
        metrics = evaluate_glue_split(predictor, data["data_dir"], "dev",
                                      data["eval_batch_size"])
        rows.append({**metrics, "name": predictor.name, "path": os.path.normpath(path),
                     "size_mb": artefact.size_mb, "num_parameters": artefact.num_parameters,
                     "model": f"{role} {kind}", "role": role, "kind": kind, "p50_ms": None,
                     "latency": None})
        task = glue_task_of(recipe)
        log(f"evaluate: {rows[-1]['model']}: dev {task.selection} "
            f"{100 * metrics[task.selection]:.2f}")
    return rows


def glue_columns(task):
    """The report table's columns: the model, the task's metrics, parameters, size."""
    return (("model", "model"), *((key, f"dev {key}") for key in task.metrics),
            ("num_parameters", "parameters"), ("size_mb", "size MB"))


def glue_notes(recipe, rows):
    task = glue_task_of(recipe)
    return [f"scores: the dev split of {task.folder} under {recipe['data']['data_dir']} "
            f"({rows[0]['examples']} examples; GLUE's test labels are not public), BERT-EMD's "
            f"metrics in %, the models kept on dev {task.selection}",
            "latency: not measured for GLUE tasks (the latency benchmark times joint-NLU "
            "queries)",
            "size MB: the model file(s) only, without vocabulary and labels"]
