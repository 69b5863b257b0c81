"""GLUE metrics in numpy, under the keys BERT-EMD reports them with.

`mcc` (Matthews correlation, CoLA), `acc`, `f1` (class id 1 positive: label "1", a
paraphrase or a duplicate) and `acc_and_f1` (their mean, MRPC and QQP), `pearson`,
`spearmanr` (Pearson of the ranks, ties given their average rank) and `corr` (their mean,
STS-B). Where a value is undefined (no positive at all for F1, a constant series for a
correlation, one class only for MCC) it is 0.0, as scikit-learn scores it for F1 and MCC:
a NaN would make every later comparison of model selection false.
"""

import numpy as np

from nlu_tf.data.glue.tasks import glue_task


def accuracy(predictions, labels):
    """Share of `predictions` equal to `labels` (class ids)."""
    predictions, labels = _pair(predictions, labels)
    return float(np.mean(predictions == labels))


def f1(predictions, labels, positive=1):
    """F1 of class `positive`: 2 TP / (2 TP + FP + FN)."""
    predictions, labels = _pair(predictions, labels)
    true_pos = np.sum((predictions == positive) & (labels == positive))
    wrong = np.sum((predictions == positive) != (labels == positive))
    return float(2 * true_pos / (2 * true_pos + wrong)) if true_pos + wrong else 0.0


def matthews(predictions, labels):
    """Matthews correlation of class ids, in its multi-class form (Gorodkin 2004), which
    for two classes is (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))."""
    predictions, labels = _pair(predictions, labels)
    classes, codes = np.unique(np.concatenate([labels, predictions]), return_inverse=True)
    n = len(labels)
    confusion = np.zeros((len(classes), len(classes)), dtype=np.float64)
    np.add.at(confusion, (codes[:n], codes[n:]), 1)
    true_counts, pred_counts = confusion.sum(1), confusion.sum(0)
    correct = np.trace(confusion)
    numerator = correct * n - true_counts @ pred_counts
    denominator = np.sqrt((n * n - pred_counts @ pred_counts) * (n * n - true_counts @ true_counts))
    return float(numerator / denominator) if denominator else 0.0


def pearson(x, y):
    """Pearson correlation of two float series."""
    x, y = _pair(x, y, np.float64)
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.clip(np.sum(x * y) / denominator, -1.0, 1.0)) if denominator else 0.0


def average_ranks(values):
    """1-based ranks of `values`; equal values share the mean of the ranks they span."""
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # Start of every run of equal values in sorted order, and the run each item falls in.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    run_rank = (starts + 1 + ends) / 2.0  # mean of the ranks starts+1 .. ends
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(run_rank, ends - starts)
    return ranks


def spearman(x, y):
    """Spearman correlation: the Pearson correlation of the average ranks."""
    x, y = _pair(x, y, np.float64)
    return pearson(average_ranks(x), average_ranks(y))


def task_metrics(task, predictions, labels):
    """Scores predictions of a GLUE task as BERT-EMD does.

    Args:
        task: a task key in any case (`MRPC`, `sts-b`) or a `GlueTask`.
        predictions: class ids (N,) or logits (N, C) for a classification task; scores
            (N,) or (N, 1) for STS-B.
        labels: class ids, or gold scores for STS-B, (N,).

    Returns:
        `(metrics, selection)`: a dict of the task's metric keys (`task.metrics`) and
        `examples`, and the value of its selection metric (`task.selection`), higher
        is better.
    """
    task = glue_task(task) if isinstance(task, str) else task
    predictions = _decided(task, np.asarray(predictions))
    metrics = {"examples": len(predictions)}
    if "mcc" in task.metrics:
        metrics["mcc"] = matthews(predictions, labels)
    if "acc" in task.metrics:
        metrics["acc"] = accuracy(predictions, labels)
    if "f1" in task.metrics:
        metrics["f1"] = f1(predictions, labels)
        metrics["acc_and_f1"] = (metrics["acc"] + metrics["f1"]) / 2
    if task.is_regression:
        metrics["pearson"] = pearson(predictions, labels)
        metrics["spearmanr"] = spearman(predictions, labels)
        metrics["corr"] = (metrics["pearson"] + metrics["spearmanr"]) / 2
    return metrics, metrics[task.selection]


def _decided(task, predictions):
    """Class ids from logits (N, C), or scores (N,) from a regression head's (N, 1)."""
    if predictions.ndim != 2:
        return predictions
    if not task.is_regression:
        return predictions.argmax(axis=-1)
    if predictions.shape[1] != 1:
        raise ValueError(f"{task.key} is scored on one output, got {predictions.shape[1]}")
    return predictions[:, 0]


def _pair(a, b, dtype=None):
    """`a` and `b` as 1-D arrays of one length (at least one item)."""
    a, b = np.asarray(a, dtype=dtype).reshape(-1), np.asarray(b, dtype=dtype).reshape(-1)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} predictions for {len(b)} labels")
    if not len(a):
        raise ValueError("no examples to score")
    return a, b
