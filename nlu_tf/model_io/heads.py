"""The head types a model directory can hold, as one small protocol.

Loading, saving and starting a model from a Hugging Face checkpoint differ by head type
only in the model class, its size arguments and its label files; a `HeadKind` holds those
differences, so the code that reads and writes model directories has no per-head branches.
A labels object names its head kind (`LabelMaps.head`, `TaskLabels.head`), and so does a
model (`JointNLUModel.head`, `SequenceModel.head`) and a model directory's `config.json`
(`head`, absent in joint-model directories, which predate the others).
"""

import os

from nlu_tf.data.glue.labels import TaskLabels
from nlu_tf.data.glue.tasks import find_task
from nlu_tf.data.reader import LabelMaps
from nlu_tf.errors import InputError, quote
from nlu_tf.model_io.model_dir_checks import JOINT_SIZES, check_head_sizes
from nlu_tf.models.joint_model import JointNLUModel
from nlu_tf.models.sequence_model import SequenceModel

DEFAULT = "joint"


class JointHead:
    """Intent and slot heads (`JointNLUModel`): `intent_label.txt` and `slot_label.txt`."""

    name = "joint"
    model_class = JointNLUModel
    sizes = JOINT_SIZES
    other_keys = ()

    def check(self, model, config_path):
        del model, config_path  # the sizes are all it has

    def read_labels(self, path, model):
        labels = LabelMaps.from_dir(path)
        check_head_sizes(path, model, labels)
        return labels

    def write_labels(self, labels, directory):
        for name, values in (("intent_label.txt", labels.intents),
                             ("slot_label.txt", labels.slots)):
            with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                f.write("\n".join(values) + "\n")

    def new_model(self, encoder_config, labels, head_dropout, dtype):
        return JointNLUModel(encoder_config, len(labels.intents), len(labels.slots),
                             head_dropout, dtype=dtype)


class SequenceHead:
    """One classifier on the pooled output (`SequenceModel`, GLUE): the task in the config,
    its classes in `label.txt` (none for regression)."""

    name = "sequence"
    model_class = SequenceModel
    sizes = ("num_labels",)
    other_keys = ("task",)

    def check(self, model, config_path):
        task = find_task(model.get("task"))
        if task is None:
            raise InputError(config_path, f"model.task {quote(model.get('task'))} is not a "
                                          f"GLUE task")
        if model["num_labels"] != task.num_labels:
            raise InputError(config_path, f"model.num_labels is {model['num_labels']}, but "
                                          f"{task.key.upper()} has {task.num_labels} output(s)")

    def read_labels(self, path, model):
        return TaskLabels.from_dir(path, model["task"])

    def write_labels(self, labels, directory):
        labels.write(directory)

    def new_model(self, encoder_config, labels, head_dropout, dtype):
        return SequenceModel(encoder_config, labels.task, labels.num_labels, head_dropout,
                             dtype=dtype)


HEADS = {head.name: head for head in (JointHead(), SequenceHead())}


def head_of_config(config, config_path):
    """The `HeadKind` a model directory's parsed `config.json` declares."""
    name = config.get("head", DEFAULT)
    if name not in HEADS:
        raise InputError(config_path, f"unknown head {quote(name)} (one of "
                                      f"{', '.join(HEADS)})")
    return HEADS[name]


def head_of(labels_or_model):
    """The `HeadKind` of a labels object or a model (their `head` attribute)."""
    return HEADS[labels_or_model.head]
