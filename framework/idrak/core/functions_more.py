"""More of torch's top-level functions: spellings of Tensor methods (``idrak.neg(x)``,
``idrak.median(x)``, ...) and the functions torch has only at the top level (``hstack``,
``vstack``, ``tensordot``, ``cdist``, ``normal``, ``dropout``, ``randint_like``, ``logspace``),
all composed from existing ops."""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

from idrak.contract.dtypes import get_default_dtype, to_dtype
from idrak.core.creation import linspace, rand, randint, randn
from idrak.core.methods.movement import cat
from idrak.core.tensor import Tensor, broadcast_shapes
from idrak.core.toplevel import _function
from idrak.runtime.devices import DeviceLike

__all__ = [
    "bincount",
    "cdist",
    "cumprod",
    "dot",
    "dropout",
    "eq",
    "equal",
    "frac",
    "ge",
    "gt",
    "hstack",
    "kthvalue",
    "le",
    "log10",
    "logical_and",
    "logical_or",
    "logspace",
    "lt",
    "median",
    "ne",
    "neg",
    "negative",
    "nonzero",
    "normal",
    "outer",
    "randint_like",
    "reciprocal",
    "remainder",
    "take",
    "tensordot",
    "trace",
    "unbind",
    "unique",
    "vstack",
]

bincount = _function(Tensor.bincount)
cumprod = _function(Tensor.cumprod)
dot = _function(Tensor.dot)
eq = _function(Tensor.eq)
equal = _function(Tensor.equal)
frac = _function(Tensor.frac)
ge = _function(Tensor.ge)
gt = _function(Tensor.gt)
kthvalue = _function(Tensor.kthvalue)
le = _function(Tensor.le)
log10 = _function(Tensor.log10)
logical_and = _function(Tensor.logical_and)
logical_or = _function(Tensor.logical_or)
lt = _function(Tensor.lt)
median = _function(Tensor.median)
ne = _function(Tensor.ne)
neg = _function(Tensor.neg)
negative = neg
nonzero = _function(Tensor.nonzero)
outer = _function(Tensor.outer)
reciprocal = _function(Tensor.reciprocal)
remainder = _function(Tensor.remainder)
take = _function(Tensor.take)
trace = _function(Tensor.trace)
unbind = _function(Tensor.unbind)
unique = _function(Tensor.unique)


