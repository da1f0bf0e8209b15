"""Loss functions with PyTorch's arguments and results (``torch.nn.functional`` names).

Every loss takes ``reduction`` = ``"mean"`` (default), ``"sum"`` or ``"none"`` and is written to be
numerically stable: log-probabilities come from log-sum-exp, logits never go through ``exp`` of a
large positive value, and no branch of a ``where`` produces NaN gradients.
"""

from __future__ import annotations

import math

import numpy as np

from idrak.core.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]


def _reduce(loss: Tensor, reduction: str, fn: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input: Tensor, target: Tensor, fn: str) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{fn}: input shape {tuple(input.shape)} and target shape {tuple(target.shape)} differ"
        )


def _softplus_neg(x: Tensor) -> Tensor:
    """``log(1 + exp(-x))`` = ``-log(sigmoid(x))``, stable for any x, exact gradient at 0."""
    return (-x).relu() + (1.0 + (-x._mag()).exp()).log()


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: ``l_i = (x_i - y_i)^2``.

    Raises:
        ValueError: different shapes, or an unknown ``reduction``.
    """
    _same_shape(input, target, "mse_loss")
    return _reduce((input - target).square(), reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error: ``l_i = |x_i - y_i|``."""
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """Smooth L1 (Girshick 2015, Fast R-CNN): with ``d = |x - y|``,
    ``l = 0.5 d^2 / beta`` if ``d < beta`` else ``d - 0.5 beta``; ``beta = 0`` is L1.

    Raises:
        ValueError: ``beta < 0``, different shapes, unknown ``reduction``.
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    _same_shape(input, target, "smooth_l1_loss")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    loss = (d < beta)._select(d.square() * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """Huber loss (Huber 1964): ``0.5 d^2`` if ``d < delta`` else ``delta (d - 0.5 delta)``.

    Raises:
        ValueError: ``delta <= 0``, different shapes, unknown ``reduction``.
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    _same_shape(input, target, "huber_loss")
    d = (input - target).abs()
    loss = (d < delta)._select(d.square() * 0.5, (d - 0.5 * delta) * delta)
    return _reduce(loss, reduction, "huber_loss")


# classification ----------------------------------------------------------------------------------
def _weighted_mean(total: Tensor, den: Tensor) -> Tensor:
    """``total / den``, and NaN with a zero gradient (torch's value and gradient) when ``den``
    is 0, e.g. every target is ``ignore_index``: the plain quotient's gradient is ``0 * inf``."""
    empty = den == 0
    return empty._select(math.nan, total / empty._select(1.0, den))


def _check_target_dtype(target: Tensor, fn: str) -> None:
    if target.dtype.kind == "b":
        raise TypeError(
            f"{fn}: target must hold int64 class indices (or floating class probabilities), "
            "got a bool tensor; convert it with .long()"
        )


def _class_dim(input: Tensor, fn: str) -> int:
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have a class dimension, got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _check_indices(input: Tensor, target: Tensor, cdim: int, ignore_index: int, fn: str) -> Tensor:
    """``target``, checked to hold class indices in ``[0, C)`` or ``ignore_index``.

    Targets already on the host (a realized buffer) are checked at once; a lazy target (one
    computed in the step, e.g. ``y.reshape(-1)``, or any target inside :func:`idrak.jit`) is
    checked on its device, as lazy indices are (``engine.lazy.add_guard``): the result is the
    target with bad entries replaced by 0, and the IndexError is raised when the loss is
    realized.

    Raises:
        ValueError: the target's shape does not match the input's.
        IndexError: a class index outside ``[0, C)`` that is not ``ignore_index``.
    """
    from idrak.engine import lazy as _lazy

    expect = input.shape[:cdim] + input.shape[cdim + 1 :]
    if tuple(target.shape) != tuple(expect):
        raise ValueError(
            f"{fn}: target shape {tuple(target.shape)} does not match input shape "
            f"{tuple(input.shape)} (expected {tuple(expect)} for class indices)"
        )
    c = input.shape[cdim]

    def message(t: np.ndarray) -> str:
        bad = (t != ignore_index) & ((t < 0) | (t >= c))
        return (
            f"{fn}: target holds class index {int(t[bad].flat[0])}, outside "
            f"[0, {c}) (ignore_index={ignore_index})"
        )

    if target.numel() == 0:
        return target
    if target.lazy.buf is not None:
        t = target.numpy()
        if ((t != ignore_index) & ((t < 0) | (t >= c))).any():
            raise IndexError(message(t))
        return target
    i = target.detach()
    outside = (i != ignore_index) & ((i < 0) | (i >= c))
    safe = outside._select(0, i).cast(target.dtype)
    _lazy.add_guard(
        safe.lazy,
        outside.any().lazy,
        lambda: IndexError(message(i.numpy()) + " (checked on the device, at realization)"),
    )
    return safe


