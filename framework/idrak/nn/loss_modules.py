"""Loss modules (``nn.CrossEntropyLoss`` ...): torch's constructor arguments, stored, and the
matching function of :mod:`idrak.nn.losses` called in ``forward(input, target)``.

The deprecated ``size_average`` / ``reduce`` arguments are accepted and mapped to a
``reduction`` the way torch does (with a warning).

A class weight (``weight``, ``pos_weight``) is registered as a buffer, as torch does, so it moves
with ``.to()`` and appears in ``state_dict``.
"""

from __future__ import annotations

import warnings
from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import losses
from idrak.nn.module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]

_REDUCTIONS = ("mean", "sum", "none", "batchmean")


def _legacy(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated ``size_average``/``reduce`` pair mapped to a ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    out = "none" if reduce is False else ("sum" if size_average is False else "mean")
    warnings.warn(
        f"size_average and reduce are deprecated (as in torch); use reduction={out!r}",
        UserWarning,
        stacklevel=4,
    )
    return out


class _Loss(Module):
    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        allowed: tuple[str, ...] = _REDUCTIONS[:3],
    ) -> None:
        super().__init__()
        reduction = _legacy(size_average, reduce, reduction)
        if reduction not in allowed:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {allowed}, got {reduction!r}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(
        self, weight: Tensor | None, size_average: Any, reduce: Any, reduction: str
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error ``(x - y)^2``; see :func:`idrak.nn.functional.mse_loss`."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|x - y|``; see :func:`idrak.nn.functional.l1_loss`."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 d^2 / beta`` below ``beta``, else ``d - 0.5 beta`` (Girshick 2015)."""

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """``0.5 d^2`` below ``delta``, else ``delta (d - 0.5 delta)`` (Huber 1964)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(None, None, reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.huber_loss(input, target, self.reduction, self.delta)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities (N, C, ...)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """``log_softmax`` + NLL over class dim 1 (or 0 for a (C,) input); class indices or class
    probabilities as target; ``label_smoothing`` as in Szegedy et al. 2016."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (log clamped at -100, as torch)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy in one stable formula; ``pos_weight`` scales positives."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class KLDivLoss(_Loss):
    """``target * (log target - input)`` with ``input`` log-probabilities; ``log_target``
    says the target is given as log-probabilities; ``reduction="batchmean"`` divides the sum
    by the batch size (the mathematically correct KL divergence)."""

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(size_average, reduce, reduction, _REDUCTIONS)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.kl_div(input, target, self.reduction, self.log_target)
