"""The labels of a GLUE model: its task and the task's classes in class-id order."""

import dataclasses
import os

from nlu_tf.data.glue.tasks import glue_task
from nlu_tf.errors import InputError

LABEL_FILE = "label.txt"  # one class a line; absent for a regression task (STS-B)


@dataclasses.dataclass(frozen=True)
class TaskLabels:
    """What a `SequenceModel`'s head predicts.

    Attributes:
        task: the GLUE task key (`mrpc`, `sts-b`, ...).
        labels: the class labels, logit i being label i; None for regression.
    """

    head = "sequence"  # the head kind these labels are for (`nlu_tf.model_io.heads`)

    task: str
    labels: tuple = None

    @classmethod
    def of(cls, task):
        """The labels of a `GlueTask` (or a task key in any case)."""
        task = glue_task(task) if isinstance(task, str) else task
        return cls(task.key, task.labels)

    @property
    def num_labels(self):
        """Outputs of the head: the classes, or 1 for a regression task."""
        return 1 if self.labels is None else len(self.labels)

    def write(self, directory):
        """Writes `label.txt` into a model directory (nothing for a regression task)."""
        if self.labels is not None:
            with open(os.path.join(directory, LABEL_FILE), "w", encoding="utf-8") as f:
                f.write("\n".join(self.labels) + "\n")

    @classmethod
    def from_dir(cls, directory, task):
        """Reads the labels of a model directory made for `task`, checked against the
        task's own classes: a reordered file would silently relabel every prediction."""
        task = glue_task(task)
        path = os.path.join(directory, LABEL_FILE)
        if task.labels is None:
            return cls(task.key)
        if not os.path.isfile(path):
            raise InputError(path, "missing (a classification model directory lists its "
                                   "labels)")
        with open(path, encoding="utf-8") as f:
            labels = tuple(line.rstrip("\n") for line in f if line.strip())
        if labels != task.labels:
            raise InputError(path, f"labels {', '.join(labels) or 'none'} are not "
                                   f"{task.key.upper()}'s {', '.join(task.labels)}")
        return cls(task.key, labels)
