"""Shape and layout methods built on RESHAPE, PERMUTE, EXPAND, PAD, SHRINK and FLIP."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Self, TypeVar

from idrak.contract.dtypes import result_type
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.core.methods.inplace import mark_view
from idrak.errors import ShapeError

T = TypeVar("T", bound=TensorBase)


__all__ = ["MovementMixin", "broadcast_shapes", "cat", "stack"]


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    plain = True  # a tuple of Python ints (the common case) is returned as it is
    for s in shape:
        if type(s) is not int:
            plain = False
            if isinstance(s, (bool, float, str)) or not hasattr(s, "__index__"):
                raise TypeError(f"sizes and dims must be integers, got {s!r} in {tuple(shape)!r}")
    if plain and type(shape) is tuple:
        return shape
    return tuple([int(s) for s in shape])


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of ``shapes`` (NumPy/PyTorch rules). Raises :class:`~idrak.errors.ShapeError`
    (a ``ValueError`` and ``RuntimeError``) naming them."""
    nd = 0
    for s in shapes:
        if len(s) > nd:
            nd = len(s)
    out = []
    for i in range(nd):
        size = 1
        for s in shapes:
            d = s[i - nd + len(s)] if i - nd + len(s) >= 0 else 1
            if d != 1:
                if size != 1 and d != size:
                    raise ShapeError(
                        f"shapes {' and '.join(str(tuple(s)) for s in shapes)} "
                        f"cannot be broadcast together (dim {i}: {size} vs {d})"
                    )
                size = d
        out.append(size)
    return tuple(out)