def _check_weight(weight: Tensor | None, c: int, fn: str) -> None:
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(
            f"{fn}: weight must have shape ({c},) (one per class), got {tuple(weight.shape)}"
        )


def _weight_view(weight: Tensor, input: Tensor, cdim: int) -> Tensor:
    shape = [1] * input.ndim
    shape[cdim] = input.shape[cdim]
    return weight.cast(input.dtype).reshape(shape)


def _nll(
    logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, cdim: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-element ``-w[y] logp[y]`` (0 where ignored), the per-element weights and the mask."""
    valid = target != ignore_index
    safe = valid._select(target, 0).cast("int64")
    picked = logp.gather(cdim, safe.unsqueeze(cdim)).squeeze(cdim)
    w = valid.cast(logp.dtype)
    if weight is not None:
        w = w * weight.cast(logp.dtype).index_select(0, safe.reshape(-1)).reshape(safe.shape)
    return -picked * w, w, valid


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities.

    ``l_i = -w[y_i] * input[i, y_i]`` (0 where ``y_i == ignore_index``); ``"mean"`` divides
    by ``sum_i w[y_i]`` over the non-ignored elements, as PyTorch does.

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...) int64.

    Raises:
        ValueError: mismatched shapes or weight. IndexError: a class index outside [0, C).
    """
    cdim = _class_dim(input, "nll_loss")
    _check_target_dtype(target, "nll_loss")
    target = _check_indices(input, target, cdim, ignore_index, "nll_loss")
    _check_weight(weight, input.shape[cdim], "nll_loss")
    loss, w, _ = _nll(input, target, weight, ignore_index, cdim)
    if reduction == "mean":
        return _weighted_mean(loss.sum(), w.sum())
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and class indices or class probabilities.

    With ``logp = log_softmax(input, class_dim)`` (log-sum-exp, stable for any logits):

    * indices: ``l_i = -w[y_i] logp[i, y_i]``; ``"mean"`` divides by ``sum w[y_i]`` over
      non-ignored elements. Label smoothing ``e`` (Szegedy et al. 2016) mixes in the uniform
      target: ``(1 - e) * nll + e / C * sum_c -w_c logp[i, c]``.
    * probabilities (float target, same shape as input): ``l_i = -sum_c w_c p_ic logp_ic``
      with ``p`` smoothed to ``(1 - e) p + e / C``; ``"mean"`` divides by the number of
      elements (N * d1 * ...).

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target (N, d1, ...) int64 indices or the
    input's shape for probabilities; weight (C,).

    Raises:
        ValueError: mismatched shapes, a bad ``label_smoothing`` or ``reduction``.
        IndexError: a class index outside [0, C) that is not ``ignore_index``.
    """
    fn = "cross_entropy"
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)):
        raise TypeError(f"{fn}: label_smoothing must be a number, got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    cdim = _class_dim(input, fn)
    c = input.shape[cdim]
    _check_weight(weight, c, fn)
    _check_target_dtype(target, fn)
    logp = input.log_softmax(cdim)
    if target.dtype.kind == "f":  # class probabilities
        _same_shape(input, target, fn + " (probability targets)")
        p = target.cast(logp.dtype)
        if label_smoothing > 0:
            p = p * (1.0 - label_smoothing) + label_smoothing / c
        prod = logp * p if weight is None else logp * p * _weight_view(weight, logp, cdim)
        loss = -prod.sum(cdim)
        if reduction == "mean":  # N = 0 gives NaN, as in torch
            n = input.numel() // max(c, 1)
            return loss.sum() / float(n) if n else loss.sum() * math.nan
        return _reduce(loss, reduction, fn)
    target = _check_indices(input, target, cdim, ignore_index, fn)
    nll, w, valid = _nll(logp, target, weight, ignore_index, cdim)
    if reduction == "mean":
        out = _weighted_mean(nll.sum(), w.sum())
    else:
        out = _reduce(nll, reduction, fn)
    if label_smoothing <= 0:
        return out
    lw = logp if weight is None else logp * _weight_view(weight, logp, cdim)
    smooth = valid._select(-lw.sum(cdim), 0.0)
    if reduction == "mean":
        den = w.sum() if weight is not None else valid.cast(logp.dtype).sum()
        smooth = _weighted_mean(smooth.sum(), den)
    else:
        smooth = _reduce(smooth, reduction, fn)
    return out * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """BCE between probabilities ``x`` in [0, 1] and targets ``y``:
    ``l = -w (y log x + (1 - y) log(1 - x))``, each log clamped at -100 as in PyTorch (so
    ``x = 0`` or ``1`` gives a finite loss). Prefer :func:`binary_cross_entropy_with_logits`.

    Raises:
        ValueError: different shapes, unknown ``reduction``, or an input outside [0, 1] (NaN
            included; checked on the host, as torch does, so the input is realized here).
    """
    _same_shape(input, target, "binary_cross_entropy")
    if input.numel():
        a = input.detach().numpy()
        outside = ~((a >= 0) & (a <= 1))
        if outside.any():
            raise ValueError(
                "binary_cross_entropy: all elements of input should be between 0 and 1, got "
                f"{float(a[outside].flat[0])}; use binary_cross_entropy_with_logits for logits"
            )
    y = target.cast(input.dtype)
    loss = -(y * input.log().clamp(min=-100.0) + (1.0 - y) * (1.0 - input).log().clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on logits ``x``, stable for any ``x`` (never ``exp`` of a large value):
    ``l = (1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))``, which equals
    ``-w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]``.

    ``pos_weight`` (broadcast over the last dim, usually (C,)) weighs positive examples.

    Raises:
        ValueError: different shapes, unknown ``reduction``.
    """
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    y = target.cast(input.dtype)
    sp = _softplus_neg(input)
    if pos_weight is not None:
        loss = (1.0 - y) * input + (1.0 + (pos_weight.cast(input.dtype) - 1.0) * y) * sp
    else:
        loss = (1.0 - y) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(
    input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """Kullback-Leibler divergence ``KL(target || exp(input))`` with ``input`` log-probabilities.

    ``l = y (log y - x)`` (0 where ``y = 0``), or ``exp(y) (y - x)`` when ``log_target``.
    ``reduction="batchmean"`` divides the sum by the batch size (the mathematically correct
    KL); ``"mean"`` averages over every element, as PyTorch does.

    Raises:
        ValueError: different shapes, unknown ``reduction``.
    """
    _same_shape(input, target, "kl_div")
    y = target.cast(input.dtype)
    if log_target:
        loss = y.exp() * (y - input)
    else:
        pos = y > 0
        loss = pos._select(y * pos._select(y, 1.0).log(), 0.0) - y * input
    if reduction == "batchmean":
        return loss.sum() / float(input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")
