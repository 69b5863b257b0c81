"""Tests of nlu_tf.glue_metrics on values computed by hand, and against scipy."""

import math

import numpy as np
import pytest

from nlu_tf.glue_metrics import (accuracy, average_ranks, f1, matthews, pearson, spearman,
                                 task_metrics)

# Seven binary predictions: TP 3, TN 2, FP 1, FN 1.
GOLD = [1, 1, 1, 1, 0, 0, 0]
PRED = [1, 1, 1, 0, 0, 0, 1]


def test_binary_metrics_by_hand():
    assert accuracy(PRED, GOLD) == pytest.approx(5 / 7)
    assert f1(PRED, GOLD) == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # 0.75
    # (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (6 - 1) / sqrt(4 * 4 * 3 * 3)
    assert matthews(PRED, GOLD) == pytest.approx(5 / 12)
    # F1 of class 0 instead: TP 2, FP 1, FN 1.
    assert f1(PRED, GOLD, positive=0) == pytest.approx(4 / 6)


def test_three_class_matthews_by_hand():
    # Confusion (rows gold, columns predicted): [[2, 1, 0], [0, 2, 0], [1, 0, 1]]; n = 7,
    # correct 5, gold counts t = (3, 2, 2), predicted counts p = (3, 3, 1).
    gold = [0, 0, 0, 1, 1, 2, 2]
    pred = [0, 0, 1, 1, 1, 0, 2]
    # (5 * 7 - t.p) / sqrt((49 - p.p) (49 - t.t)), t.p = 17, p.p = 19, t.t = 17.
    assert matthews(pred, gold) == pytest.approx((35 - 17) / math.sqrt((49 - 19) * (49 - 17)))


def test_undefined_values_are_zero_not_nan():
    assert matthews([1, 1, 1], [0, 1, 0]) == 0.0  # one predicted class
    assert f1([0, 0], [0, 0]) == 0.0  # no positive anywhere
    assert pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert matthews([0, 1], [0, 1]) == 1.0 and matthews([1, 0], [0, 1]) == -1.0


def test_pearson_by_hand():
    # dx = (-1, 0, 1), dy = (-4/3, -1/3, 5/3): sum dx dy = 3, sum dx^2 = 2, sum dy^2 = 42/9.
    assert pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(3 / math.sqrt(2 * 42 / 9))
    assert pearson([1, 2, 3], [6, 4, 2]) == pytest.approx(-1.0)


def test_ties_share_their_average_rank():
    assert average_ranks([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]
    assert average_ranks([3, 3, 3]).tolist() == [2.0, 2.0, 2.0]
    # Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): dx = (-1.5, 0, 0, 1.5), dy = (-1.5, .5, -.5, 1.5);
    # sum dx dy = 4.5, sum dx^2 = 4.5, sum dy^2 = 5.
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    # Monotone but not linear: Spearman 1, Pearson below.
    x = [1.0, 2.0, 3.0, 4.0]
    assert spearman(x, np.exp(x)) == pytest.approx(1.0) and pearson(x, np.exp(x)) < 0.99


def test_mismatched_or_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="2 predictions for 3 labels"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="no examples"):
        pearson([], [])


def test_each_task_reports_bert_emd_s_keys_and_selects_on_its_metric():
    metrics, selected = task_metrics("MRPC", PRED, GOLD)
    assert metrics == pytest.approx({"examples": 7, "acc": 5 / 7, "f1": 0.75,
                                     "acc_and_f1": (5 / 7 + 0.75) / 2})
    assert selected == pytest.approx(5 / 7)  # BERT-EMD keeps the best MRPC / QQP on acc
    metrics, selected = task_metrics("cola", PRED, GOLD)
    assert sorted(metrics) == ["examples", "mcc"] and selected == pytest.approx(5 / 12)
    metrics, selected = task_metrics("sst-2", PRED, GOLD)
    assert sorted(metrics) == ["acc", "examples"] and selected == pytest.approx(5 / 7)
    metrics, selected = task_metrics("STS-B", [1.0, 2.0, 2.0, 3.0], [1.0, 3.0, 2.0, 4.0])
    assert sorted(metrics) == ["corr", "examples", "pearson", "spearmanr"]
    assert metrics["spearmanr"] == pytest.approx(4.5 / math.sqrt(22.5))
    assert selected == metrics["corr"] == pytest.approx(
        (metrics["pearson"] + metrics["spearmanr"]) / 2)
    for key in ("rte", "qnli", "mnli", "mnli-mm", "wnli"):
        assert task_metrics(key, [0, 2, 1], [0, 2, 2]) == ({"examples": 3, "acc": 2 / 3}, 2 / 3)


def test_logits_are_decided_by_argmax_and_a_regression_head_by_its_one_output():
    logits = [[2.0, 0.1, 0.0], [0.0, 0.1, 3.0], [0.0, 1.0, 0.5]]
    assert task_metrics("mnli", logits, [0, 2, 2])[0]["acc"] == pytest.approx(2 / 3)
    scores = np.array([[1.0], [2.0], [3.0]])
    assert task_metrics("sts-b", scores, [1.0, 2.0, 4.0])[1] == pytest.approx(
        (3 / math.sqrt(2 * 42 / 9) + 1.0) / 2)
    with pytest.raises(ValueError, match="one output, got 2"):
        task_metrics("sts-b", [[1.0, 0.0], [2.0, 0.0]], [1.0, 2.0])


def test_same_values_as_scipy_and_the_confusion_counts():
    from scipy import stats
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(3, 60))
        gold, pred = rng.integers(0, 3, n), rng.integers(0, 3, n)
        # Two classes: Matthews' coefficient is Pearson's correlation of the 0/1 labels (phi).
        a, b = pred % 2, gold % 2
        if a.std() > 0 and b.std() > 0:
            assert matthews(a, b) == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-12)
        tp, fp, fn = (int(np.sum((a == p) & (b == g))) for p, g in ((1, 1), (1, 0), (0, 1)))
        assert f1(a, b) == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp else 0.0,
                                         abs=1e-12)
        x, y = rng.integers(0, 6, n).astype(float), rng.normal(size=n)  # x has ties
        if x.std() > 0:
            assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
            assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
            assert average_ranks(x).tolist() == stats.rankdata(x).tolist()