class MovementMixin(TensorBase):
    """reshape/view, permute/transpose, squeeze/unsqueeze, expand, pad, flip, cat, split, ..."""

    __slots__ = ()

    # primitives ----------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Self:
        """Same elements in a new shape (one dimension may be -1)."""
        new = _shape_arg(shape)
        if new == self.lazy.shape:
            return self  # (before the checks: a shape equal to the current one is valid)
        if new.count(-1) > 1:
            raise ValueError(f"reshape: only one dimension can be -1, got {new}")
        n = self.numel()
        if -1 in new:
            rest = math.prod(s for s in new if s != -1)
            if rest == 0 or n % rest:
                raise ShapeError(
                    f"cannot reshape tensor of shape {self.shape} ({n} elements) into {new}"
                )
            new = tuple(n // rest if s == -1 else s for s in new)
        if math.prod(new) != n or any(s < 0 for s in new):
            raise ShapeError(
                f"cannot reshape tensor of shape {self.shape} ({n} elements) into {new}"
            )
        if new == self.shape:
            return self
        return mark_view(self, self._prim(Op.RESHAPE, (self,), new, new, self.dtype))

    view = reshape

    def view_as(self, other: TensorBase) -> Self:
        return self.reshape(other.shape)

    def reshape_as(self, other: TensorBase) -> Self:
        return self.reshape(other.shape)

    def permute(self, *dims: Any) -> Self:
        """Reorder dimensions; ``dims`` is a permutation of ``range(ndim)`` (negatives allowed)."""
        order = tuple(self._dim(d) for d in _shape_arg(dims))
        if sorted(order) != list(range(self.ndim)):
            raise ShapeError(
                f"permute: {dims} is not a permutation of the {self.ndim} dims of "
                f"shape {self.shape}"
            )
        if order == tuple(range(self.ndim)):
            return self
        return mark_view(
            self,
            self._prim(Op.PERMUTE, (self,), order, tuple(self.shape[i] for i in order), self.dtype),
        )

    def expand(self, *shape: Any) -> Self:
        """Broadcast size-1 dimensions to ``shape`` (-1 keeps a size; new leading dims allowed)."""
        new = _shape_arg(shape)
        have = self.lazy.shape
        if len(new) < len(have):
            raise ShapeError(f"expand: target {new} has fewer dims than shape {have}")
        x = self
        if len(new) > len(have):
            have = (1,) * (len(new) - len(have)) + have
            x = x.reshape(have)
        if -1 in new:
            new = tuple([s if n == -1 else n for s, n in zip(have, new)])
        for s, n in zip(have, new):
            if s != n and s != 1:
                raise ShapeError(f"expand: cannot expand shape {self.shape} to {new}")
        if new == have:
            return x
        return mark_view(x, self._prim(Op.EXPAND, (x,), new, new, x.dtype))

    def broadcast_to(self, *shape: Any) -> Self:
        return self.expand(*shape)

    def expand_as(self, other: TensorBase) -> Self:
        return self.expand(other.shape)

    def _pad(self, widths: tuple[tuple[int, int], ...], value: Any) -> Self:
        if all(lo == 0 and hi == 0 for lo, hi in widths):
            return self
        shape = tuple(s + lo + hi for s, (lo, hi) in zip(self.shape, widths))
        return self._prim(Op.PAD, (self,), (widths, value), shape, self.dtype)

    def _shrink(self, bounds: tuple[tuple[int, int], ...]) -> Self:
        if all(a == 0 and b == s for (a, b), s in zip(bounds, self.shape)):
            return self
        shape = tuple(b - a for a, b in bounds)
        return mark_view(self, self._prim(Op.SHRINK, (self,), bounds, shape, self.dtype))

    def flip(self, *dims: Any) -> Self:
        axes = tuple(sorted({self._dim(d) for d in _shape_arg(dims)}))
        if not axes or self.ndim == 0:
            return self
        return self._prim(Op.FLIP, (self,), axes, self.shape, self.dtype)

    # composites ----------------------------------------------------------------------------
    def pad(self, pad: Sequence[int], mode: str = "constant", value: float = 0) -> Self:
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

    def transpose(self, dim0: int, dim1: int) -> Self:
        order = list(range(self.ndim))
        a, b = self._dim(dim0), self._dim(dim1)
        if not order:  # 0-d: the identity, as in torch
            return self
        order[a], order[b] = order[b], order[a]
        return self.permute(order)

    swapaxes = transpose

    @property
    def T(self) -> Self:
        return self.permute(tuple(range(self.ndim))[::-1])

    @property
    def mT(self) -> Self:
        return self.transpose(-2, -1)

    def t(self) -> Self:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dims, got shape {self.shape}")
        return self.T

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Self:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = self._dim(start_dim), self._dim(end_dim)
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(
            self.shape[:s] + (math.prod(self.shape[s : e + 1]),) + self.shape[e + 1 :]
        )

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Self:
        d = self._dim(dim)
        sizes = tuple(sizes)
        if -1 in sizes:
            rest = math.prod(s for s in sizes if s != -1)
            sizes = tuple(self.shape[d] // rest if s == -1 else s for s in sizes)
        if math.prod(sizes) != self.shape[d]:
            raise ShapeError(
                f"unflatten: sizes {sizes} do not multiply to dim {d} of size {self.shape[d]}"
            )
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1 :])

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Self:
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = {self._dim(d) for d in ((dim,) if isinstance(dim, int) else dim)}
        return self.reshape(
            tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1))
        )

    def unsqueeze(self, dim: int) -> Self:
        n = self.ndim + 1
        if not -n <= dim < n:
            raise IndexError(f"unsqueeze: dim {dim} out of range for {n} dims")
        d = dim % n
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def repeat(self, *sizes: Any) -> Self:
        """Tile the whole tensor ``sizes`` times per dim (``torch.Tensor.repeat``)."""
        reps = _shape_arg(sizes)
        if len(reps) < self.ndim:
            raise ShapeError(f"repeat: {len(reps)} sizes for a tensor of {self.ndim} dims")
        x = self.reshape((1,) * (len(reps) - self.ndim) + self.shape)
        inter = []
        for s in x.shape:
            inter += [1, s]
        x = x.reshape(inter)
        target = []
        for r, s in zip(reps, x.shape[1::2]):
            target += [r, s]
        return x.expand(target).reshape(tuple(r * s for r, s in zip(reps, x.shape[1::2])))

    def tile(self, *dims: Any) -> Self:
        reps = _shape_arg(dims)
        reps = (1,) * (self.ndim - len(reps)) + reps
        return self.repeat(reps)

    def repeat_interleave(self, repeats: int, dim: int | None = None) -> Self:
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else x._dim(dim)
        x = x.unsqueeze(d + 1)
        shape = list(x.shape)
        shape[d + 1] = repeats
        x = x.expand(shape)
        return x.flatten(d, d + 1)

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Self, ...]:
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
                raise ShapeError(f"split sections {sizes} do not sum to dim {d} size {n}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(d, start, s))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Self, ...]:
        d = self._dim(dim)
        n = self.shape[d]
        if n == 0:  # torch: ``chunks`` empty pieces
            return tuple(self.narrow(d, 0, 0) for _ in range(chunks))
        return self.split(max(1, math.ceil(n / chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple[Self, ...]:
        d = self._dim(dim)
        if self.shape[d] == 0:  # no slices along an empty dim
            return ()
        return tuple(t.squeeze(d) for t in self.split(1, d))

    def narrow(self, dim: int, start: int, length: int) -> Self:
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


def cat(tensors: Sequence[T], dim: int = 0) -> T:
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
            raise ShapeError(
                f"cat: tensor {i} has shape {t.shape}, incompatible with "
                f"{ref.shape} outside dim {d}"
            )
    dt = result_type([t.dtype for t in ts])
    ts = [t.cast(dt) for t in ts]
    if len(ts) == 1:
        return ts[0].clone()  # new memory, as torch's (an in-place op on it leaves the input)
    total = sum(t.shape[d] for t in ts)
    # floats pad with -0.0, the additive identity that keeps a -0.0 element's sign
    fill: Any = False if dt.name == "bool" else -0.0 if dt.kind == "f" else 0
    out, start = None, 0
    for t in ts:
        n = t.shape[d]
        widths = tuple((start, total - start - n) if j == d else (0, 0) for j in range(t.ndim))
        piece = t._pad(widths, fill)
        out = piece if out is None else out + piece if dt.name != "bool" else out | piece
        start += n
    assert out is not None
    return out


def stack(tensors: Sequence[T], dim: int = 0) -> T:
    """Stack same-shaped tensors along a new dimension ``dim``."""
    ts = list(tensors)
    if not ts:
        raise ValueError("stack() needs at least one tensor")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ShapeError(f"stack: tensor {i} has shape {t.shape}, expected {ts[0].shape}")
    n = ts[0].ndim + 1
    d = dim % n
    return cat([t.unsqueeze(d) for t in ts], d)
