"""Streaming classification metrics that agree with scikit-learn on the same predictions."""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal

import numpy as np

from idrak.metrics.base import Metric, as_labels, predicted_labels, to_numpy

__all__ = ["Accuracy", "ConfusionMatrix", "F1Score", "Precision", "Recall"]

Average = Literal["macro", "micro", "weighted", "binary"] | None
_AVERAGES = ("macro", "micro", "weighted", "binary", None)


def _check_num_classes(num_classes: int | None) -> int | None:
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int or None, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return int(num_classes)


class Accuracy(Metric):
    """Fraction of samples whose target is among the ``top_k`` predicted classes.

    ``update(preds, target)``: ``preds`` are class scores ``(N, C)`` (any float dtype; logits or
    probabilities) or predicted labels ``(N,)``; ``target`` are labels ``(N,)``. ``top_k > 1``
    needs scores; ties are broken like ``sklearn.metrics.top_k_accuracy_score``. ``compute()``
    returns a Python float (``sklearn.metrics.accuracy_score`` for ``top_k=1``).

    Raises:
        ValueError: ``top_k < 1``, mismatched lengths, labels out of ``[0, C)`` for scores,
            ``top_k > 1`` with label preds.
        RuntimeError: ``compute()`` before any ``update()``.
    """

    def __init__(self, top_k: int = 1, name: str | None = None) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
            raise ValueError(f"top_k must be an int >= 1, got {top_k!r}")
        self.top_k: int = int(top_k)
        self.name = "accuracy" if top_k == 1 else f"top{top_k}_accuracy"
        super().__init__(name)

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def update(self, preds: Any, target: Any) -> None:
        scores = to_numpy(preds)
        if scores.ndim == 2:
            t = as_labels(target, "target")
            if scores.shape[0] != t.shape[0]:
                raise ValueError(
                    f"preds and target have different lengths: preds shape {scores.shape}, "
                    f"target shape {t.shape}"
                )
            if t.size and t.max() >= scores.shape[1]:
                raise ValueError(
                    f"target label {int(t.max())} is out of range for {scores.shape[1]} classes "
                    f"(preds shape {scores.shape})"
                )
            if self.top_k == 1:
                hits = scores.argmax(axis=1) == t
            else:
                order = np.argsort(scores, axis=1, kind="stable")[:, ::-1][:, : self.top_k]
                hits = (order == t[:, None]).any(axis=1)
        else:
            if self.top_k > 1:
                raise ValueError(
                    f"top_k={self.top_k} needs class scores (N, C), got preds of shape "
                    f"{scores.shape}"
                )
            p, t = predicted_labels(scores, target)
            hits = p == t
        self.correct += int(hits.sum())
        self.total += int(hits.shape[0])

    def compute(self) -> float:
        if self.total == 0:
            raise self._empty()
        return self.correct / self.total


class _ConfusionMetric(Metric):
    """Keeps a confusion matrix (rows: target, columns: predicted), grown as labels appear."""

    def __init__(self, num_classes: int | None = None, name: str | None = None) -> None:
        self.num_classes: int | None = _check_num_classes(num_classes)
        super().__init__(name)

    def reset(self) -> None:
        n = self.num_classes or 0
        self.matrix = np.zeros((n, n), dtype=np.int64)
        self.seen = 0

    def update(self, preds: Any, target: Any) -> None:
        width = to_numpy(preds).shape[1] if to_numpy(preds).ndim == 2 else 0
        p, t = predicted_labels(preds, target)
        top = max(int(p.max(initial=-1)), int(t.max(initial=-1))) + 1
        if self.num_classes is not None:
            if width and width != self.num_classes:
                raise ValueError(
                    f"preds has {width} class scores but num_classes={self.num_classes}"
                )
            if top > self.num_classes:
                raise ValueError(
                    f"label {top - 1} is out of range for num_classes={self.num_classes}"
                )
        size = max(self.matrix.shape[0], top, width)
        if size > self.matrix.shape[0]:
            grown = np.zeros((size, size), dtype=np.int64)
            n = self.matrix.shape[0]
            grown[:n, :n] = self.matrix
            self.matrix = grown
        size = self.matrix.shape[0]
        self.matrix += np.bincount(t * size + p, minlength=size * size).reshape(size, size)
        self.seen += int(p.shape[0])

    def _check_seen(self) -> None:
        if self.seen == 0:
            raise self._empty()


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


