"""Triangles, diagonals, rolls and sliding windows: movement ops (plus one WHERE for triangles).

``diagonal`` reads a diagonal without gathering: the ``(L, m)`` block starting at the diagonal
is flattened, padded by ``L`` and refolded as ``(L, m + 1)``, whose first column is the diagonal
(element ``i`` sits at flat position ``i * (m + 1)``). ``diag`` of a vector runs the same fold
backwards. ``Tensor.unfold`` gathers its windows with one index (overlapping windows share
elements, so their gradients add).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self, TypeVar

from idrak.contract.dtypes import bool_, int64
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.core.methods.movement import cat

__all__ = ["MatrixMixin"]

T = TypeVar("T", bound=TensorBase)


def _arange(like: T, n: int) -> T:
    """``0, 1, ..., n-1`` as int64 on ``like``'s device (``idrak.arange(n)``)."""
    return like._optional(Op.ARANGE, (), (0, n, 1, int64), (n,), int64)


def _tri_mask(x: T, diagonal: int, lower: bool) -> T:

    n, m = x.shape[-2], x.shape[-1]
    r = _arange(x, n).reshape(n, 1)
    c = _arange(x, m).reshape(1, m)
    d = c - r  # the column offset from the main diagonal
    return (d <= diagonal) if lower else (d >= diagonal)