def _tensors(tensors: Sequence[Tensor], name: str) -> list[Tensor]:
    ts = list(tensors)
    if not ts:
        raise ValueError(f"{name}: expects a non-empty sequence of tensors")
    for k, t in enumerate(ts):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: element {k} is a {type(t).__name__}, not a Tensor")
    return ts


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate column-wise (``torch.hstack``): along dim 0 when every input is 1-D (0-d
    inputs count as 1-D), else along dim 1.

    Raises:
        ValueError: an empty sequence or shapes that do not concatenate.
    """
    ts = [t.reshape(1) if t.ndim == 0 else t for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if builtins.all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate row-wise (``torch.vstack``): 0-d and 1-D inputs become rows ``(1, n)``,
    then everything joins along dim 0.

    Raises:
        ValueError: an empty sequence or shapes that do not concatenate.
    """
    ts = [t.reshape(1, -1) if t.ndim < 2 else t for t in _tensors(tensors, "vstack")]
    return cat(ts, 0)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b``, or the pairs
    ``dims = ([a dims], [b dims])`` (``torch.tensordot``); one matmul after permute/reshape.

    Raises:
        ValueError: a negative ``dims``, lists of different lengths, or contracted sizes that
            differ.
    """
    if isinstance(dims, int):
        if dims < 0:
            raise ValueError(f"tensordot: dims must be non-negative, got {dims}")
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        pa, pb = dims
        pa = [pa] if isinstance(pa, int) else list(pa)
        pb = [pb] if isinstance(pb, int) else list(pb)
        if len(pa) != len(pb):
            raise ValueError(f"tensordot: dims lists differ in length: {pa} and {pb}")
        da, db = [a._dim(d) for d in pa], [b._dim(d) for d in pb]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(
                f"tensordot: contracted dims differ: a dim {i} has size {a.shape[i]}, "
                f"b dim {j} has size {b.shape[j]}"
            )
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = a.permute(*fa, *da).reshape(math.prod(a.shape[d] for d in fa), k)
    bm = b.permute(*db, *fb).reshape(k, math.prod(b.shape[d] for d in fb))
    return am.matmul(bm).reshape(*[a.shape[d] for d in fa], *[b.shape[d] for d in fb])


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """p-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M) ->
    (..., P, R) (``torch.cdist``). ``p`` in (0, inf]; ``p=inf`` is the largest difference.

    Composed from the broadcast difference (O(P * R * M) memory). At zero distance the
    gradient for ``p=2`` is zero (as torch's).

    Raises:
        ValueError: inputs with fewer than 2 dims, different row lengths, or ``p <= 0``.
    """
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(
            f"cdist: expected (..., P, M) and (..., R, M) with the same M, got {x1.shape} "
            f"and {x2.shape}"
        )
    if not p > 0:
        raise ValueError(f"cdist: p must be positive, got {p}")
    diff = (x1.unsqueeze(-2) - x2.unsqueeze(-3)).abs()
    if math.isinf(p):
        return diff.amax(-1)
    if p == 1:
        return diff.sum(-1)
    s = diff.pow(p).sum(-1)
    zero = s == 0
    safe = zero._select(s.ones_like(), s)
    return zero._select(s.zeros_like(), safe.pow(1.0 / p))


def normal(
    mean: Any,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: DeviceLike | None = None,
) -> Tensor:
    """Samples from N(mean, std^2) (``torch.normal``): ``mean``/``std`` tensors (broadcast
    together) or numbers with ``size``. No gradient flows through the draw.

    Raises:
        ValueError: numbers without ``size``, or a negative ``std``.
    """
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise ValueError("normal: give size when mean and std are numbers")
        if std < 0:
            raise ValueError(f"normal: std must be non-negative, got {std}")
        z = randn(tuple(size), dtype=dtype, device=device, generator=generator)
        return z * std + mean
    ref = mean if isinstance(mean, Tensor) else std
    m = mean if isinstance(mean, Tensor) else ref._full_like_shape(mean, ())
    s = std if isinstance(std, Tensor) else ref._full_like_shape(std, ())
    if bool((s < 0).any().item()):
        raise ValueError("normal: std must be non-negative")
    shape = broadcast_shapes(m.shape, s.shape)
    z = randn(shape, dtype=ref.dtype, device=ref.device, generator=generator)
    return z * s.detach() + m.detach()


def dropout(input: Tensor, p: float = 0.5, train: bool = True) -> Tensor:
    """Zero each element with probability ``p``, scale the rest by ``1/(1-p)`` when ``train``
    (``torch.dropout``; the same as ``nn.functional.dropout``, Srivastava et al. 2014).

    Raises:
        ValueError: ``p`` outside [0, 1].
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not train or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = rand(input.shape, dtype=input.dtype, device=input.device) >= p
    return keep._select(input * (1.0 / (1.0 - p)), 0.0)


def randint_like(
    input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None
) -> Tensor:
    """Integers uniform in [low, high) with ``input``'s shape, dtype and device
    (``torch.randint_like(input, high)`` or ``(input, low, high)``).

    Raises:
        ValueError: ``high <= low``.
    """
    if high is None:
        low, high = 0, low
    out = randint(low, high, tuple(input.shape), device=input.device)
    return out.cast(dtype if dtype is not None else input.dtype)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    device: DeviceLike | None = None,
) -> Tensor:
    """``base ** linspace(start, end, steps)`` (``torch.logspace``), computed in float64 and
    cast to ``dtype`` (the default float dtype when None).

    Raises:
        ValueError: a negative ``steps``.
    """
    e = linspace(start, end, steps, dtype="float64", device=device)
    out = e._full_like_shape(float(base)).pow(e)
    d = get_default_dtype() if dtype is None else to_dtype(dtype)
    return (out.round() if d.kind in "iub" else out).cast(d)
