"""Tiny GLUE tasks written as TSV files in the original column layouts (test helper).

The label is decided by one word of the text, so a tiny model can learn it within a few
epochs: every example of class 1 (or of a high score) says "play", every other "weather".
"""

import os

import numpy as np

from nlu_tf.data.glue import glue_task

WORDS = ("add", "to", "my", "the", "for", "me", "a", "in", "of", "song", "book", "find")
CUES = ("weather", "play")  # the word that decides the class (or the score) of an example


def _rows(task, count, rng):
    """`count` rows of (text_a, text_b or None, label text)."""
    rows = []
    for i in range(count):
        cue = i % 2
        a = " ".join(rng.choice(WORDS, 4)) + f" {CUES[cue]}"
        b = " ".join(rng.choice(WORDS, 3)) if task.is_pair else None
        if task.is_regression:
            label = f"{(4.0 + rng.uniform(0, 1)) if cue else rng.uniform(0, 1):.3f}"
        else:
            label = task.labels[cue]
        rows.append((a, b, label))
    return rows


def tsv_lines(task, rows):
    """The lines of a split file of `task` holding `rows` (a header first if it has one)."""
    texts = max(task.text_a, task.text_b or 0)
    # A label in the last column (-1) comes after the texts, as in STS-B and MNLI.
    width = task.width or (max(texts, task.label) + 1 if task.label >= 0 else texts + 2)
    lines = ["\t".join(f"h{c}" for c in range(width))] if task.header else []
    label_column = task.label % width
    for number, (a, b, label) in enumerate(rows):
        columns = [str(number)] * width
        columns[task.text_a] = a
        if b is not None:
            columns[task.text_b] = b
        columns[label_column] = label
        lines.append("\t".join(columns))
    return lines


def write_glue_task(root, task="mrpc", train=64, dev=32, seed=0):
    """Writes `root/<GLUE folder>/train.tsv` and its dev file; returns the task folder."""
    task = glue_task(task)
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, task.folder)
    os.makedirs(folder, exist_ok=True)
    for split, count in (("train", train), ("dev", dev)):
        lines = tsv_lines(task, _rows(task, count, rng))
        with open(os.path.join(folder, task.split_file(split)), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return folder
