"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from idrak.core import creation
from idrak.core.autograd import no_grad
from idrak.core.tensor import Tensor
from idrak.core.toplevel import realize
from idrak.nn import functional as F
from idrak.nn import init
from idrak.nn.layers._util import check_number, check_positive, new_param
from idrak.nn.module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm"]


class _BatchNorm(Module):
    """Batch normalization (Ioffe & Szegedy 2015, "Batch Normalization: Accelerating Deep
    Network Training by Reducing Internal Covariate Shift").

    Training mode normalizes with the batch statistics (biased variance) and updates the
    buffers ``running_mean``/``running_var`` with ``momentum`` (unbiased variance, like
    PyTorch); ``momentum=None`` uses a cumulative average. ``num_batches_tracked`` counts the
    updates. Eval mode normalizes with the running statistics. With
    ``track_running_stats=False`` the batch statistics are always used and no buffers exist.

    Args:
        num_features: the channel count C.
        eps: added to the variance.
        momentum: the running-average factor, or None for a cumulative average.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        track_running_stats: keep running statistics.
        device, dtype: where and how parameters and buffers are created.
    """

    _expected_dims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_positive(type(self).__name__, num_features=num_features)
        check_number(type(self).__name__, eps=eps, momentum=momentum)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(
                f"{type(self).__name__}: momentum must be in [0, 1] or None, got {momentum}"
            )
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = new_param(num_features, dtype=dtype, device=device, fill=1.0)
            self.bias = new_param(num_features, dtype=dtype, device=device)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer(
                "running_mean", creation.zeros(num_features, dtype=dtype, device=device)
            )
            self.register_buffer(
                "running_var", creation.ones(num_features, dtype=dtype, device=device)
            )
            self.register_buffer(
                "num_batches_tracked", creation.zeros((), dtype="int64", device=device)
            )
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean to 0, running variance to 1, the batch count to 0."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._expected_dims or x.shape[1] != self.num_features:
            dims = " or ".join(f"{d}-D" for d in self._expected_dims)
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects {dims} input "
                f"with {self.num_features} channels in dim 1, got shape "
                f"{tuple(x.shape)}"
            )
        momentum = self.momentum
        if self.training and self.track_running_stats:
            # realize last step's running-stat update (its inputs are computed by now) so the
            # lazy chain of updates never grows across steps
            realize(self.running_mean, self.running_var, self.num_batches_tracked)
            with no_grad():
                self.num_batches_tracked.assign(self.num_batches_tracked + 1)
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch,
            momentum if momentum is not None else 0.0,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization per channel C of (N, C) or (N, C, L) input (Ioffe & Szegedy 2015).

    Args and behaviour as described for the shared base class below: ``num_features``, ``eps``,
    ``momentum`` (None: cumulative average), ``affine``, ``track_running_stats``, ``device``,
    ``dtype``. Buffers ``running_mean``, ``running_var`` (unbiased, like PyTorch) and
    ``num_batches_tracked``.

    Raises:
        ValueError: in forward, a wrong rank or channel count; training with one value per
            channel.
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization per channel C of (N, C, H, W) input (Ioffe & Szegedy 2015).

    Same arguments, buffers and modes as :class:`BatchNorm1d`.

    Raises:
        ValueError: in forward, a wrong rank or channel count; training with one value per
            channel.
    """

    _expected_dims = (4,)


class LayerNorm(Module):
    """Layer normalization (Ba, Kiros & Hinton 2016) over the trailing ``normalized_shape``
    dims: ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance.

    Args:
        normalized_shape: an int or the trailing shape to normalize over.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (ones) and, if ``bias``, ``bias`` (zeros), both of
            shape ``normalized_shape``.

    Raises:
        ValueError: in forward, an input whose trailing dims differ from ``normalized_shape``.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_number("LayerNorm", eps=eps)
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = new_param(*shape, dtype=dtype, device=device, fill=1.0)
            if bias:
                self.bias = new_param(*shape, dtype=dtype, device=device)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Group normalization (Wu & He 2018): C channels in ``num_groups`` groups, each group
    normalized over its channels and positions, then a per-channel affine.

    Raises:
        ValueError: ``num_channels`` not divisible by ``num_groups``.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_positive("GroupNorm", num_groups=num_groups, num_channels=num_channels)
        check_number("GroupNorm", eps=eps)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                f"num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups,
            num_channels,
            eps,
            affine,
        )
        if affine:
            self.weight = new_param(num_channels, dtype=dtype, device=device, fill=1.0)
            self.bias = new_param(num_channels, dtype=dtype, device=device)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) expects input "
                f"(N, {self.num_channels}, *), got shape {tuple(x.shape)}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
