"""Top-level spellings of more Tensor methods (``idrak.sort(x)``, ``idrak.atan2(y, x)``, ...),
plus the functions torch has only at the top level: ``einsum``, ``meshgrid``, ``std_mean``,
``var_mean``. See docs/ops.md ("Added ops")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from idrak.core.einsum import einsum
from idrak.core.tensor import Tensor
from idrak.core.toplevel import _function

__all__ = [
    "acos",
    "acosh",
    "allclose",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "argsort",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "celu",
    "copysign",
    "cosh",
    "cummax",
    "cummin",
    "diag",
    "diagonal",
    "einsum",
    "fmod",
    "isclose",
    "logaddexp",
    "logcumsumexp",
    "masked_select",
    "meshgrid",
    "moveaxis",
    "movedim",
    "msort",
    "multinomial",
    "roll",
    "scatter",
    "scatter_reduce",
    "selu",
    "sinh",
    "sort",
    "std_mean",
    "tan",
    "topk",
    "tril",
    "triu",
    "var_mean",
]


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D (or 0-d) tensors (``torch.meshgrid``): output ``k`` holds
    ``tensors[k]`` broadcast along the other dims. ``indexing="ij"`` (the default) gives shape
    ``(n0, n1, ...)``; ``"xy"`` swaps the first two dims (Cartesian, as NumPy's default).

    Raises:
        ValueError: an ``indexing`` other than ``"ij"``/``"xy"``, or an input with more than 1 dim.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = list(tensors)
    for k, t in enumerate(ts):
        if not isinstance(t, Tensor) or t.ndim > 1:
            what = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"meshgrid: input {k} must be a 0-d or 1-D tensor, got {what}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    axes = list(range(len(ts)))
    if swap:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(ts)
    for t, a in zip(ts, axes):
        shape[a] = t.shape[0]
    out = []
    for t, a in zip(ts, axes):
        view = [1] * len(ts)
        view[a] = t.shape[0]
        out.append(t.reshape(view).expand(tuple(shape)))
    return tuple(out)


def var_mean(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    *,
    correction: float = 1,
    keepdim: bool = False,
    unbiased: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` in one call (``torch.var_mean``; Bessel ``correction``)."""
    d = dim if dim is None or isinstance(dim, int) else tuple(dim)
    return (
        input.var(d, correction=correction, keepdim=keepdim, unbiased=unbiased),
        input.mean(d, keepdim),
    )


def std_mean(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    *,
    correction: float = 1,
    keepdim: bool = False,
    unbiased: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` in one call (``torch.std_mean``)."""
    d = dim if dim is None or isinstance(dim, int) else tuple(dim)
    return (
        input.std(d, correction=correction, keepdim=keepdim, unbiased=unbiased),
        input.mean(d, keepdim),
    )


acos = _function(Tensor.acos)
acosh = _function(Tensor.acosh)
allclose = _function(Tensor.allclose)
arccos = _function(Tensor.acos)  # the same function object
arccosh = _function(Tensor.acosh)  # the same function object
arcsin = _function(Tensor.asin)  # the same function object
arcsinh = _function(Tensor.asinh)  # the same function object
arctan = _function(Tensor.atan)  # the same function object
arctan2 = _function(Tensor.atan2)  # the same function object
arctanh = _function(Tensor.atanh)  # the same function object
argsort = _function(Tensor.argsort)
asin = _function(Tensor.asin)
asinh = _function(Tensor.asinh)
atan = _function(Tensor.atan)
atan2 = _function(Tensor.atan2)
atanh = _function(Tensor.atanh)
celu = _function(Tensor.celu)
copysign = _function(Tensor.copysign)
cosh = _function(Tensor.cosh)
cummax = _function(Tensor.cummax)
cummin = _function(Tensor.cummin)
diag = _function(Tensor.diag)
diagonal = _function(Tensor.diagonal)
fmod = _function(Tensor.fmod)
isclose = _function(Tensor.isclose)
logaddexp = _function(Tensor.logaddexp)
logcumsumexp = _function(Tensor.logcumsumexp)
masked_select = _function(Tensor.masked_select)
moveaxis = _function(Tensor.movedim)  # the same function object
movedim = _function(Tensor.movedim)
msort = _function(Tensor.msort)
multinomial = _function(Tensor.multinomial)
roll = _function(Tensor.roll)
scatter = _function(Tensor.scatter)
scatter_reduce = _function(Tensor.scatter_reduce)
selu = _function(Tensor.selu)
sinh = _function(Tensor.sinh)
sort = _function(Tensor.sort)
tan = _function(Tensor.tan)
topk = _function(Tensor.topk)
tril = _function(Tensor.tril)
triu = _function(Tensor.triu)
