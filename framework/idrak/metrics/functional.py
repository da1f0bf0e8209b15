"""Loss-style metric functions, spelled as the Axon seed calls them: ``metrics.bce(y_pred, y)``.

Each takes predictions and targets (Tensors, NumPy arrays or nested lists) and returns a scalar
Tensor averaged over every element, differentiable in ``y_pred``, so it serves as a loss too:

* :func:`bce` -- binary cross-entropy on logits; integer class labels are one-hot encoded.
* :func:`cross_entropy` -- softmax cross-entropy of logits ``(N, C)`` against class labels.
* :func:`mse`, :func:`mae` -- mean squared / absolute error.
* :func:`accuracy` -- the fraction of rows whose arg-max (or, for one column, ``> 0``) matches.

They are built on Tensor methods only (this package does not import :mod:`idrak.nn`), and agree
with :func:`idrak.nn.functional.binary_cross_entropy_with_logits`, ``cross_entropy``,
``mse_loss`` and ``l1_loss`` with the default ``reduction="mean"``.
"""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor, tensor

__all__ = ["accuracy", "bce", "cross_entropy", "mae", "mse"]


def _as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x if like is None or x.device == like.device else x.to(like.device)
    return tensor(x, device=None if like is None else like.device)


def _targets_like(y_pred: Tensor, y_true: Any, fn: str) -> Tensor:
    """``y_true`` in ``y_pred``'s shape and dtype: class labels ``(N,)`` for ``(N, C)``
    predictions are one-hot encoded; anything else must already have the same shape."""
    y = _as_tensor(y_true, y_pred)
    if y.shape != y_pred.shape and y.dtype.is_integer and y.shape == y_pred.shape[:-1]:
        classes = y_pred.shape[-1]
        y = (y.unsqueeze(-1) == tensor(list(range(classes)), device=y_pred.device)).cast(
            y_pred.dtype
        )
    if y.shape != y_pred.shape:
        raise ValueError(
            f"{fn}: y_true of shape {tuple(y.shape)} does not fit y_pred of shape "
            f"{tuple(y_pred.shape)} (give the same shape, or class labels of shape "
            f"{tuple(y_pred.shape[:-1])} for one-hot encoding)"
        )
    return y.cast(y_pred.dtype)


def bce(y_pred: Any, y_true: Any) -> Tensor:
    """Mean binary cross-entropy of logits ``y_pred`` (raw scores, as a final Linear gives)
    against 0/1 targets, computed stably as ``(1 - y) x + softplus(-x)``.

    ``y_true`` has ``y_pred``'s shape, or holds integer class labels of shape ``y_pred.shape[:-1]``
    (then one-hot encoded: one independent yes/no per class).

    Raises:
        ValueError: shapes that do not fit (both named).
    """
    x = _as_tensor(y_pred)
    y = _targets_like(x, y_true, "bce")
    return ((1.0 - y) * x + (-x).softplus()).mean()


def cross_entropy(y_pred: Any, y_true: Any) -> Tensor:
    """Mean softmax cross-entropy of logits ``(N, C)`` against class labels ``(N,)`` or class
    probabilities ``(N, C)``.

    Raises:
        ValueError: shapes that do not fit (both named).
    """
    x = _as_tensor(y_pred)
    y = _targets_like(x, y_true, "cross_entropy")
    return -(y * x.log_softmax(-1)).sum(-1).mean()


def mse(y_pred: Any, y_true: Any) -> Tensor:
    """Mean squared error over every element (same shapes required).

    Raises:
        ValueError: different shapes (both named).
    """
    x = _as_tensor(y_pred)
    d = x - _targets_like(x, y_true, "mse")
    return (d * d).mean()


def mae(y_pred: Any, y_true: Any) -> Tensor:
    """Mean absolute error over every element (same shapes required).

    Raises:
        ValueError: different shapes (both named).
    """
    x = _as_tensor(y_pred)
    return (x - _targets_like(x, y_true, "mae")).abs().mean()


def accuracy(y_pred: Any, y_true: Any) -> float:
    """The fraction of correct predictions: arg-max of ``(N, C)`` scores against labels
    ``(N,)`` (or one-hot ``(N, C)``); for ``(N,)`` or ``(N, 1)`` logits, ``x > 0`` against 0/1.

    Raises:
        ValueError: shapes that do not fit (both named).
    """
    x = _as_tensor(y_pred).numpy()
    y = _as_tensor(y_true).numpy()
    if x.ndim >= 2 and x.shape[-1] > 1:
        pred = x.argmax(-1)
        if y.shape == x.shape:
            y = y.argmax(-1)
    else:
        pred = (x.reshape(x.shape[:1] or (1,)) > 0).astype(y.dtype)
        y = y.reshape(pred.shape) if y.size == pred.size else y
    if y.shape != pred.shape:
        raise ValueError(
            f"accuracy: y_true of shape {y.shape} does not fit y_pred of shape {x.shape}"
        )
    return float((pred == y).mean()) if pred.size else float("nan")
