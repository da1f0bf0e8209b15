"""Reductions over dimensions (``dim``/``keepdim`` as in PyTorch), built on SUM and REDUCE_MAX."""

from __future__ import annotations

import math
from collections import namedtuple
from types import EllipsisType
from typing import Any, Self, TypeVar

from idrak.contract.dtypes import bool_, int64
from idrak.contract.ops import Op
from idrak.core.methods.base import Dims, TensorBase

T = TypeVar("T", bound=TensorBase)

__all__ = ["ReduceMixin", "values_indices"]

#: ``max(dim=...)`` and ``min(dim=...)`` return this pair, like ``torch.return_types.max``
values_indices = namedtuple("values_indices", ["values", "indices"])


class ReduceMixin(TensorBase):
    """Sums, means, extrema, norms and scans."""

    __slots__ = ()

    def _axes(self, dim: Dims) -> tuple[int, ...]:
        if dim is None:
            return tuple(range(self.ndim))
        if isinstance(dim, int):
            dims: tuple[int, ...] = (dim,)
        elif isinstance(dim, (tuple, list)) and all(isinstance(d, int) for d in dim):
            dims = tuple(dim)
        else:
            raise TypeError(f"dim must be an int or a tuple of ints, got {dim!r}")
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
        ``max(other_tensor)`` -> elementwise maximum.

        Gradients follow torch: ``max()`` splits the gradient evenly among the maxima (NaN counts
        as equal to NaN); ``max(dim)`` sends it to the returned index only (the first maximum,
        or the first NaN). :meth:`amax` splits evenly too, and a NaN maximum gives NaN gradients
        to the whole reduced slice, as torch's ``amax`` does.
        """
        if isinstance(dim, TensorBase):
            return self.maximum(dim)
        if dim is None:
            return self._extreme_all(True) if self._tracks_grad() else self.amax()
        idx = self.argmax(dim, keepdim)
        if not self._tracks_grad() or self.ndim == 0:
            return values_indices(self.amax(dim, keepdim), idx)
        return values_indices(self._take_along(dim, idx, keepdim), idx)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Like :meth:`max`, for the smallest value (same gradient rules)."""
        if isinstance(dim, TensorBase):
            return self.minimum(dim)
        if dim is None:
            return self._extreme_all(False) if self._tracks_grad() else self.amin()
        idx = self.argmin(dim, keepdim)
        if not self._tracks_grad() or self.ndim == 0:
            return values_indices(self.amin(dim, keepdim), idx)
        return values_indices(self._take_along(dim, idx, keepdim), idx)

    def _tracks_grad(self) -> bool:
        from idrak.core.autograd import is_grad_enabled

        return self.requires_grad and is_grad_enabled()

    def _take_along(self, dim: int, idx: TensorBase, keepdim: bool) -> Self:
        """``self`` at ``idx`` (one index per slice along ``dim``) by GATHER, whose VJP sends the
        gradient to that index only."""
        d = self._dim(dim)
        out = self._gather(d, idx if keepdim else idx.unsqueeze(d))
        return out if keepdim else out.squeeze(d)

    def _extreme_all(self, largest: bool) -> Self:
        """The maximum (minimum) of all elements, its gradient split evenly among the maxima.

        Written as ``m - sum(w * (m' - where(mask, x, m')))`` with ``m`` the detached maximum,
        ``w`` ``1/count`` on the maxima and ``m'`` ``m`` where finite (else 0): the sum is +0.0 for
        a finite maximum (so the value is ``m`` exactly, -0.0 included) and -+inf/NaN otherwise,
        and its gradient is ``w`` on the maxima, 0 elsewhere.
        """
        x = self.reshape(-1)
        if x.shape[0] == 0:
            raise ValueError(f"max/min of an empty tensor (shape {self.shape})")
        xd = x.detach()
        m = xd._max_keep((0,)) if largest else xd.amin(0, keepdim=True)
        mask = (xd == m) | (xd.isnan() & m.isnan())
        w = mask.cast(x.dtype) / mask.cast(x.dtype)._sum_keep((0,))
        m_fin = m.isfinite()._select(m, 0.0)
        t = mask._select(x, m_fin)
        return (m - ((m_fin - t) * w)._sum_keep((0,))).reshape(())

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
        """Standard deviation; its gradient at a zero deviation is 0, as in torch."""
        return _root0(self.var(dim, correction, keepdim, unbiased), 2.0)

    def prod(self, dim: int | EllipsisType = ..., keepdim: bool = False) -> Self:
        """Product along ``dim`` (all elements when ``dim`` is not given) by pairwise halving
        (exact for integers, differentiable). Integer and bool tensors give int64.

        Raises:
            TypeError: ``dim`` is given but is not an int (``dim=None`` included, as torch).
        """
        whole = dim is ...
        if not whole and (not isinstance(dim, int) or isinstance(dim, bool)):
            raise TypeError(f"prod: dim must be an int (omit it to multiply all), got {dim!r}")
        x = self.reshape(-1) if whole or self.ndim == 0 else self
        x = x.cast(int64) if x.dtype == bool_ or x.dtype.kind in "ui" else x
        d = 0 if isinstance(dim, EllipsisType) else x._dim(dim)
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
        if whole or self.ndim == 0:
            return x.reshape(()) if not keepdim else x.reshape((1,) * self.ndim)
        return x if keepdim else x.squeeze(d)

    def logsumexp(self, dim: int | tuple[int, ...] | list[int], keepdim: bool = False) -> Self:
        """log(sum(exp(x))) along ``dim`` (required, as in torch), computed stably (shifted by
        the detached maximum).

        Raises:
            TypeError: ``dim`` is None or not an int / tuple of ints.
        """
        if dim is None:
            raise TypeError("logsumexp: dim is required (an int or a tuple of ints), got None")
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
        """The ``p``-norm over ``dim`` (all dims when None). The gradient of a zero norm is 0
        (torch's subgradient), not the 0/0 of the chain rule."""
        if p == 2:
            return _root0(self.square().sum(dim, keepdim), 2.0)
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == math.inf:
            return self.abs().amax(dim, keepdim)
        return _root0(self.abs().pow(p).sum(dim, keepdim), float(p))


def _root0(s: T, p: float) -> T:
    """``s ** (1/p)`` for ``s >= 0`` with gradient 0 where ``s == 0`` (the chain rule would give
    ``inf * 0``): the root is taken of ``where(s == 0, 1, s)`` and replaced by 0 there."""
    zero = s == 0
    safe = zero._select(1.0, s)
    root = safe.sqrt() if p == 2.0 else safe.pow(1.0 / p)
    return zero._select(0.0, root)
