"""Augmented utterances learn from the teacher only: their copied labels are never gold."""

import os
import shutil

import numpy as np

from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.features import IGNORE, encode_examples
from nlu_tf.data.reader import read_dataset
from nlu_tf.distill.losses import global_counts
from nlu_tf.distill.objectives import PredictionObjective, SupervisedObjective
from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.surgery.student import cut_from_teacher


def _with_train_aug(tiny_data_dir, root, intent_of_copies, tag_of_copies):
    """A copy of the tiny dataset whose train_aug holds train, then every train utterance
    again with one word changed and the given (deliberately wrong) intent and tags."""
    data = str(root)
    shutil.copytree(tiny_data_dir, data)
    os.makedirs(os.path.join(data, "train_aug"))
    rows = {}
    for name in ("seq.in", "seq.out", "label"):
        with open(os.path.join(data, "train", name), encoding="utf-8") as f:
            rows[name] = f.read().splitlines()
    copies = {"seq.in": ["please " + " ".join(line.split()[1:]) for line in rows["seq.in"]],
              "seq.out": [" ".join([tag_of_copies] * len(line.split())) for line in rows["seq.out"]],
              "label": [intent_of_copies] * len(rows["label"])}
    for name in rows:
        with open(os.path.join(data, "train_aug", name), "w", encoding="utf-8") as f:
            f.write("\n".join(rows[name] + copies[name]) + "\n")
    return data


def _batch(data_dir, bundle):
    labels, splits = read_dataset(data_dir, train_split="train_aug")
    examples = splits["train"]
    features = encode_examples(examples, bundle.tokenizer, bundle.labels, bundle.max_seq_len)
    indices = np.arange(len(examples))
    inputs, targets = pad_batch(features, indices, 8, int(features.lengths.max()))
    return examples, features, inputs, targets


def test_augmented_rows_carry_no_gold_labels(tmp_path, tiny_model_dir, tiny_data_dir):
    bundle = load_model_dir(tiny_model_dir)
    data = _with_train_aug(tiny_data_dir, tmp_path / "data", "PlayMusic", "B-artist")
    examples, features, _, _ = _batch(data, bundle)
    originals = len(examples) // 2
    assert [e.augmented for e in examples] == [False] * originals + [True] * originals
    assert (features.intent[:originals] != IGNORE).all()
    assert (features.intent[originals:] == IGNORE).all()
    assert all((row == IGNORE).all() for row in features.slot_labels[originals:])
    assert all((row != IGNORE).any() for row in features.slot_labels[:originals])


def test_wrong_copied_labels_leave_the_distillation_loss_unchanged(tmp_path, tiny_model_dir,
                                                                  tiny_data_dir):
    teacher = load_model_dir(tiny_model_dir)
    student = cut_from_teacher(teacher, 1)
    losses = []
    for name, intent, tag in (("a", "PlayMusic", "B-artist"), ("b", "GetWeather", "I-city")):
        data = _with_train_aug(tiny_data_dir, tmp_path / name, intent, tag)
        _, _, inputs, targets = _batch(data, teacher)
        t_out, s_out = teacher.model(inputs), student.model(inputs)
        counts = global_counts(inputs, targets)
        mixed = PredictionObjective(temperature=2.0, alpha=0.5)
        gold = SupervisedObjective()
        losses.append((float(mixed(s_out, t_out, inputs, targets, counts).losses["loss"]),
                       float(gold(s_out, None, inputs, targets, counts).losses["loss"])))
    assert losses[0] == losses[1]
    assert losses[0][1] > 0.0  # the originals' gold labels still count