class MatrixMixin(TensorBase):
    """tril, triu, diag, diagonal, roll and ``Tensor.unfold``."""

    __slots__ = ()

    def tril(self, diagonal: int = 0) -> Self:
        """The lower triangle of the last two dims: elements with ``col - row <= diagonal``
        kept, the rest 0. Raises ValueError for fewer than 2 dims."""
        return self._triangle(diagonal, True, "tril")

    def triu(self, diagonal: int = 0) -> Self:
        """The upper triangle of the last two dims: elements with ``col - row >= diagonal``
        kept, the rest 0. Raises ValueError for fewer than 2 dims."""
        return self._triangle(diagonal, False, "triu")

    def _triangle(self, diagonal: int, lower: bool, name: str) -> Self:
        if self.ndim < 2:
            raise ValueError(f"{name}: input must have at least 2 dims, got shape {self.shape}")
        if isinstance(diagonal, bool) or not isinstance(diagonal, int):
            raise TypeError(f"{name}: diagonal must be an int, got {diagonal!r}")
        mask = _tri_mask(self, diagonal, lower)._broadcast_to(self.shape)
        zero = False if self.dtype == bool_ else 0
        return mask._select(self, zero).cast(self.dtype)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Self:
        """The diagonal ``offset`` (> 0 above the main one) of the ``(dim1, dim2)`` planes,
        as a new last dimension (``torch.diagonal``); length 0 when ``offset`` is out of range.

        Raises:
            ValueError: ``dim1`` and ``dim2`` name the same dimension, or fewer than 2 dims.
        """
        if self.ndim < 2:
            raise ValueError(f"diagonal: input must have at least 2 dims, got shape {self.shape}")
        a, b = self._dim(dim1), self._dim(dim2)
        if a == b:
            raise ValueError(f"diagonal: dim1 ({dim1}) and dim2 ({dim2}) are the same dimension")
        rest = [i for i in range(self.ndim) if i not in (a, b)]
        x = self.permute(rest + [a, b])
        n, m = x.shape[-2], x.shape[-1]
        lead = x.shape[:-2]
        r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
        length = max(0, min(n - r0, m - c0))
        if length == 0:
            empty = x._shrink(tuple((0, s) for s in lead) + ((0, 0), (0, m)))
            return empty.reshape(lead + (0,))
        width = m - c0
        block = x._shrink(tuple((0, s) for s in lead) + ((r0, r0 + length), (c0, m)))
        flat = block.reshape(lead + (length * width,))
        flat = flat._pad(tuple((0, 0) for _ in lead) + ((0, length),), 0)
        fold = flat.reshape(lead + (length, width + 1))
        return fold._shrink(tuple((0, s) for s in lead) + ((0, length), (0, 1))).reshape(
            lead + (length,)
        )

    def diag(self, diagonal: int = 0) -> Self:
        """1-D input: a square matrix with it on diagonal ``diagonal``; 2-D input: that
        diagonal as a vector (``torch.diag``).

        Raises:
            ValueError: input that is not 1-D or 2-D.
        """
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise ValueError(f"diag: input must be 1-D or 2-D, got shape {self.shape}")
        n = self.shape[0]
        k = abs(diagonal)
        if n == 0:
            return self._full_like_shape(0, (k, k))
        # (n,) -> (n, n+1) with the value in column 0 -> flatten, drop the tail -> (n, n)
        x = self.reshape(n, 1)._pad(((0, 0), (0, n)), 0).reshape(n * (n + 1))
        x = x._shrink(((0, n * n),)).reshape(n, n)
        widths = ((0, k), (k, 0)) if diagonal >= 0 else ((k, 0), (0, k))
        return x._pad(widths, 0)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Self:
        """Rotate elements by ``shifts`` along ``dims`` (elements leaving one end re-enter at the
        other). Without ``dims`` the tensor is flattened, rolled and reshaped (``torch.roll``).

        Raises:
            ValueError: ``shifts`` and ``dims`` of different lengths.
            IndexError: ``dims`` given for a 0-d tensor (torch's rule: it has no dimensions).
        """
        sh = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        if dims is not None and self.ndim == 0:
            raise IndexError(f"roll: dims {dims!r} given for a 0-d tensor (it has no dimensions)")
        if dims is None:
            if len(sh) != 1:
                raise ValueError(f"roll: without dims, shifts must be one int, got {shifts!r}")
            return self.reshape(-1).roll(sh[0], 0).reshape(self.shape)
        ds = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(sh) != len(ds):
            raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} differ in length")
        x = self
        for s, d in zip(sh, ds):
            d = x._dim(d)
            n = x.shape[d] if x.ndim else 1
            if x.ndim == 0 or n == 0 or int(s) % n == 0:
                continue
            s = int(s) % n

            x = cat([x.narrow(d, n - s, s), x.narrow(d, 0, n - s)], d)
        return x if x is not self else self.clone()  # new memory even when nothing moved

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Self:
        """Move the dims ``source`` to the positions ``destination``, the others keeping their
        order (``torch.movedim``).

        Raises:
            ValueError: ``source`` and ``destination`` of different lengths or with repeats.
        """
        src = [source] if isinstance(source, int) else list(source)
        dst = [destination] if isinstance(destination, int) else list(destination)
        if len(src) != len(dst):
            raise ValueError(
                f"movedim: source {source!r} and destination {destination!r} differ in length"
            )
        s = [self._dim(i) for i in src]
        t = [self._dim(i) for i in dst]
        if len(set(s)) != len(s) or len(set(t)) != len(t):
            raise ValueError(f"movedim: repeated dim in {source!r} or {destination!r}")
        if self.ndim == 0:  # dims 0 and -1 name the only position of a 0-d tensor
            return self.clone()
        order: list[int | None] = [None] * self.ndim
        for a, b in zip(s, t):
            order[b] = a
        rest = iter(i for i in range(self.ndim) if i not in s)
        return self.permute([next(rest) if o is None else o for o in order])

    moveaxis = movedim

    def unfold(self, dimension: int, size: int, step: int) -> Self:
        """Every window of ``size`` elements along ``dimension``, ``step`` apart
        (``torch.Tensor.unfold``): that dimension becomes the window count
        ``(n - size) // step + 1`` and a new last dimension of ``size`` is added.

        Raises:
            ValueError: ``size`` larger than the dimension, a negative ``size`` or ``step < 1``.
        """
        d = self._dim(dimension)
        n = self.shape[d] if self.ndim else 1
        if size < 0 or size > n:
            raise ValueError(f"unfold: size {size} must be in [0, {n}] (dimension {d})")
        if step < 1:
            raise ValueError(f"unfold: step must be positive, got {step}")
        if self.ndim == 0:
            return self.reshape(1)
        w = (n - size) // step + 1
        start = _arange(self, w).reshape(w, 1) * step
        idx = (start + _arange(self, size).reshape(1, size)).reshape(-1)
        x = self.index_select(d, idx)
        x = x.reshape(self.shape[:d] + (w, size) + self.shape[d + 1 :])
        order = [i for i in range(x.ndim) if i != d + 1] + [d + 1]
        return x.permute(order)
