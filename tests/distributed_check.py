"""Runs the same two training steps on one device and on two logical CPU devices.

Run as a script (logical devices must be set before TensorFlow starts):
    python tests/distributed_check.py OUT_DIR
Prints one JSON line with the largest weight difference, the loss on one fixed batch for
both runs, and (for BERT-EMD) the layer weights of both runs.
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

from nlu_tf.data.dataset import pad_batch  # noqa: E402
from nlu_tf.data.features import encode_examples  # noqa: E402
from nlu_tf.data.reader import read_split  # noqa: E402
from nlu_tf.distill.losses import local_counts  # noqa: E402
from nlu_tf.distill.objectives import SupervisedObjective  # noqa: E402
from nlu_tf.model_io.model_dir import load_model_dir  # noqa: E402
from nlu_tf.training.stage import run_stage  # noqa: E402
from nlu_tf.training.settings import (DataSettings, DistillSettings,  # noqa: E402
                                      OptimizerSettings, RunSettings, StudentSettings)
from tests.tiny import write_tiny_bert, write_tiny_dataset  # noqa: E402


def settings(out, stage, teacher, strategy, **kw):
    data = DataSettings(data_dir=os.path.join(out, "data"), task="", max_seq_len=24,
                        train_batch_size=16, max_train_examples=32)
    return RunSettings(stage=stage, output_dir=os.path.join(out, f"{stage}_{strategy}"),
                       teacher_model=teacher, num_train_epochs=1, seed=3, jit_compile=False,
                       verbose=0, head_dropout=0.0, distribution_strategy=strategy, data=data,
                       optimizer=OptimizerSettings(learning_rate=1e-3, warmup_proportion=0.0,
                                                   clip_norm=0.5), **kw)


def fixed_batch_loss(model_dir, data_dir):
    bundle = load_model_dir(model_dir)
    features = encode_examples(read_split(data_dir, "train")[:32], bundle.tokenizer,
                               bundle.labels, bundle.max_seq_len)
    inputs, targets = pad_batch(features, np.arange(32), 8, 24)
    out = bundle.model(inputs, training=False)
    counts = local_counts(inputs, targets)
    return (float(SupervisedObjective()(out, None, inputs, targets, counts).losses["loss"]),
            bundle.model.weights)


def main(out):
    assert len(tf.config.list_logical_devices("CPU")) == 2
    data_dir = write_tiny_dataset(os.path.join(out, "data"))
    bert = write_tiny_bert(os.path.join(out, "bert"), hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0)
    report = {}
    runs = {}
    mirrored = tf.distribute.MirroredStrategy()
    strategies = {"default": tf.distribute.get_strategy(), "mirrored": mirrored}
    for strategy in ("default", "mirrored"):
        runs[("2.0", strategy)] = run_stage(settings(out, "2.0", bert, strategy),
                                            strategy=strategies[strategy])
    teacher = os.path.join(out, "2.0_default")
    emd = dict(distill=DistillSettings(layer_mapping="emd"), student=StudentSettings(num_layers=1))
    for strategy in ("default", "mirrored"):
        runs[("2.1", strategy)] = run_stage(settings(out, "2.1", teacher, strategy, **emd),
                                            strategy=strategies[strategy])
    for stage in ("2.0", "2.1"):
        one, one_weights = fixed_batch_loss(os.path.join(out, f"{stage}_default"), data_dir)
        two, two_weights = fixed_batch_loss(os.path.join(out, f"{stage}_mirrored"), data_dir)
        diff = max(float(np.abs(a.numpy() - b.numpy()).max())
                   for a, b in zip(one_weights, two_weights))
        report[stage] = {"loss_one_device": one, "loss_two_devices": two, "max_weight_diff": diff}
    report["emd_weights_one_device"] = runs[("2.1", "default")]["emd_layer_weights"]
    report["emd_weights_two_devices"] = runs[("2.1", "mirrored")]["emd_layer_weights"]
    print("RESULT " + json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
