"""Indexing (``x[...]``), gather/scatter and one-hot, composed from movement ops and GATHER.

Basic indices (ints, slices with any step, ``None``, ``...``) become SHRINK/FLIP/PAD/RESHAPE;
integer tensors (and boolean masks, converted to integer positions) use NumPy's advanced-indexing
rules and become one GATHER on a flattened view, so their gradients are SCATTER_ADDs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Self, TypeVar

import numpy as np

from idrak.contract.dtypes import bool_, int64
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.core.methods.inplace import mark_view
from idrak.core.methods.movement import broadcast_shapes
from idrak.errors import IdrakError, ShapeError

T = TypeVar("T", bound=TensorBase)

__all__ = ["IndexingMixin"]


def _is_adv(i: Any) -> bool:
    return isinstance(i, (TensorBase, list, np.ndarray)) and not isinstance(i, bool)


def _check_bounds(index: T, n: int, op: str, negative: bool) -> T:
    """``index``, checked to lie in ``[-n, n)`` (``[0, n)`` without ``negative``).

    An index whose data is on the host (a realized buffer) is checked at once. A lazy index is
    checked on its device: the result is ``where(bad, 0, index)`` (so no backend ever sees an
    out-of-range index) carrying a guard whose flag ``any(bad)`` is computed in the same
    schedule; the IndexError is raised when the result is realized (docs/semantics.md).

    Raises:
        IndexError: an index out of range, naming ``op``, the index and the size.
    """
    from idrak.engine import lazy as _lazy

    if index.numel() == 0 or index.dtype.kind not in "iu":
        return index
    low = -n if negative else 0
    if index.lazy.buf is not None:
        a = index.numpy()
        lo, hi = int(a.min()), int(a.max())
        if lo < low or hi >= n:
            bad = lo if lo < low else hi
            raise IndexError(f"{op}: index {bad} is out of bounds for dimension with size {n}")
        return index
    i = index.detach()
    outside = (i < low) | (i >= n)
    safe = outside._select(0, i).cast(index.dtype)

    def fail() -> BaseException:
        a = i.numpy()
        off = a[(a < low) | (a >= n)].flat[0]
        return IndexError(
            f"{op}: index {int(off)} is out of bounds for dimension with size {n} "
            "(a device-side check on a lazy index, reported when the result was realized)"
        )

    _lazy.add_guard(safe.lazy, outside.any().lazy, fail)
    return safe


class IndexingMixin(TensorBase):
    """``__getitem__``/``__setitem__``, gather, scatter_add, index_select, one_hot, masks."""

    __slots__ = ()

    def _slice_dim(self, d: int, s: slice) -> Self:
        n = self.shape[d]
        start, stop, step = s.indices(n)
        x = self
        if step < 0:
            x = x.flip(d)
            start, stop, step = n - 1 - start, n - 1 - stop, -step
        m = max(0, math.ceil((stop - start) / step))
        bounds = tuple(
            (start, start + (m - 1) * step + 1) if i == d and m else ((0, 0) if i == d else (0, sz))
            for i, sz in enumerate(x.shape)
        )
        x = x._shrink(bounds)
        if step > 1 and m > 1:
            # pad to m*step, fold into (m, step), keep column 0
            x = mark_view(  # a view: x[::2] = ... and x[::2].add_() write through
                x,
                x._pad(
                    tuple((0, m * step - x.shape[d]) if i == d else (0, 0) for i in range(x.ndim)),
                    0,
                ),
            )
            x = x.reshape(x.shape[:d] + (m, step) + x.shape[d + 1 :])
            x = x._shrink(tuple((0, 1) if i == d + 1 else (0, sz) for i, sz in enumerate(x.shape)))
            x = x.reshape(x.shape[: d + 1] + x.shape[d + 2 :])
        return x

    def _normalize_key(self, key: Any) -> list[Any]:
        items = list(key) if isinstance(key, tuple) else [key]
        out: list[Any] = []
        pos: int | None = 0  # the dim the next item indexes (None after an ellipsis)
        for it in items:  # boolean masks become integer positions (one per masked dim)
            width = 1
            if isinstance(it, (TensorBase, np.ndarray)) and it.dtype in (bool_, np.bool_):
                arr = it.numpy() if isinstance(it, TensorBase) else it
                width = arr.ndim
                covered = self.shape[pos : pos + arr.ndim] if pos is not None else arr.shape
                if covered != arr.shape:
                    raise IndexError(
                        f"the shape of the mask {arr.shape} does not match the shape "
                        f"{covered} of the indexed tensor at dim {pos}"
                    )
                out.extend(self._from_host(p) for p in np.nonzero(arr))
            elif isinstance(it, bool):
                raise IdrakError("indexing with a Python bool is not supported")
            else:
                out.append(it)
            if it is Ellipsis:
                pos = None
            elif pos is not None and it is not None:
                pos += width
        used_dims = sum(1 for it in out if not (it is None or it is Ellipsis))
        # identity tests only: ``==``/``in`` would call Tensor.__eq__ on tensor indices
        ells = [i for i, it in enumerate(out) if it is Ellipsis]
        if len(ells) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        if used_dims > self.ndim:
            raise IndexError(
                f"too many indices for a tensor of {self.ndim} dims (shape {self.shape}): {key!r}"
            )
        if ells:
            i = ells[0]
            out[i : i + 1] = [slice(None)] * (self.ndim - used_dims)
        else:
            out += [slice(None)] * (self.ndim - used_dims)
        return out

    def __getitem__(self, key: Any) -> Self:
        items = self._normalize_key(key)
        x, d = self, 0
        adv: list[tuple[int, Self]] = []  # (dim in x, index tensor)
        for it in items:
            if it is None:
                x = x.unsqueeze(d)
                d += 1
            elif isinstance(it, slice):
                x = x._slice_dim(d, it)
                d += 1
            elif _is_adv(it):
                arr = None if isinstance(it, TensorBase) else np.asarray(it)
                if arr is not None and arr.size == 0 and arr.dtype.kind == "f":
                    arr = arr.astype(np.int64)  # x[[]] selects nothing (torch)
                idx = it if arr is None else x._from_host(arr)
                if idx.dtype.kind not in "iu":
                    raise IndexError(
                        f"tensors used as indices must be integer or bool, got {idx.dtype}"
                    )
                idx = _check_bounds(idx, x.shape[d], "index", negative=True)
                if not isinstance(it, TensorBase):
                    a = np.asarray(it)
                    if a.size and (a.max() >= x.shape[d] or a.min() < -x.shape[d]):
                        raise IndexError(
                            f"index {a.max() if a.max() >= x.shape[d] else a.min()}"
                            f" is out of bounds for dim {d} of size {x.shape[d]}"
                        )
                adv.append((d, idx))
                d += 1
            else:
                if isinstance(it, (float, np.floating, str)):
                    raise IndexError(
                        f"only integers, slices, None, ..., bool and integer tensors are valid "
                        f"indices, got {it!r}"
                    )
                i = int(it)
                n = x.shape[d]
                if not -n <= i < n:
                    raise IndexError(f"index {i} is out of bounds for dim {d} of size {n}")
                i %= n
                x = x.narrow(d, i, 1).squeeze(d)
        return x._advanced(adv) if adv else x

    def _advanced(self, adv: Sequence[tuple[int, TensorBase]]) -> Self:
        dims = [d for d, _ in adv]
        bshape = broadcast_shapes(*[i.shape for _, i in adv])
        adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
        rest = [i for i in range(self.ndim) if i not in dims]
        x = self.permute(dims + rest)
        sizes = [self.shape[d] for d in dims]
        flat = None
        for (_, idx), n, stride in zip(adv, sizes, _strides(sizes)):
            i = idx.cast(int64)
            i = (i < 0)._select(i + n, i)
            term = i * stride if stride != 1 else i
            flat = term if flat is None else flat + term
        assert flat is not None
        flat = flat._broadcast_to(bshape).reshape(-1)
        rest_shape = tuple(self.shape[i] for i in rest)
        xs = x.reshape((math.prod(sizes),) + rest_shape)
        g = flat.reshape((-1,) + (1,) * len(rest_shape)).expand((flat.shape[0],) + rest_shape)
        out = xs._gather(0, g).reshape(bshape + rest_shape)
        if adjacent and dims[0] > 0:
            nb = len(bshape)
            order = (
                list(range(nb, nb + dims[0]))
                + list(range(nb))
                + list(range(nb + dims[0], out.ndim))
            )
            out = out.permute(order)
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        """Functional assignment: the tensor's value is replaced by a WHERE over the region."""
        if self.requires_grad and self._ctx is None:
            from idrak.core.autograd import is_grad_enabled

            if is_grad_enabled():
                raise IdrakError(
                    "in-place assignment to a leaf that requires grad; wrap it in "
                    "idrak.no_grad() or assign to .data"
                )
        # compute from a snapshot: the graph must not run through ``self``, whose history is
        # about to become the assignment itself (that would be a cycle)
        src = self._from_lazy(self.lazy, self.requires_grad)
        src._ctx = self._ctx
        if isinstance(key, TensorBase) and key.dtype == bool_:
            new = key._broadcast_to(self.shape)._select(value, src)
        else:
            pos = self._from_host(np.arange(self.numel()).reshape(self.shape))
            sel = pos[key]
            region = sel.reshape(-1)
            vals = (
                value
                if isinstance(value, TensorBase)
                else sel._full_like_shape(value, dtype=self.dtype)
            )
            vals = vals.cast(self.dtype)._broadcast_to(sel.shape).reshape(-1)
            flat = src.reshape(-1)
            placed = flat.zeros_like()._scatter_add(0, region, vals)
            hit = flat.zeros_like().cast(int64)._scatter_add(0, region, region.ones_like()) > 0
            new = hit._select(placed, flat).reshape(self.shape)
        new = new.cast(self.dtype)
        if self._ctx is None and not new.requires_grad:
            self.lazy = new.lazy  # a leaf stays a leaf (e.g. a parameter written under no_grad)
        else:
            self.lazy, self._ctx, self.requires_grad = new.lazy, new._ctx, new.requires_grad

    # gather / scatter ----------------------------------------------------------------------
    def gather(self, dim: int, index: TensorBase) -> Self:
        """``out[i][j] = self[index[i][j]][j]`` for dim 0 (``torch.gather``); index is int64."""
        d = self._dim(dim)
        if self.ndim == 0 and index.ndim == 0:
            return self.reshape(1).gather(0, index.reshape(1)).reshape(())
        if index.ndim != self.ndim:
            raise ShapeError(
                f"gather: index has {index.ndim} dims, input {self.ndim} "
                f"(shapes {index.shape} and {self.shape})"
            )
        for i, (a, b) in enumerate(zip(index.shape, self.shape)):
            if i != d and a > b:
                raise ShapeError(
                    f"gather: index shape {index.shape} exceeds input shape {self.shape} at dim {i}"
                )
        index = _check_bounds(index, self.shape[d], "gather", negative=False)
        return self._gather(d, index)

    def _gather(self, d: int, index: TensorBase) -> Self:
        """GATHER along ``d`` of an index known to be in range (no bounds check)."""
        idx = index.cast(int64)
        x = self._shrink(
            tuple((0, s) if i == d else (0, index.shape[i]) for i, s in enumerate(self.shape))
        )
        return x._optional(Op.GATHER, (x, idx), d, idx.shape, x.dtype)

    def scatter_add(self, dim: int, index: TensorBase, src: TensorBase) -> Self:
        """A copy of ``self`` with ``src`` added at ``index`` along ``dim`` (duplicates add)."""
        d = self._dim(dim)
        index = _check_bounds(index, self.shape[d], "scatter_add", negative=False)
        return self._scatter_add(d, index, src)

    def _scatter_add(self, d: int, index: TensorBase, src: TensorBase) -> Self:
        """SCATTER_ADD along ``d`` of an index known to be in range (no bounds check)."""
        idx = index.cast(int64)
        src = (
            src.cast(self.dtype)._shrink(tuple((0, s) for s in idx.shape))
            if src.shape != idx.shape
            else src.cast(self.dtype)
        )
        return self._optional(
            Op.SCATTER_ADD,
            (self, idx, src),
            d,
            self.shape,
            self.dtype,
        )

    def index_select(self, dim: int, index: TensorBase) -> Self:
        d = self._dim(dim)
        if index.ndim > 1:
            raise IndexError(f"index_select: index must be 0-d or 1-d, got shape {index.shape}")
        index = _check_bounds(index, self.shape[d], "index_select", negative=False)
        if index.ndim == 0:
            return self._advanced([(d, index.reshape(1))]).squeeze(d)
        return self._advanced([(d, index)])

    def masked_fill(self, mask: Self, value: Any) -> Self:
        """``value`` where ``mask`` is True, else ``self``; the result keeps ``self``'s dtype
        (``value`` is cast to it, as torch does)."""
        if isinstance(value, TensorBase):
            value = value.cast(self.dtype) if value.dtype != self.dtype else value
        elif self.dtype == bool_:
            value = bool(value)
        elif self.dtype.kind != "f" and isinstance(value, float):
            if not math.isfinite(value):
                raise IdrakError(f"masked_fill: value {value} cannot be cast to {self.dtype}")
            value = int(value)
        return mask._select(value, self)

    def nonzero(self) -> Self:
        """Indices of non-zero elements, shape (count, ndim) int64 (computed on the host)."""
        return self._from_host(np.argwhere(self.numpy()).astype(np.int64))

    def zeros_like(self) -> Self:
        return self._full_like_shape(0)

    def ones_like(self) -> Self:
        return self._full_like_shape(1)


def _strides(sizes: list[int]) -> list[int]:
    out, acc = [], 1
    for s in reversed(sizes):
        out.append(acc)
        acc *= s
    return out[::-1]
