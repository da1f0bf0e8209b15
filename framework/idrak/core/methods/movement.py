"""Shape and layout methods built on RESHAPE, PERMUTE, EXPAND, PAD, SHRINK and FLIP."""

# The methods of this mixin annotate ``self: Tensor`` (the class they are mixed into), which mypy
# reports as "erased type of self ... not a supertype" (error code misc): silenced for this file.
# mypy: disable-error-code="misc"

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from idrak.contract.ops import Op

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor

__all__ = ["MovementMixin", "cat", "stack"]


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for s in shape:
        if isinstance(s, (bool, float, str)) or not hasattr(s, "__index__"):
            raise TypeError(f"sizes and dims must be integers, got {s!r} in {tuple(shape)!r}")
    return tuple(int(s) for s in shape)


class MovementMixin:
    """reshape/view, permute/transpose, squeeze/unsqueeze, expand, pad, flip, cat, split, ..."""

    __slots__ = ()

    # primitives ----------------------------------------------------------------------------
    def reshape(self: Tensor, *shape: Any) -> Tensor:
        """Same elements in a new shape (one dimension may be -1)."""
        from idrak.core.tensor import Tensor

        new = _shape_arg(shape)
        if new.count(-1) > 1:
            raise ValueError(f"reshape: only one dimension can be -1, got {new}")
        n = self.numel()
        if -1 in new:
            rest = math.prod(s for s in new if s != -1)
            if rest == 0 or n % rest:
                raise ValueError(
                    f"cannot reshape tensor of shape {self.shape} ({n} elements) into {new}"
                )
            new = tuple(n // rest if s == -1 else s for s in new)
        if math.prod(new) != n or any(s < 0 for s in new):
            raise ValueError(
                f"cannot reshape tensor of shape {self.shape} ({n} elements) into {new}"
            )
        if new == self.shape:
            return self
        return Tensor._prim(Op.RESHAPE, (self,), new, new, self.dtype)

    view = reshape

    def view_as(self: Tensor, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def reshape_as(self: Tensor, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def permute(self: Tensor, *dims: Any) -> Tensor:
        """Reorder dimensions; ``dims`` is a permutation of ``range(ndim)`` (negatives allowed)."""
        from idrak.core.tensor import Tensor

        order = tuple(self._dim(d) for d in _shape_arg(dims))
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(
                f"permute: {dims} is not a permutation of the {self.ndim} dims of "
                f"shape {self.shape}"
            )
        if order == tuple(range(self.ndim)):
            return self
        return Tensor._prim(
            Op.PERMUTE, (self,), order, tuple(self.shape[i] for i in order), self.dtype
        )

    def expand(self: Tensor, *shape: Any) -> Tensor:
        """Broadcast size-1 dimensions to ``shape`` (-1 keeps a size; new leading dims allowed)."""
        from idrak.core.tensor import Tensor

        new = _shape_arg(shape)
        if len(new) < self.ndim:
            raise ValueError(f"expand: target {new} has fewer dims than shape {self.shape}")
        x = self
        if len(new) > x.ndim:
            x = x.reshape((1,) * (len(new) - x.ndim) + x.shape)
        new = tuple(s if n == -1 else n for s, n in zip(x.shape, new))
        for s, n in zip(x.shape, new):
            if s != n and s != 1:
                raise ValueError(f"expand: cannot expand shape {self.shape} to {new}")
        if new == x.shape:
            return x
        return Tensor._prim(Op.EXPAND, (x,), new, new, x.dtype)

    def broadcast_to(self: Tensor, *shape: Any) -> Tensor:
        return self.expand(*shape)

    def expand_as(self: Tensor, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def _pad(self: Tensor, widths: tuple[tuple[int, int], ...], value: Any) -> Tensor:
        from idrak.core.tensor import Tensor

        if all(lo == 0 and hi == 0 for lo, hi in widths):
            return self
        shape = tuple(s + lo + hi for s, (lo, hi) in zip(self.shape, widths))
        return Tensor._prim(Op.PAD, (self,), (widths, value), shape, self.dtype)

    def _shrink(self: Tensor, bounds: tuple[tuple[int, int], ...]) -> Tensor:
        from idrak.core.tensor import Tensor

        if all(a == 0 and b == s for (a, b), s in zip(bounds, self.shape)):
            return self
        shape = tuple(b - a for a, b in bounds)
        return Tensor._prim(Op.SHRINK, (self,), bounds, shape, self.dtype)

    def flip(self: Tensor, *dims: Any) -> Tensor:
        from idrak.core.tensor import Tensor

        axes = tuple(sorted({self._dim(d) for d in _shape_arg(dims)}))
        if not axes or self.ndim == 0:
            return self
        return Tensor._prim(Op.FLIP, (self,), axes, self.shape, self.dtype)

    # composites ----------------------------------------------------------------------------
    def pad(self: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0) -> Tensor:
        """``torch.nn.functional.pad``: ``pad`` lists (before, after) pairs from the LAST dim.

        Negative widths crop. Only ``mode="constant"`` is supported.
        """
        if mode != "constant":
            raise NotImplementedError(f"pad mode {mode!r}; only 'constant' is supported")
        if len(pad) % 2 or len(pad) // 2 > self.ndim:
            raise ValueError(
                f"pad {tuple(pad)} must have an even length <= 2*ndim "
                f"({2 * self.ndim}) for shape {self.shape}"
            )
        widths = [(0, 0)] * self.ndim
        for i in range(len(pad) // 2):
            widths[self.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
        grow = tuple((max(lo, 0), max(hi, 0)) for lo, hi in widths)
        x = self._pad(grow, value)
        bounds = tuple((-min(lo, 0), s - (-min(hi, 0))) for (lo, hi), s in zip(widths, x.shape))
        return x._shrink(bounds)

    def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
        order = list(range(self.ndim))
        a, b = self._dim(dim0), self._dim(dim1)
        if not order:  # 0-d: the identity, as in torch
            return self
        order[a], order[b] = order[b], order[a]
        return self.permute(order)

    swapaxes = transpose

    @property
    def T(self: Tensor) -> Tensor:
        return self.permute(tuple(range(self.ndim))[::-1])

    @property
    def mT(self: Tensor) -> Tensor:
        return self.transpose(-2, -1)

    def t(self: Tensor) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dims, got shape {self.shape}")
        return self.T

    def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = self._dim(start_dim), self._dim(end_dim)
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(
            self.shape[:s] + (math.prod(self.shape[s : e + 1]),) + self.shape[e + 1 :]
        )

    def unflatten(self: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
        d = self._dim(dim)
        sizes = tuple(sizes)
        if -1 in sizes:
            rest = math.prod(s for s in sizes if s != -1)
            sizes = tuple(self.shape[d] // rest if s == -1 else s for s in sizes)
        if math.prod(sizes) != self.shape[d]:
            raise ValueError(
                f"unflatten: sizes {sizes} do not multiply to dim {d} of size {self.shape[d]}"
            )
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1 :])

    def squeeze(self: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = {self._dim(d) for d in ((dim,) if isinstance(dim, int) else dim)}
        return self.reshape(
            tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1))
        )

    def unsqueeze(self: Tensor, dim: int) -> Tensor:
        n = self.ndim + 1
        if not -n <= dim < n:
            raise IndexError(f"unsqueeze: dim {dim} out of range for {n} dims")
        d = dim % n
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def repeat(self: Tensor, *sizes: Any) -> Tensor:
        """Tile the whole tensor ``sizes`` times per dim (``torch.Tensor.repeat``)."""
        reps = _shape_arg(sizes)
        if len(reps) < self.ndim:
            raise ValueError(f"repeat: {len(reps)} sizes for a tensor of {self.ndim} dims")
        x = self.reshape((1,) * (len(reps) - self.ndim) + self.shape)
        inter = []
        for s in x.shape:
            inter += [1, s]
        x = x.reshape(inter)
        target = []
        for r, s in zip(reps, x.shape[1::2]):
            target += [r, s]
        return x.expand(target).reshape(tuple(r * s for r, s in zip(reps, x.shape[1::2])))

    def tile(self: Tensor, *dims: Any) -> Tensor:
        reps = _shape_arg(dims)
        reps = (1,) * (self.ndim - len(reps)) + reps
        return self.repeat(reps)

    def repeat_interleave(self: Tensor, repeats: int, dim: int | None = None) -> Tensor:
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else x._dim(dim)
        x = x.unsqueeze(d + 1)
        shape = list(x.shape)
        shape[d + 1] = repeats
        x = x.expand(shape)
        return x.flatten(d, d + 1)

    def split(
        self: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0
    ) -> tuple[Tensor, ...]:
        d = self._dim(dim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            if step <= 0:
                raise ValueError(f"split size must be positive, got {step}")
            sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ValueError(f"split sections {sizes} do not sum to dim {d} size {n}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(d, start, s))
            start += s
        return tuple(out)

    def chunk(self: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        n = self.shape[self._dim(dim)]
        return self.split(max(1, math.ceil(n / chunks)), dim)

    def unbind(self: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
        d = self._dim(dim)
        return tuple(t.squeeze(d) for t in self.split(1, d))

    def narrow(self: Tensor, dim: int, start: int, length: int) -> Tensor:
        d = self._dim(dim)
        if start < 0:
            start += self.shape[d]
        if not 0 <= start <= start + length <= self.shape[d]:
            raise IndexError(
                f"narrow: [{start}, {start + length}) out of range for dim {d} "
                f"of size {self.shape[d]}"
            )
        return self._shrink(
            tuple((start, start + length) if i == d else (0, s) for i, s in enumerate(self.shape))
        )


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along ``dim`` (pad each piece into place and add: PAD + ADD only)."""
    ts = [t for t in tensors]
    if not ts:
        raise ValueError("cat() needs at least one tensor")
    ref = ts[0]
    d = ref._dim(dim)
    for i, t in enumerate(ts):
        if t.ndim != ref.ndim or any(
            a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != d
        ):
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape}, incompatible with "
                f"{ref.shape} outside dim {d}"
            )
    from idrak.contract.dtypes import result_type

    dt = result_type([t.dtype for t in ts])
    ts = [t.cast(dt) for t in ts]
    if len(ts) == 1:
        return ts[0]
    total = sum(t.shape[d] for t in ts)
    out, start = None, 0
    for t in ts:
        n = t.shape[d]
        widths = tuple((start, total - start - n) if j == d else (0, 0) for j in range(t.ndim))
        piece = t._pad(widths, False if dt.name == "bool" else 0)
        out = piece if out is None else out + piece if dt.name != "bool" else out | piece
        start += n
    assert out is not None
    return out


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new dimension ``dim``."""
    ts = list(tensors)
    if not ts:
        raise ValueError("stack() needs at least one tensor")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, expected {ts[0].shape}")
    n = ts[0].ndim + 1
    d = dim % n
    return cat([t.unsqueeze(d) for t in ts], d)
