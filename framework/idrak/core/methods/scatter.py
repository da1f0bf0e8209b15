"""scatter, scatter_reduce and masked_select, composed from SCATTER_ADD, WHERE and reductions.

``scatter`` writes with two SCATTER_ADDs: the values at their positions and a hit count, then a
WHERE keeps the original elements nobody wrote. ``scatter_reduce`` with ``"sum"``/``"mean"``
also uses SCATTER_ADD; ``"prod"``, ``"amax"`` and ``"amin"`` compare every index with every
target position (an ``(n_out, n_index)`` mask per row, O(n_out * n_index) work) and reduce the
masked values. For ``amax``/``amin`` the gradient is split evenly among the elements equal to
the result (those of ``self`` included when ``include_self``), as torch's.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from idrak.contract.dtypes import bool_, int64
from idrak.core.methods.base import TensorBase
from idrak.core.methods.indexing import _check_bounds
from idrak.core.methods.matrix import _arange
from idrak.core.methods.movement import broadcast_shapes
from idrak.core.methods.sorting import _same

__all__ = ["ScatterMixin"]

T = TypeVar("T", bound=TensorBase)

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _prep(x: T, dim: int, index: T, src: T | bool | int | float, op: str) -> tuple[int, T, T]:
    """Check ``index`` against ``x`` and return (dim, int64 index, src cut to index's shape)."""
    if not isinstance(index, TensorBase) or index.dtype.kind not in "iu":
        got = index.dtype if isinstance(index, TensorBase) else type(index).__name__
        raise TypeError(f"{op}: index must be an integer tensor, got {got}")
    d = x._dim(dim)
    if index.ndim != x.ndim:
        raise ValueError(
            f"{op}: index has {index.ndim} dims, self {x.ndim} (shapes {index.shape}, {x.shape})"
        )
    for i, (a, b) in enumerate(zip(index.shape, x.shape)):
        if i != d and a > b:
            raise ValueError(
                f"{op}: index shape {index.shape} exceeds self shape {x.shape} at dim {i}"
            )
    _check_bounds(index, x.shape[d] if x.ndim else 1, op, negative=False)
    idx = index.cast(int64)
    if isinstance(src, TensorBase):
        if src.ndim != idx.ndim or any(a > b for a, b in zip(idx.shape, src.shape)):
            raise ValueError(f"{op}: src shape {src.shape} is smaller than index shape {idx.shape}")
        s = src.cast(x.dtype)._shrink(tuple((0, n) for n in idx.shape))
    else:
        s = x._full_like_shape(src, idx.shape)
    return d, idx, s


def _hits(x: T, d: int, idx: T) -> T:
    """int64 count of the writes landing on each element of ``x``."""
    zero = x._full_like_shape(0, dtype=int64)
    return zero.scatter_add(d, idx, idx._full_like_shape(1))


class ScatterMixin(TensorBase):
    """scatter, scatter_reduce, masked_select."""

    __slots__ = ()

    def scatter(
        self,
        dim: int,
        index: Self,
        src: Any = None,
        value: Any = None,
        reduce: str | None = None,
    ) -> Self:
        """A copy of ``self`` with ``src`` (a tensor, or a number ``value``) written at ``index``
        along ``dim`` (``torch.Tensor.scatter``): ``out[index[i][j]][j] = src[i][j]`` for dim 0.

        ``reduce="add"``/``"multiply"`` accumulate instead. With repeated indices and no
        ``reduce`` torch leaves the written value unspecified; idrak writes their sum (see
        docs/semantics.md). Gradients: ``self`` gets the output gradient where nothing was
        written, ``src`` the gradient gathered at ``index``.

        Raises:
            ValueError: mismatched shapes, both or neither of ``src`` and ``value``, or an
                unknown ``reduce``; IndexError: an index known on the host out of range.
        """
        if src is None and value is None:
            raise ValueError("scatter: give src (a tensor) or value (a number)")
        if src is not None and value is not None:
            raise ValueError("scatter: give only one of src and value")
        s = src if src is not None else value
        if reduce is not None:
            if reduce not in ("add", "multiply"):
                raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
            return self.scatter_reduce(dim, index, s, "sum" if reduce == "add" else "prod")
        if self.dtype == bool_:
            x = self.cast(int64)
            return x.scatter(dim, index, s if not hasattr(s, "cast") else s.cast(int64)).cast(bool_)
        number = not hasattr(s, "shape")  # a number: every write is the same, as in torch
        v = s
        d, idx, s = _prep(self, dim, index, s, "scatter")
        if self.ndim == 0:
            flat = self.reshape(1)
            if number:
                return flat.scatter(0, idx.reshape(-1), v).reshape(())
            return flat.scatter(0, idx.reshape(1), s.reshape(1)).reshape(())
        hit = _hits(self, d, idx) > 0
        if number:
            return self.masked_fill(hit, v)
        placed = self.zeros_like().scatter_add(d, idx, s)
        return hit._select(placed, self)

    def scatter_reduce(
        self,
        dim: int,
        index: Self,
        src: Any,
        reduce: str,
        *,
        include_self: bool = True,
    ) -> Self:
        """Reduce ``src`` into ``self`` at ``index`` along ``dim`` with ``reduce`` in
        ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"`` (``torch.scatter_reduce``).
        With ``include_self=False`` the original values of written positions do not take part.
        Integer ``"mean"`` rounds down, as torch.

        Raises:
            ValueError: an unknown ``reduce`` or mismatched shapes.
            TypeError: ``reduce="mean"`` on a bool tensor (torch has no kernel for it).
        """
        if reduce not in _REDUCTIONS:
            raise ValueError(f"scatter_reduce: reduce must be one of {_REDUCTIONS}, got {reduce!r}")
        if self.dtype == bool_:  # sum/amax: logical or; prod/amin: logical and (torch)
            if reduce == "mean":
                raise TypeError("scatter_reduce: reduce='mean' is not supported for bool tensors")
            s64 = src.cast(int64) if isinstance(src, TensorBase) else src
            x = self.cast(int64)
            out = x.scatter_reduce(dim, index, s64, reduce, include_self=include_self)
            return out != 0
        d, idx, s = _prep(self, dim, index, src, "scatter_reduce")
        if 0 in idx.shape:  # nothing is written
            return self.clone()
        if self.ndim == 0:
            out = self.reshape(1).scatter_reduce(
                0, idx.reshape(1), s.reshape(1), reduce, include_self=include_self
            )
            return out.reshape(())
        count = _hits(self, d, idx)
        hit = count > 0
        if reduce in ("sum", "mean"):
            base = self if include_self else hit._select(0, self).cast(self.dtype)
            total = base.scatter_add(d, idx, s)
            if reduce == "sum":
                return total
            n = count + 1 if include_self else count
            n = hit._select(n, 1)
            if self.dtype.kind == "f":
                return hit._select(total / n.cast(self.dtype), self)
            return hit._select(total.floor_divide(n.cast(self.dtype)), self)
        return _dense_reduce(self, d, idx, s, reduce, include_self, hit)

    def masked_select(self, mask: TensorBase) -> Self:
        """The elements where ``mask`` (bool, broadcast with ``self``) is True, as a 1-D tensor
        in row-major order (``torch.masked_select``). The mask is read on the host (the result's
        length depends on it). Raises TypeError for a non-bool mask."""
        if not isinstance(mask, TensorBase) or mask.dtype != bool_:
            got = mask.dtype if isinstance(mask, TensorBase) else type(mask).__name__
            raise TypeError(f"masked_select: mask must be a bool tensor, got {got}")
        shape = broadcast_shapes(self.shape, mask.shape)
        x, m = self._broadcast_to(shape), mask._broadcast_to(shape)
        if not shape:
            x, m = x.reshape(1), m.reshape(1)
        return x[m.contiguous()]


def _dense_reduce(x: T, d: int, idx: T, s: T, reduce: str, include_self: bool, hit: T) -> T:
    """prod/amax/amin by an (n_out, n_index) mask per row, on the region ``idx`` covers."""
    region_bounds = tuple((0, x.shape[i]) if i == d else (0, n) for i, n in enumerate(idx.shape))
    reg = x._shrink(region_bounds).movedim(d, -1)  # (..., n_out)
    reg_hit = hit._shrink(region_bounds).movedim(d, -1)
    ii, ss = idx.movedim(d, -1), s.movedim(d, -1)  # (..., n_index)
    n_out = reg.shape[-1]
    pos = _arange(x, n_out).reshape(n_out, 1)
    m = ii.unsqueeze(-2) == pos  # (..., n_out, n_index)
    vals = ss.unsqueeze(-2)._broadcast_to(m.shape)
    if reduce == "prod":
        r = m._select(vals, 1).cast(x.dtype).prod(-1)
        r = r * reg if include_self else r
    else:
        big = reduce == "amax"
        if x.dtype.kind == "f":
            fill: Any = -float("inf") if big else float("inf")
        else:
            info = _int_range(x)
            fill = info[0] if big else info[1]
        cand = m._select(vals, fill).cast(x.dtype)
        r = cand.amax(-1) if big else cand.amin(-1)
        if include_self:
            r = r.maximum(reg) if big else r.minimum(reg)
        if x.dtype.kind == "f":
            r = _even_split(r.detach(), m, vals, reg, include_self)
    out = reg_hit._select(r, reg).cast(x.dtype).movedim(-1, d)
    widths = tuple((0, 0) if i == d else (0, x.shape[i] - n) for i, n in enumerate(idx.shape))
    inside = out._full_like_shape(True, dtype=bool_)._pad(widths, False)
    return inside._select(out._pad(widths, 0), x)


def _even_split(r: T, m: T, vals: T, reg: T, include_self: bool) -> T:
    """``r``'s value, with the gradient shared evenly by the elements equal to it (torch)."""
    tie = m & _same(vals, r.unsqueeze(-1)._broadcast_to(vals.shape))
    n = tie.sum(-1)
    own = _same(reg, r) if include_self else None
    if own is not None:
        n = n + own.cast(int64)
    w = 1.0 / (n == 0)._select(1, n).cast(r.dtype)
    out = (tie._select(vals, 0.0) * w.unsqueeze(-1)).sum(-1)
    if own is not None:
        out = out + own._select(reg, 0.0) * w
    return (n == 0)._select(r, out)


def _int_range(x: T) -> tuple[int, int]:
    import numpy as np

    info = np.iinfo(np.dtype(x.dtype.name))
    return int(info.min), int(info.max)
