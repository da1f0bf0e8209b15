"""The streaming-metric interface and input normalisation shared by all metrics."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

__all__ = ["Metric"]


def to_numpy(x: Any) -> np.ndarray:
    """``x.numpy()`` for an idrak Tensor (anything with ``.numpy``), else ``np.asarray(x)``."""
    if not isinstance(x, np.ndarray) and hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def as_labels(x: Any, what: str) -> np.ndarray:
    """A 1-d int64 array of non-negative class labels.

    Raises:
        ValueError: not 1-d, non-integer values, or negative labels (the offenders are named).
    """
    arr = to_numpy(x)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-d class labels (N,), got shape {arr.shape}")
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                f"{what} must hold integer class labels, got non-integer values "
                f"{arr[~np.isfinite(arr) | (arr != np.round(arr))][:5].tolist()}"
            )
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must hold integer class labels, got dtype {arr.dtype}")
    labels = arr.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"{what} labels must be >= 0, got {labels[labels < 0][:5].tolist()}")
    return labels


def predicted_labels(preds: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(pred_labels, target_labels)``: class scores ``(N, C)`` are reduced by argmax.

    Raises:
        ValueError: shapes that do not fit ``(N, C)`` / ``(N,)`` scores against ``(N,)`` targets.
    """
    p = to_numpy(preds)
    t = as_labels(target, "target")
    if p.ndim == 2:
        if p.shape[1] == 0:
            raise ValueError(f"preds of shape {p.shape} has no classes")
        p = p.argmax(axis=1)
    elif p.ndim != 1:
        raise ValueError(f"preds must be labels (N,) or class scores (N, C), got shape {p.shape}")
    pl = as_labels(p, "preds")
    if pl.shape[0] != t.shape[0]:
        raise ValueError(
            f"preds and target have different lengths: {pl.shape[0]} vs {t.shape[0]} "
            f"(preds shape {to_numpy(preds).shape}, target shape {t.shape})"
        )
    return pl, t


class Metric(ABC):
    """A metric accumulated over batches: ``update`` per batch, ``compute`` at the end.

    Attributes:
        name: a short name for logs (``"accuracy"``, ``"f1"``); settable via ``name=``.

    Inputs may be idrak Tensors or NumPy arrays (or anything ``np.asarray`` takes).
    """

    name: str

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"metric name must be a non-empty string, got {name!r}")
            self.name = name
        self.reset()

    @abstractmethod
    def update(self, preds: Any, target: Any) -> None:
        """Accumulate one batch."""

    @abstractmethod
    def compute(self) -> Any:
        """The metric over everything seen since the last ``reset``."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything seen."""

    def _empty(self) -> RuntimeError:
        return RuntimeError(f"{type(self).__name__}.compute() called before any update()")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
