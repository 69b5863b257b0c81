"""The GLUE tasks under BERT-EMD's (and TinyBERT's) task keys: file layout, labels, metrics.

Columns, label lists (in their order: a label's index is its class id, so checkpoints stay
interchangeable with BERT-EMD's), dev file names and metric keys follow BERT-EMD's
`glue_processors` / `glue_compute_metrics`. Its best checkpoint is chosen on `corr` for
STS-B, `mcc` for CoLA and `acc` for every other task, MRPC and QQP included (their F1 is
reported, not selected on).
"""

import dataclasses

from nlu_tf.errors import InputError, quote

BINARY = ("0", "1")
ENTAILMENT = ("entailment", "not_entailment")
NLI = ("contradiction", "entailment", "neutral")
STSB_RANGE = (0.0, 5.0)


@dataclasses.dataclass(frozen=True)
class GlueTask:
    """One GLUE task as its TSV files hold it.

    Attributes:
        key: BERT-EMD's task key, lower case (`mrpc`, `sts-b`, `mnli-mm`, ...).
        folder: the task's folder in the GLUE download (`MRPC`, `STS-B`, `MNLI`, ...).
        text_a: 0-based column of the first sentence.
        text_b: 0-based column of the second sentence; None for single-sentence tasks.
        label: 0-based column of the label; -1 for the last one (MNLI's dev files have
            more columns than its train file, the label always last).
        header: whether the first line names the columns (every task but CoLA).
        labels: the class labels in class-id order; None for regression (STS-B).
        dev_file: the file of the dev split.
        metrics: the metric keys reported, as BERT-EMD names them.
        selection: the metric key the best checkpoint is chosen on.
        width: the column count of a file without header; with a header, the header's.
    """

    key: str
    folder: str
    text_a: int
    text_b: int = None
    label: int = -1
    header: bool = True
    labels: tuple = BINARY
    dev_file: str = "dev.tsv"
    metrics: tuple = ("acc",)
    selection: str = "acc"
    width: int = None

    @property
    def is_pair(self):
        """True for sentence-pair tasks (two segments)."""
        return self.text_b is not None

    @property
    def is_regression(self):
        """True for STS-B: one float score per pair, no classes."""
        return self.labels is None

    @property
    def num_labels(self):
        """Outputs of the task's head: the classes, or 1 for regression."""
        return 1 if self.is_regression else len(self.labels)

    def split_file(self, split):
        """The file name of `split`: `train`, `dev` or `train_aug` (BERT-EMD's augmented set)."""
        files = {"train": "train.tsv", "dev": self.dev_file, "train_aug": "train_aug.tsv"}
        if split not in files:
            raise ValueError(f"unknown GLUE split {split!r} (one of {', '.join(files)})")
        return files[split]


_ACC_F1 = {"metrics": ("acc", "f1", "acc_and_f1"), "selection": "acc"}

TASKS = {task.key: task for task in (
    GlueTask("cola", "CoLA", text_a=3, label=1, header=False, width=4,
             metrics=("mcc",), selection="mcc"),
    GlueTask("sst-2", "SST-2", text_a=0, label=1),
    GlueTask("mrpc", "MRPC", text_a=3, text_b=4, label=0, **_ACC_F1),
    GlueTask("sts-b", "STS-B", text_a=7, text_b=8, labels=None,
             metrics=("pearson", "spearmanr", "corr"), selection="corr"),
    GlueTask("rte", "RTE", text_a=1, text_b=2, labels=ENTAILMENT),
    GlueTask("qnli", "QNLI", text_a=1, text_b=2, labels=ENTAILMENT),
    GlueTask("qqp", "QQP", text_a=3, text_b=4, label=5, **_ACC_F1),
    GlueTask("mnli", "MNLI", text_a=8, text_b=9, labels=NLI, dev_file="dev_matched.tsv"),
    GlueTask("mnli-mm", "MNLI", text_a=8, text_b=9, labels=NLI, dev_file="dev_mismatched.tsv"),
    GlueTask("wnli", "WNLI", text_a=1, text_b=2),
)}


def find_task(name):
    """The `GlueTask` named `name` in any case (`MRPC`, `sst-2`, `STS-B`), else None."""
    return TASKS.get(str(name).strip().lower())


def glue_task(name):
    """The `GlueTask` named `name` in any case; an unknown name is an `InputError`."""
    task = find_task(name)
    if task is None:
        raise InputError("--task_name", f"unknown GLUE task {quote(name)} "
                         f"(one of {', '.join(TASKS)})")
    return task