class _PRF(_ConfusionMetric):
    """Precision, recall and F1 from the confusion matrix, averaged like scikit-learn."""

    def __init__(
        self,
        num_classes: int | None = None,
        average: Average = "macro",
        zero_division: float = 0.0,
        name: str | None = None,
    ) -> None:
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
        if not isinstance(zero_division, numbers.Real) or not (
            zero_division in (0, 1) or math.isnan(zero_division)
        ):
            raise ValueError(f"zero_division must be 0, 1 or nan, got {zero_division!r}")
        self.average: Average = average
        self.zero_division: float = float(zero_division)
        super().__init__(num_classes, name)

    def _ratio(self, tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute(self) -> float | np.ndarray:
        """A float, or (``average=None``) a float64 array with one value per class ``0..C-1``.

        With ``num_classes=None`` the macro / weighted / micro averages run over the classes
        seen so far in preds or target (scikit-learn's default ``labels``); with
        ``num_classes=C`` over all C classes (``labels=range(C)``). ``"binary"`` is the value
        of class 1 and needs at most 2 classes. Undefined ratios (0/0) are ``zero_division``.
        """
        self._check_seen()
        m = self.matrix
        tp, pred, true = np.diag(m), m.sum(axis=0), m.sum(axis=1)
        zd = self.zero_division
        if self.average is None:
            return self._ratio(tp, pred, true)
        if self.average == "binary":
            if m.shape[0] > 2:
                raise ValueError(
                    f"average='binary' needs at most 2 classes, saw {m.shape[0]}; use "
                    "'macro', 'micro', 'weighted' or None"
                )
            return float(self._ratio(tp, pred, true)[1]) if m.shape[0] == 2 else zd
        sel = np.ones(m.shape[0], bool) if self.num_classes else (pred + true) > 0
        tp, pred, true = tp[sel], pred[sel], true[sel]
        if self.average == "micro":
            return float(
                self._ratio(
                    tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
                )[0]
            )
        values = self._ratio(tp, pred, true)
        keep = ~np.isnan(values)
        if not keep.any():
            return math.nan
        weights = true[keep] if self.average == "weighted" else None
        if weights is not None and weights.sum() == 0:
            weights = None
        return float(np.average(values[keep], weights=weights))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_classes={self.num_classes}, "
            f"average={self.average!r}, zero_division={self.zero_division})"
        )


class Precision(_PRF):
    """Precision ``tp / (tp + fp)`` per class, then averaged (``sklearn.metrics.precision_score``).

    Args:
        num_classes: fixed number of classes, or ``None`` to grow with the labels seen.
        average: ``"macro"`` (unweighted mean over classes), ``"micro"`` (global counts),
            ``"weighted"`` (mean weighted by each class's support), ``"binary"`` (class 1) or
            ``None`` (per-class array).
        zero_division: the value of a 0/0 ratio: 0, 1 or nan (nan values are left out of
            averages), as in scikit-learn.
        name: overrides the default name ``"precision"``.

    ``update(preds, target)`` takes scores ``(N, C)`` (argmax is taken) or labels ``(N,)``.

    Raises:
        ValueError: bad ``average`` / ``zero_division`` / shapes, labels ``>= num_classes``.
        RuntimeError: ``compute()`` before any ``update()``.
    """

    name = "precision"

    def _ratio(self, tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
        return _divide(tp, pred, self.zero_division)


class Recall(_PRF):
    """Recall ``tp / (tp + fn)`` per class, then averaged (``sklearn.metrics.recall_score``).

    Same arguments and errors as :class:`Precision`; default name ``"recall"``.
    """

    name = "recall"

    def _ratio(self, tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
        return _divide(tp, true, self.zero_division)


class F1Score(_PRF):
    """F1 ``2 tp / (2 tp + fp + fn)`` per class, then averaged (``sklearn.metrics.f1_score``).

    Same arguments and errors as :class:`Precision`; default name ``"f1"``.
    """

    name = "f1"

    def _ratio(self, tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
        return _divide(2 * tp, pred + true, self.zero_division)


class ConfusionMatrix(_ConfusionMetric):
    """Counts ``C[i, j]`` of samples with target ``i`` predicted as ``j``.

    Args:
        num_classes: fixed ``C``, or ``None`` to grow with the largest label seen.
        normalize: ``None`` (int64 counts), ``"true"`` (rows sum to 1), ``"pred"`` (columns sum
            to 1) or ``"all"``; empty rows / columns give 0, as in
            ``sklearn.metrics.confusion_matrix``.

    ``compute()`` returns a ``(C, C)`` array.

    Raises:
        ValueError: bad ``normalize``, shapes, or labels ``>= num_classes``.
        RuntimeError: ``compute()`` before any ``update()``.
    """

    name = "confusion_matrix"

    def __init__(
        self,
        num_classes: int | None = None,
        normalize: Literal["true", "pred", "all"] | None = None,
        name: str | None = None,
    ) -> None:
        if normalize not in (None, "true", "pred", "all"):
            raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
        self.normalize = normalize
        super().__init__(num_classes, name)

    def compute(self) -> np.ndarray:
        self._check_seen()
        m = self.matrix.copy()
        if self.normalize is None:
            return m
        if self.normalize == "true":
            den = m.sum(axis=1, keepdims=True)
        elif self.normalize == "pred":
            den = m.sum(axis=0, keepdims=True)
        else:
            den = np.asarray(m.sum())
        return _divide(m, np.broadcast_to(den, m.shape), 0.0)
