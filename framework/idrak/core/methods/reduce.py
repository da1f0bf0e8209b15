"""Reductions over dimensions (``dim``/``keepdim`` as in PyTorch), built on SUM and REDUCE_MAX."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Self

from idrak.contract.dtypes import bool_, int64
from idrak.contract.ops import Op
from idrak.core.methods.base import Dims, TensorBase

__all__ = ["ReduceMixin", "values_indices"]

#: ``max(dim=...)`` and ``min(dim=...)`` return this pair, like ``torch.return_types.max``
values_indices = namedtuple("values_indices", ["values", "indices"])


class ReduceMixin(TensorBase):
    """Sums, means, extrema, norms and scans."""

    __slots__ = ()

    def _axes(self, dim: Dims) -> tuple[int, ...]:
        if dim is None:
            return tuple(range(self.ndim))
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = tuple(sorted({self._dim(d) for d in dims}))
        if self.ndim == 0:  # dim 0 / -1 of a 0-d tensor names the tensor itself: nothing to reduce
            return ()
        if len(axes) != len(dims):
            raise ValueError(f"dim {dim} names a dimension twice (shape {self.shape})")
        return axes

    def _finish(self, out: Self, axes: tuple[int, ...], keepdim: bool) -> Self:
        if keepdim or not axes:
            return out
        return out.reshape(tuple(s for i, s in enumerate(out.shape) if i not in axes))

    def _sum_keep(self, axes: tuple[int, ...]) -> Self:
        shape = tuple(1 if i in axes else s for i, s in enumerate(self.shape))
        return self._prim(Op.SUM, (self,), axes, shape, self.dtype)

    def _max_keep(self, axes: tuple[int, ...]) -> Self:
        if any(self.shape[a] == 0 for a in axes):
            raise ValueError(f"max/min over an empty dimension (shape {self.shape}, dims {axes})")
        shape = tuple(1 if i in axes else s for i, s in enumerate(self.shape))
        return self._prim(Op.REDUCE_MAX, (self,), axes, shape, self.dtype)

    def sum(self, dim: Dims = None, keepdim: bool = False, dtype: Any = None) -> Self:
        """Sum over ``dim`` (all dims when None). bool and integer inputs sum in int64."""
        x = self
        if dtype is not None:
            x = x.cast(dtype)
        elif x.dtype == bool_ or x.dtype.kind in "ui":
            x = x.cast(int64)
        axes = x._axes(dim)
        if not axes:  # nothing to reduce: a copy, as torch's (never self)
            return x if x is not self else self.clone()
        return x._finish(x._sum_keep(axes), axes, keepdim)

    def mean(self, dim: Dims = None, keepdim: bool = False) -> Self:
        """Arithmetic mean; floating inputs only (as in PyTorch)."""
        if self.dtype.kind != "f":
            raise TypeError(f"mean() needs a floating tensor, got {self.dtype}; use .float()")
        axes = self._axes(dim)
        n = math.prod(self.shape[a] for a in axes)
        return self.sum(dim, keepdim) / float(n) if n else self.sum(dim, keepdim) * math.nan

    def amax(self, dim: Dims = None, keepdim: bool = False) -> Self:
        axes = self._axes(dim)
        if not axes:
            return self.clone()
        return self._finish(self._max_keep(axes), axes, keepdim)

    def amin(self, dim: Dims = None, keepdim: bool = False) -> Self:
        if self.dtype == bool_:
            return ~(~self).amax(dim, keepdim)
        if self.dtype.kind == "u":  # negation would wrap: go through int64
            return (-(-self.cast(int64)).amax(dim, keepdim)).cast(self.dtype)
        return -(-self).amax(dim, keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """``max()`` -> the largest value; ``max(dim)`` -> (values, indices);
        ``max(other_tensor)`` -> elementwise maximum."""
        if isinstance(dim, TensorBase):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return values_indices(self.amax(dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Like :meth:`max`, for the smallest value."""
        if isinstance(dim, TensorBase):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return values_indices(self.amin(dim, keepdim), self.argmin(dim, keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Self:
        """Index of the first largest value along ``dim`` (flattened when None); NaN is largest."""
        x = self.reshape(-1) if dim is None or self.ndim == 0 else self
        d = 0 if dim is None else x._dim(dim)
        n = x.shape[d]
        if n == 0:
            raise ValueError(f"argmax over an empty dimension (shape {self.shape})")
        m = x._max_keep((d,))
        hit = x == m.expand(x.shape)
        if x.dtype.kind == "f":
            hit = hit | x.isnan()
        idx = x._arange_along(d)
        first = hit._select(idx, n).amin(d, keepdim=True)
        if dim is None or self.ndim == 0:
            return first.reshape(()) if not keepdim else first.reshape((1,) * self.ndim)
        return first if keepdim else first.squeeze(d)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Self:
        if self.dtype == bool_:
            return (~self).argmax(dim, keepdim)
        if self.dtype.kind == "u":
            return self.cast(int64).neg().argmax(dim, keepdim)
        return (-self).argmax(dim, keepdim)

    def _arange_along(self, d: int) -> Self:
        n = self.shape[d]
        shape = tuple(n if i == d else 1 for i in range(self.ndim))
        idx = self._optional(Op.ARANGE, (), (0, n, 1, int64), (n,), int64)
        return idx.reshape(shape).expand(self.shape)

    def all(self, dim: Dims = None, keepdim: bool = False) -> Self:
        x = self if self.dtype == bool_ else self != 0
        return ~(~x).any(dim, keepdim)

    def any(self, dim: Dims = None, keepdim: bool = False) -> Self:
        x = self if self.dtype == bool_ else self != 0
        axes = x._axes(dim)
        if any(x.shape[a] == 0 for a in axes):
            return x.sum(dim, keepdim) > 0
        return x.amax(dim, keepdim)

    def var(
        self,
        dim: Dims = None,
        correction: float = 1,
        keepdim: bool = False,
        unbiased: bool | None = None,
    ) -> Self:
        """Variance with Bessel's ``correction`` (1 by default, like PyTorch)."""
        if unbiased is not None:
            correction = 1 if unbiased else 0
        axes = self._axes(dim)
        n = math.prod(self.shape[a] for a in axes)
        mu = self.mean(dim, keepdim=True)
        sq = (self - mu).square().sum(dim, keepdim)
        return sq / max(n - correction, 0) if n - correction > 0 else sq * math.nan

    def std(
        self,
        dim: Dims = None,
        correction: float = 1,
        keepdim: bool = False,
        unbiased: bool | None = None,
    ) -> Self:
        return self.var(dim, correction, keepdim, unbiased).sqrt()

    def prod(self, dim: int | None = None, keepdim: bool = False) -> Self:
        """Product along ``dim`` by pairwise halving (exact for integers, differentiable)."""
        x = self.reshape(-1) if dim is None or self.ndim == 0 else self
        x = x.cast(int64) if x.dtype == bool_ or x.dtype.kind in "ui" else x
        d = 0 if dim is None else x._dim(dim)
        while x.shape[d] > 1:
            n = x.shape[d]
            if n % 2:
                widths = tuple((0, 1) if i == d else (0, 0) for i in range(x.ndim))
                x = x._pad(widths, 1)
                n += 1
            lo = x._shrink(tuple((0, n // 2) if i == d else (0, s) for i, s in enumerate(x.shape)))
            hi = x._shrink(tuple((n // 2, n) if i == d else (0, s) for i, s in enumerate(x.shape)))
            x = lo * hi
        if x.shape[d] == 0:
            x = x._pad(tuple((0, 1) if i == d else (0, 0) for i in range(x.ndim)), 1)
        if dim is None or self.ndim == 0:
            return x.reshape(()) if not keepdim else x.reshape((1,) * self.ndim)
        return x if keepdim else x.squeeze(d)

    def logsumexp(self, dim: Dims = None, keepdim: bool = False) -> Self:
        """log(sum(exp(x))) computed stably (shifted by the detached maximum)."""
        x = self._float()
        axes = x._axes(dim)
        if not axes:
            return x if x is not self else self.clone()
        if any(x.shape[a] == 0 for a in axes):  # an empty sum: log(0) = -inf
            return x._finish(x.exp()._sum_keep(axes).log(), axes, keepdim)
        m = x.detach()._max_keep(axes)
        m = m.isinf()._select(0.0, m)
        out = (x - m).exp()._sum_keep(axes).log() + m
        return x._finish(out, axes, keepdim)

    def softmax(self, dim: int = -1) -> Self:
        """``exp(x) / sum(exp(x))`` along ``dim``, shifted by the (detached) maximum."""
        x = self._float()
        d = x._dim(dim)
        if x.ndim == 0:
            return x.reshape(1).softmax(0).reshape(())
        if x.shape[d] == 0:
            return x if x is not self else self.clone()
        e = (x - x.detach()._max_keep((d,))).exp()
        return e / e._sum_keep((d,))

    def log_softmax(self, dim: int = -1) -> Self:
        """``x - logsumexp(x)`` along ``dim``, as ``s - log(sum(exp(s)))`` with ``s = x - max``
        (so an infinite maximum gives NaN, as in torch)."""
        x = self._float()
        d = x._dim(dim)
        if x.ndim == 0:
            return x.reshape(1).log_softmax(0).reshape(())
        if x.shape[d] == 0:
            return x if x is not self else self.clone()
        s = x - x.detach()._max_keep((d,))
        return s - s.exp()._sum_keep((d,)).log()

    def cumsum(self, dim: int, dtype: Any = None) -> Self:
        """Inclusive prefix sum along ``dim`` (the CUMSUM op), as ``torch.cumsum``: bool and
        integers sum in int64 unless ``dtype`` is given (the input is cast to it first; integer
        sums wrap in it)."""
        if dtype is not None:
            x = self.cast(dtype)
        else:
            x = self.cast(int64) if self.dtype == bool_ or self.dtype.kind in "ui" else self
        d = x._dim(dim)
        if x.ndim == 0:
            return x.reshape(1).cumsum(0).reshape(())
        return x._optional(Op.CUMSUM, (x,), d, x.shape, x.dtype)

    def cumprod(self, dim: int, dtype: Any = None) -> Self:
        """Inclusive prefix product along ``dim`` (Hillis-Steele scan), as ``torch.cumprod``:
        bool and integers multiply in int64 unless ``dtype`` is given (the input is cast to it
        first)."""
        d = self._dim(dim)
        n = self.shape[d] if self.ndim else 1
        if dtype is not None:
            x = self.cast(dtype)
        else:
            x = self.cast(int64) if self.dtype == bool_ or self.dtype.kind in "ui" else self
        shift = 1
        while shift < n:
            widths = tuple((shift, 0) if i == d else (0, 0) for i in range(x.ndim))
            shifted = x._pad(widths, 1)._shrink(
                tuple((0, n) if i == d else (0, s) for i, s in enumerate(x.shape))
            )
            x = x * shifted
            shift *= 2
        return x if x is not self else self.clone()

    def norm(self, p: float = 2, dim: Dims = None, keepdim: bool = False) -> Self:
        if p == 2:
            return self.square().sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == math.inf:
            return self.abs().amax(dim, keepdim)
        return self.abs().pow(p).sum(dim, keepdim).pow(1.0 / p)
