"""More ``nn.functional`` functions (re-exported there), composed from Tensor methods:
glu, rms_norm, threshold, tanhshrink, prelu, dropout2d, adaptive_avg_pool1d."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from idrak.core.creation import rand
from idrak.core.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "dropout2d",
    "glu",
    "prelu",
    "rms_norm",
    "tanhshrink",
    "threshold",
]


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit (Dauphin et al. 2017): split ``dim`` into halves ``a, b`` and return
    ``a * sigmoid(b)``; the size of ``dim`` halves.

    Raises:
        ValueError: an odd size along ``dim``.
    """
    d = input._dim(dim)
    n = input.shape[d]
    if n % 2:
        raise ValueError(f"glu: dim {dim} of {input.shape} must have an even size, got {n}")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * b.sigmoid()


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """Root-mean-square normalization (Zhang & Sennrich 2019) over the trailing
    ``normalized_shape`` dims: ``x / sqrt(mean(x^2) + eps) * weight``. ``eps=None`` uses the
    dtype's machine epsilon, as torch does.

    Raises:
        ValueError: ``normalized_shape`` that is not ``input``'s trailing shape.
    """
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or k > input.ndim or tuple(input.shape[-k:]) != ns:
        raise ValueError(
            f"rms_norm: normalized_shape {ns} is not the trailing shape of input {input.shape}"
        )
    if eps is None:
        eps = float(_finfo_eps(input))
    dims = tuple(range(input.ndim - k, input.ndim))
    out = input * (input.square().mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def _finfo_eps(x: Tensor) -> float:
    import numpy as np

    return float(np.finfo(np.dtype(x.dtype.name)).eps)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (``inplace`` accepted and ignored)."""
    return (input > threshold)._select(input, value)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` if ``x >= 0`` else ``weight * x`` (He et al. 2015); ``weight`` has 1 element or
    one per channel (dim 1 of ``input``).

    Raises:
        ValueError: a ``weight`` of another size.
    """
    n = weight.numel()
    if n != 1 and (input.ndim < 2 or input.shape[1] != n):
        raise ValueError(
            f"prelu: weight has {n} elements; input {input.shape} needs 1 or its channel count"
        )
    w = weight.reshape(()) if n == 1 else weight.reshape(n, *([1] * (input.ndim - 2)))
    return (input >= 0)._select(input, input * w)


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels (Tompson et al. 2015) of ``(N, C, H, W)`` or ``(C, H, W)`` input
    with probability ``p``, scaling the rest by ``1/(1-p)``; identity when not training.

    Raises:
        ValueError: ``p`` outside [0, 1], or input that is not 3-D or 4-D.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected 3-D or 4-D input, got shape {input.shape}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    lead = input.ndim - 2
    keep = rand((*input.shape[:lead], 1, 1), dtype=input.dtype, device=input.device) >= p
    return keep._select(input * (1.0 / (1.0 - p)), 0.0)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average ``(N, C, L)`` or ``(C, L)`` into ``output_size`` cells (cell ``i`` covers
    ``[floor(i L / O), ceil((i + 1) L / O))``, as torch).

    Raises:
        ValueError: input that is not 2-D or 3-D, or a non-positive ``output_size``.
    """
    o = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    if input.ndim not in (2, 3):
        raise ValueError(f"adaptive_avg_pool1d: expected 2-D or 3-D input, got {input.shape}")
    if not isinstance(o, int) or o <= 0:
        raise ValueError(f"adaptive_avg_pool1d: output_size must be positive, got {output_size}")
    n = input.shape[-1]
    cells = []
    for i in range(o):
        lo, hi = (i * n) // o, math.ceil((i + 1) * n / o)
        cells.append(input.narrow(-1, lo, hi - lo).mean(-1, keepdim=True))
    from idrak.core.methods.movement import cat

    return cat(cells, -1)
