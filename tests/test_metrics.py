"""idrak.metrics agree with scikit-learn, one-shot and streamed over several batches."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import idrak
from idrak.metrics import (
    Accuracy,
    ConfusionMatrix,
    F1Score,
    MeanMetric,
    Metric,
    Precision,
    Recall,
)

SETTINGS = settings(derandomize=True, max_examples=50, deadline=None)
SK_PRF = {Precision: skm.precision_score, Recall: skm.recall_score, F1Score: skm.f1_score}


@st.composite
def predictions(draw: Any, min_classes: int = 1, max_classes: int = 6) -> tuple:
    """(pred labels, target labels, class scores, C) with labels in [0, C)."""
    c = draw(st.integers(min_classes, max_classes))
    n = draw(st.integers(1, 30))
    # labels come from a random subset of the classes, so some classes never occur
    used = draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    target = np.asarray(
        draw(st.lists(st.sampled_from(sorted(used)), min_size=n, max_size=n)), dtype=np.int64
    )
    # small integer scores make ties common, which exercises tie-breaking
    scores = np.asarray(
        draw(st.lists(st.lists(st.integers(0, 4), min_size=c, max_size=c), min_size=n, max_size=n)),
        dtype=np.float32,
    )
    return scores.argmax(axis=1), target, scores, c


def _batches(n: int, cuts: list[int]) -> list[slice]:
    points = sorted({0, n, *(min(c, n) for c in cuts)})
    return [slice(a, b) for a, b in itertools.pairwise(points)]


def _streamed(metric: Metric, preds: np.ndarray, target: np.ndarray, cuts: list[int]) -> Any:
    for s in _batches(len(target), cuts):
        metric.update(preds[s], target[s])
    return metric.compute()


def _same(a: Any, b: Any) -> None:
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=1e-12, atol=1e-12, equal_nan=True
    )


@SETTINGS
@given(predictions(), st.lists(st.integers(0, 30), max_size=3))
def test_accuracy_matches_sklearn(case: tuple, cuts: list[int]) -> None:
    labels, target, scores, _ = case
    expected = skm.accuracy_score(target, labels)
    _same(_streamed(Accuracy(), scores, target, cuts), expected)
    _same(_streamed(Accuracy(), labels, target, cuts), expected)


@SETTINGS
@given(predictions(min_classes=3), st.data())
def test_top_k_accuracy_matches_sklearn(case: tuple, draw: Any) -> None:
    _, target, scores, c = case
    k = draw.draw(st.integers(2, c - 1)) if c > 3 else 2
    cuts = draw.draw(st.lists(st.integers(0, 30), max_size=3))
    expected = skm.top_k_accuracy_score(target, scores, k=k, labels=np.arange(c))
    _same(_streamed(Accuracy(top_k=k), scores, target, cuts), expected)


@SETTINGS
@given(predictions(), st.lists(st.integers(0, 30), max_size=3))
def test_prf_averages_match_sklearn(case: tuple, cuts: list[int]) -> None:
    labels, target, _, c = case
    combos = [
        (avg, zd, fixed)
        for avg in ("macro", "micro", "weighted")
        for zd in (0.0, 1.0, math.nan)
        for fixed in (False, True)
    ]
    for average, zero_division, fixed in combos:
        for cls, fn in SK_PRF.items():
            expected = fn(
                target,
                labels,
                average=average,
                zero_division=zero_division,
                labels=np.arange(c) if fixed else None,
            )
            metric = cls(
                num_classes=c if fixed else None,
                average=average,
                zero_division=zero_division,
            )
            _same(_streamed(metric, labels, target, cuts), expected)


@SETTINGS
@given(predictions(), st.sampled_from([0.0, 1.0]), st.lists(st.integers(0, 30), max_size=3))
def test_prf_per_class_matches_sklearn(case: tuple, zero_division: float, cuts: list[int]) -> None:
    labels, target, _, _ = case
    size = int(max(labels.max(), target.max())) + 1
    for cls, fn in SK_PRF.items():
        expected = fn(
            target, labels, average=None, zero_division=zero_division, labels=np.arange(size)
        )
        got = _streamed(cls(average=None, zero_division=zero_division), labels, target, cuts)
        assert got.shape == (size,)
        _same(got, expected)


@SETTINGS
@given(predictions(max_classes=2), st.sampled_from([0.0, 1.0]))
def test_binary_average_matches_sklearn(case: tuple, zero_division: float) -> None:
    labels, target, _, _ = case
    for cls, fn in SK_PRF.items():
        metric = cls(average="binary", zero_division=zero_division)
        metric.update(labels, target)
        _same(
            metric.compute(),
            fn(target, labels, average="binary", zero_division=zero_division, labels=[0, 1]),
        )


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
@SETTINGS
@given(
    predictions(),
    st.sampled_from([None, "true", "pred", "all"]),
    st.lists(st.integers(0, 30), max_size=3),
)
def test_confusion_matrix_matches_sklearn(case: tuple, normalize: Any, cuts: list[int]) -> None:
    _, target, scores, c = case
    expected = skm.confusion_matrix(
        target, scores.argmax(axis=1), labels=np.arange(c), normalize=normalize
    )
    got = _streamed(ConfusionMatrix(c, normalize=normalize), scores, target, cuts)
    assert got.shape == (c, c)
    _same(got, expected)
    if normalize is None:
        assert got.dtype == np.int64


@SETTINGS
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(0.1, 10)), min_size=1, max_size=20))
def test_mean_metric_is_weighted_average(pairs: list[tuple[float, float]]) -> None:
    m = MeanMetric()
    for v, w in pairs:
        m.update(v, weight=w)
    values, weights = zip(*pairs)
    assert m.compute() == pytest.approx(np.average(values, weights=weights), rel=1e-9, abs=1e-9)


def test_mean_metric_arrays_and_errors() -> None:
    m = MeanMetric()
    m.update(np.array([1.0, 3.0]))  # each element counts once
    m.update(np.array([[5.0]]), weight=2)
    assert m.compute() == pytest.approx((1 + 3 + 10) / 4)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        m.update(1.0, weight=-1)
    with pytest.raises(ValueError, match=r"shape \(3,\) does not broadcast to value shape \(2,\)"):
        m.update(np.zeros(2), weight=np.ones(3))
    with pytest.raises(RuntimeError, match="before any update"):
        MeanMetric().compute()


def test_growing_classes_and_reset() -> None:
    m = ConfusionMatrix()
    m.update(np.array([0, 1]), np.array([0, 1]))
    m.update(np.array([4]), np.array([2]))
    assert m.compute().shape == (5, 5) and m.compute()[2, 4] == 1
    m.reset()
    with pytest.raises(RuntimeError, match=r"ConfusionMatrix.compute\(\) called before"):
        m.compute()


@pytest.mark.parametrize(
    ("make", "preds", "target", "match"),
    [
        (Accuracy, [0, 1], [0], "different lengths: 2 vs 1"),
        (Accuracy, np.zeros((2, 3)), [0, 3], "target label 3 is out of range for 3 classes"),
        (lambda: Accuracy(top_k=2), [0, 1], [0, 1], "top_k=2 needs class scores"),
        (Accuracy, [0, 1], [0, -1], r"labels must be >= 0, got \[-1\]"),
        (Accuracy, [0.5, 1.0], [0, 1], r"non-integer values \[0.5\]"),
        (Accuracy, np.zeros((2, 2, 2)), [0, 1], r"got shape \(2, 2, 2\)"),
        (
            lambda: F1Score(num_classes=2),
            [0, 2],
            [0, 1],
            "label 2 is out of range for num_classes=2",
        ),
        (
            lambda: Recall(num_classes=2),
            np.zeros((2, 3)),
            [0, 1],
            "3 class scores but num_classes=2",
        ),
    ],
)
def test_bad_inputs_name_the_values(make: Any, preds: Any, target: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make().update(np.asarray(preds), np.asarray(target))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="average must be one of"):
        Precision(average="samples")
    with pytest.raises(ValueError, match=r"zero_division must be 0, 1 or nan, got 0\.5"):
        Recall(zero_division=0.5)
    with pytest.raises(ValueError, match="top_k must be an int >= 1, got 0"):
        Accuracy(top_k=0)
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        ConfusionMatrix(0)
    f1 = F1Score(average="binary")
    f1.update([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="average='binary' needs at most 2 classes, saw 3"):
        f1.compute()


def test_names() -> None:
    assert [
        m.name
        for m in (
            Accuracy(),
            Accuracy(top_k=5),
            Precision(),
            Recall(),
            F1Score(),
            ConfusionMatrix(),
            MeanMetric(),
        )
    ] == ["accuracy", "top5_accuracy", "precision", "recall", "f1", "confusion_matrix", "mean"]
    assert F1Score(name="val_f1").name == "val_f1" and F1Score().name == "f1"


@pytest.mark.skipif(not hasattr(idrak, "tensor"), reason="idrak.tensor not available yet")
def test_tensor_inputs() -> None:
    scores = idrak.tensor(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32))
    target = idrak.tensor(np.array([1, 1, 1], np.int64))
    acc = Accuracy()
    acc.update(scores, target)
    assert acc.compute() == pytest.approx(2 / 3)
    mean = MeanMetric()
    mean.update(idrak.tensor(np.array([2.0, 4.0], np.float32)))
    assert mean.compute() == pytest.approx(3.0)
