"""A GLUE task as the data of a training stage (the methods of `task_data.NluData`).

Reading and validating import no TensorFlow, so that a command refuses a malformed file
before TensorFlow loads; the dev evaluator (`glue_evaluator`) and the scoring functions are
imported by the methods that use them."""

import os

from nlu_tf.data.glue import read_glue_split, resolve_task_dir
from nlu_tf.data.glue.labels import TaskLabels
from nlu_tf.data.pair_features import encode_glue
from nlu_tf.errors import InputError


def check_task_model(bundle, task, source):
    """Refuses a model made for another GLUE task, or a joint-NLU model, naming `source`."""
    made_for = getattr(bundle.labels, "task", None)
    if made_for != task.key:
        raise InputError(source, f"the model was made for "
                                 f"{made_for.upper() if made_for else 'joint intent + slot data'}"
                                 f", not the GLUE task {task.key.upper()}")


class GlueData:
    """One GLUE task's train and dev TSV files (`data_dir`: the GLUE root or the task's
    folder), read and validated before any model is built."""

    def __init__(self, settings, task):
        data = settings.data
        self.task = task
        self.train_split = data.train_split
        self.data_dir = resolve_task_dir(data.data_dir, task)
        self.labels = TaskLabels.of(task)
        train = read_glue_split(self.data_dir, task, data.train_split)
        if data.max_train_examples:
            train = train[:data.max_train_examples]
        self.splits = {"train": train, "dev": read_glue_split(self.data_dir, task, "dev")}
        self.history_keys = task.metrics

    def split_path(self, split):
        name = self.train_split if split == "train" else split
        return os.path.join(self.data_dir, self.task.split_file(name))

    def check(self, bundle):
        check_task_model(bundle, self.task, self.split_path("train"))

    def features(self, bundle, split):
        return encode_glue(self.splits[split], bundle.tokenizer, self.task, bundle.max_seq_len,
                           f"{self.task.folder}/{split}")

    def word_lists(self):
        return ([*e.text_a.split(), *(e.text_b.split() if e.text_b else ())]
                for e in self.splits["train"])

    def evaluator(self, student, dev_features, settings, steps_per_epoch, total_steps,
                  scored_weights):
        from nlu_tf.training.glue_evaluator import GlueDevEvaluator

        return GlueDevEvaluator(student.model, self.task, dev_features, student.labels,
                                eval_step=settings.eval_step,
                                batch_size=settings.data.eval_batch_size,
                                jit_compile=settings.resolved_jit_compile,
                                steps_per_epoch=steps_per_epoch, total_steps=total_steps,
                                scored_weights=scored_weights)

    def dev_metrics(self, student, evaluator, dev_features, settings):
        from nlu_tf.glue_evaluation import glue_logits_fn, score_features

        logits_fn = (evaluator.logits_fn if evaluator
                     else glue_logits_fn(student.model, settings.resolved_jit_compile))
        metrics, _ = score_features(logits_fn, self.task, dev_features,
                                    settings.data.eval_batch_size)
        return metrics
