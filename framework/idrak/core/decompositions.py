"""One decomposition per optional op: how the frontend computes it from required ops when the
backend does not declare it natively.

:data:`DECOMPOSITIONS` maps each optional op to ``fn(srcs, arg, shape, dtype, device)``, called
with the same operands the native op would get (already broadcast and promoted) and returning a
Tensor of ``shape`` and ``dtype``. :func:`idrak.core.tensor.optional` picks the native op or this
table. Every decomposition is made of Tensor ops, so autograd differentiates it like any other
code (and higher-order gradients work); its accuracy is the record's
:attr:`~idrak.contract.ops.OpDef.decomposed_ulps`, checked by the conformance suite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from idrak.contract.dtypes import DType, int64
from idrak.contract.ops import Op

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor
    from idrak.runtime.devices import Device

__all__ = ["DECOMPOSITIONS", "Decomposition"]

Decomposition = Callable[[tuple["Tensor", ...], Any, tuple[int, ...], DType, "Device"], "Tensor"]
_LN2 = math.log(2.0)


def _movedim_last(x: Tensor, d: int) -> Tensor:
    return x.permute([i for i in range(x.ndim) if i != d] + [d])


def _movedim_back(x: Tensor, d: int) -> Tensor:
    order = list(range(x.ndim - 1))
    order.insert(d, x.ndim - 1)
    return x.permute(order)


def _onehot_along(idx: Tensor, n: int) -> Tensor:
    from idrak.core.creation import arange

    return idx.unsqueeze(-1) == arange(n, dtype=int64, device=idx.device)


def _gather_decomposed(x: Tensor, idx: Tensor, d: int) -> Tensor:
    xm = _movedim_last(x, d).unsqueeze(-2)  # (..., 1, n)
    hot = _onehot_along(_movedim_last(idx, d), x.shape[d])  # (..., m, n)
    out = hot._select(xm, 0).sum(-1).cast(x.dtype)  # (..., m)
    return _movedim_back(out, d)


def _scatter_add_decomposed(x: Tensor, idx: Tensor, src: Tensor, d: int) -> Tensor:
    n = x.shape[d]
    hot = _onehot_along(_movedim_last(idx, d), n)  # (..., m, n)
    sm = _movedim_last(src, d).unsqueeze(-1)  # (..., m, 1)
    contrib = _movedim_back(hot._select(sm, 0).sum(-2).cast(x.dtype), d)
    widths = tuple((0, a - b) for a, b in zip(x.shape, contrib.shape))
    return x + contrib._pad(widths, 0)


def _pow_decomposed(x: Tensor, y: Tensor) -> Tensor:
    """IEEE-style pow from EXP/LOG: |x|**y, negated for negative x with odd integer y."""
    mag = (y * x.abs().log()).exp()
    y_int = y.floor() == y
    y_odd = y_int & ((y - (y * 0.5).floor() * 2.0) != 0.0)
    neg = x < 0
    out = (neg & y_odd)._select(-mag, mag)
    out = (neg & ~y_int)._select(math.nan, out)
    return (y == 0)._select(1.0, out)


def _matmul_decomposed(a: Tensor, b: Tensor) -> Tensor:
    # (..., m, k, 1) * (..., 1, k, n) summed over k
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2).cast(a.dtype)


def _tanh(x: Tensor) -> Tensor:
    # tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|) <= 1: no overflow anywhere
    e = (x.abs() * -2.0).exp()
    return x.sign() * (1.0 - e) / (1.0 + e)


def _cumsum_decomposed(x: Tensor, d: int) -> Tensor:
    """Inclusive prefix sum along ``d``: a Hillis-Steele scan of log2(n) shifted adds (Hillis and
    Steele, "Data parallel algorithms", CACM 1986)."""
    n = x.shape[d] if x.ndim else 1
    shift = 1
    while shift < n:
        widths = tuple((shift, 0) if i == d else (0, 0) for i in range(x.ndim))
        bounds = tuple((0, n) if i == d else (0, s) for i, s in enumerate(x.shape))
        x = x + x._pad(widths, 0)._shrink(bounds)
        shift *= 2
    return x


def _arange(arg: Any, dev: Device) -> Tensor:
    """ARANGE computed on the host (float64, then cast) and copied in."""
    from idrak.core.creation import tensor

    start, end, step, d = arg
    n = max(0, math.ceil((end - start) / step))
    return tensor(np.arange(n, dtype=np.float64) * step + start, dtype=d, device=dev)


def _random_bits(arg: Any, dev: Device) -> Tensor:
    """RANDOM_BITS from the host reference of Threefry-2x32, copied in."""
    from idrak.core import random as _random
    from idrak.core.creation import tensor

    return tensor(_random.threefry2x32(*arg), device=dev)


def _conv2d(x: Tensor, w: Tensor, arg: Any) -> Tensor:
    from idrak.core.methods.convolution import conv2d_decomposed

    return conv2d_decomposed(x, w, *arg)


#: the decomposition of every optional op (FUSED is decomposed by running its ops one by one:
#: the fusion pass only writes it for a backend that declares it)
DECOMPOSITIONS: dict[Op, Decomposition] = {
    Op.SUB: lambda s, arg, shape, dt, dev: s[0] + (-s[1]),
    Op.POW: lambda s, arg, shape, dt, dev: _pow_decomposed(s[0], s[1]),
    Op.TANH: lambda s, arg, shape, dt, dev: _tanh(s[0]),
    Op.EXP2: lambda s, arg, shape, dt, dev: (s[0] * _LN2).exp(),
    Op.LOG2: lambda s, arg, shape, dt, dev: s[0].log() / _LN2,
    Op.MATMUL: lambda s, arg, shape, dt, dev: _matmul_decomposed(s[0], s[1]),
    Op.GATHER: lambda s, arg, shape, dt, dev: _gather_decomposed(s[0], s[1], arg),
    Op.SCATTER_ADD: lambda s, arg, shape, dt, dev: _scatter_add_decomposed(s[0], s[1], s[2], arg),
    Op.CUMSUM: lambda s, arg, shape, dt, dev: _cumsum_decomposed(s[0], arg),
    Op.ARANGE: lambda s, arg, shape, dt, dev: _arange(arg, dev),
    Op.RANDOM_BITS: lambda s, arg, shape, dt, dev: _random_bits(arg, dev),
    Op.CONV2D: lambda s, arg, shape, dt, dev: _conv2d(s[0], s[1], arg),
}
