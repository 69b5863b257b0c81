"""Reads and validates the GLUE TSV files of one task into `GlueExample`s.

The files are read as BERT-EMD reads them (tab-separated, no quote processing: a `"` is an
ordinary character; a leading UTF-8 byte order mark, as MRPC's header has, is dropped), but
where BERT-EMD would crash on an IndexError or train on a bad label, every problem here is
an `InputError` naming the file, the 1-based line and what is wrong.
"""

import dataclasses
import math
import os
import re

from nlu_tf.data.glue.tasks import STSB_RANGE, glue_task
from nlu_tf.data.text_lines import iter_lines
from nlu_tf.errors import InputError, quote

# GLUE's longest lines (MNLI's parse trees) are a few kilobytes; this bounds what one
# line of a hostile file can hold in memory.
MAX_LINE_BYTES = 1 << 20
# A plain decimal as STS-B writes its scores ("3.800"): float() would also take "nan",
# "inf", "1e0" and "1_0", none of which is a score.
_SCORE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclasses.dataclass(frozen=True)
class GlueExample:
    """One GLUE example.

    Attributes:
        text_a: the first (or only) sentence, as in the file.
        text_b: the second sentence of a pair task; None for CoLA and SST-2.
        label: the class label (str), or the STS-B score (float in [0, 5]).
        line: the example's 1-based line in its file.
    """

    text_a: str
    text_b: str
    label: object
    line: int = 0


def resolve_task_dir(data_dir, task):
    """The folder of `task`: `data_dir/<GLUE folder>` (e.g. `glue/MRPC`) if there is one,
    else `data_dir` itself (already the task's folder)."""
    task = glue_task(task) if isinstance(task, str) else task
    if not os.path.isdir(data_dir):
        raise InputError(data_dir, "data directory not found")
    inner = os.path.join(data_dir, task.folder)
    return inner if os.path.isdir(inner) else data_dir


def read_glue_split(data_dir, task, split):
    """Reads and validates one split of a GLUE task.

    Args:
        data_dir: the GLUE root (holding `MRPC/`, `SST-2/`, ...) or the task's own folder.
        task: a task key in any case (`MRPC`, `sts-b`) or a `GlueTask`.
        split: `train`, `dev` (MNLI: `dev_matched.tsv`, MNLI-mm: `dev_mismatched.tsv`) or
            `train_aug`.

    Returns:
        A list of `GlueExample`s in file order.
    """
    task = glue_task(task) if isinstance(task, str) else task
    path = os.path.join(resolve_task_dir(data_dir, task), task.split_file(split))
    if not os.path.isfile(path):
        raise InputError(path, f"file not found ({task.folder} {split} split; --data_dir "
                               f"is the GLUE root or its {task.folder} folder)")
    return read_glue_file(path, task)


def read_glue_file(path, task):
    """Reads and validates a TSV file in the layout of `task`'s train and dev files (e.g.
    one a user wrote in that layout); `GlueExample`s in file order."""
    task = glue_task(task) if isinstance(task, str) else task
    lines = enumerate(iter_lines(path, MAX_LINE_BYTES), 1)
    width = task.width
    if task.header:
        width = _header_width(path, task, next(lines, (1, None))[1])
    return [_example(path, number, line, task, width) for number, line in lines]


def _header_width(path, task, header):
    """The column count of the file: its header's, which must reach every column read."""
    if header is None:
        raise InputError(path, "empty file (expected a header line)")
    width = len(header.split("\t"))
    texts = max(task.text_a, task.text_b or 0)
    # A label in the last column (-1) must come after the texts, not be one of them.
    needed = 1 + max(texts, task.label) if task.label >= 0 else texts + 2
    if width < needed:
        raise InputError(path, f"header has {width} column(s); {task.key.upper()} reads "
                               f"column {needed}", 1)
    return width


def _example(path, number, line, task, width):
    if not line.strip():
        raise InputError(path, "empty line", number)
    columns = line.split("\t")
    if len(columns) != width:
        raise InputError(path, f"{len(columns)} column(s), expected {width}", number)
    texts = [_text(path, number, columns, index)
             for index in (task.text_a, task.text_b) if index is not None]
    label = _label(path, number, columns[task.label], task)
    return GlueExample(texts[0], texts[1] if task.is_pair else None, label, number)


def _text(path, number, columns, index):
    text = columns[index]
    if not text.strip():
        raise InputError(path, f"empty text in column {index + 1}", number)
    return text


def _label(path, number, text, task):
    if not task.is_regression:
        if text not in task.labels:
            raise InputError(path, f"label {quote(text)} is not one of "
                                   f"{', '.join(map(repr, task.labels))}", number)
        return text
    low, high = STSB_RANGE
    if not _SCORE.match(text):
        raise InputError(path, f"score {quote(text)} is not a number", number)
    score = float(text)
    if not (math.isfinite(score) and low <= score <= high):
        raise InputError(path, f"score {quote(text)} is outside [{low:g}, {high:g}]", number)
    return score
