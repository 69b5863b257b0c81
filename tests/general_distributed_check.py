"""Runs BERT-EMD general distillation on one device and on two logical CPU devices.

    python tests/general_distributed_check.py DATA TEACHER STUDENT_CONFIG OUT_DIR

Prints one JSON line: the largest difference between the two students' weights and
both runs' EMD layer weights (logical devices must be set before TensorFlow starts).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

from nlu_tf.pretraining.general_distill import general_distill  # noqa: E402
from nlu_tf.pretraining.settings import GeneralDistillSettings  # noqa: E402
from nlu_tf.training.settings import OptimizerSettings  # noqa: E402


def _without_dropout(student, out):
    """A copy of the student config without dropout: two replicas draw other masks."""
    with open(os.path.join(student, "config.json")) as f:
        config = json.load(f)
    folder = os.path.join(out, "student_config")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({**config, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}, f)
    return folder


def main(data, teacher, student, out):
    student = _without_dropout(student, out)
    strategies = {"default": tf.distribute.get_strategy(),
                  "mirrored": tf.distribute.MirroredStrategy()}
    weights, emd = {}, {}
    for name, strategy in strategies.items():
        output = os.path.join(out, name)
        settings = GeneralDistillSettings(
            pregenerated_data=data, teacher_model=teacher, student_model=student,
            output_dir=output, num_train_epochs=1, train_batch_size=16, layer_mapping="emd",
            emd_weight_floor=0.2, jit_compile=False, distribution_strategy=name, verbose=0,
            optimizer=OptimizerSettings(learning_rate=1e-3))
        emd[name] = general_distill(settings, strategy=strategy)["emd_layer_weights"]
        weights[name] = load_file(os.path.join(output, "model.safetensors"))
    diff = max(float(np.abs(weights["default"][k] - weights["mirrored"][k]).max())
               for k in weights["default"])
    print(json.dumps({"max_weight_diff": diff, "emd_one_device": emd["default"],
                      "emd_two_devices": emd["mirrored"]}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
