"""The files of a model directory, checked without importing TensorFlow."""

import json
import os

from nlu_tf.errors import InputError

FORMAT = "nlu_tf.joint_model"
WEIGHTS = "model.weights.h5"
REQUIRED_FILES = ("config.json", "vocab.txt", "intent_label.txt", "slot_label.txt", WEIGHTS)
# A GLUE model (`"head": "sequence"` in config.json) has its own label file, checked when
# its labels are read: the joint label files are required of joint models only.
JOINT_LABEL_FILES = ("intent_label.txt", "slot_label.txt")


def is_model_dir(path):
    """True if `path` holds an nlu_tf model directory (as opposed to a Hugging Face checkpoint)."""
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    try:
        with open(config, encoding="utf-8") as f:
            return json.load(f).get("format") == FORMAT
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def check_model_dir(path):
    """Raises `InputError` unless `path` holds every file of an nlu_tf model directory."""
    if not os.path.isdir(path):
        raise InputError(path, "model directory not found")
    for name in REQUIRED_FILES:
        if name in JOINT_LABEL_FILES and model_head(path) != "joint":
            continue
        if not os.path.isfile(os.path.join(path, name)):
            raise InputError(os.path.join(path, name),
                             "missing (not a complete nlu_tf model directory)")
    if not is_model_dir(path):
        raise InputError(os.path.join(path, "config.json"), "not an nlu_tf model config")


def model_head(path):
    """The head kind a model directory's config.json declares ("joint" when it says none or
    cannot be read: its own check reports that), read without TensorFlow."""
    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        return config.get("head", "joint") if isinstance(config, dict) else "joint"
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return "joint"
