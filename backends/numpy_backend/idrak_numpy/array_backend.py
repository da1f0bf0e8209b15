"""A backend over any array module with NumPy's API: the public base of idrak's NumPy and CUDA
backends, and of a vendor's backend over a NumPy-like library.

:class:`ArrayBackend` implements every required op and the common optional fast paths with
functions of its array module :attr:`ArrayBackend.xp` (NumPy, CuPy, ...). A backend subclasses it,
sets ``name`` and ``xp``, and adds the runtime methods (host copies, devices) and whatever differs
on its library, as thinc's ``NumpyOps`` and ``CupyOps`` both build on ``Ops``. idrak's
:class:`~idrak_numpy.NumpyBackend` and ``idrak_cuda``'s ``CudaBackend`` are the two examples.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from idrak.contract import ALL, FLOATING, Backend, Capabilities, DType, Op, bfloat16

from . import _select

__all__ = ["ArrayBackend"]


_EXTOBJ: Any = None
_IGNORE: Any = None
try:  # NumPy 2 keeps the FP-error state in a context variable; setting it directly is cheap
    from numpy._core import _ufunc_config

    _IGNORE = _ufunc_config._make_extobj(all="ignore")  # type: ignore[attr-defined]
    _EXTOBJ = _ufunc_config._extobj_contextvar  # type: ignore[attr-defined]
except (ImportError, AttributeError, TypeError):  # other NumPy versions: the public API
    _EXTOBJ = None


class _Quiet:
    """``np.errstate(all="ignore")`` at a fraction of its cost (no keyword parsing per use)."""

    __slots__ = ("token",)

    def __enter__(self) -> None:
        self.token = _EXTOBJ.set(_IGNORE)

    def __exit__(self, *exc: object) -> None:
        _EXTOBJ.reset(self.token)


def _quiet() -> Any:
    """A fresh context ignoring FP warnings: IEEE results (inf, NaN) are the contract.

    A new object per use: the state cannot be entered twice (nor shared by threads).
    """
    return _Quiet() if _EXTOBJ is not None else np.errstate(all="ignore")


def _ignoring(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with FP warnings ignored (the hot path: no context-manager object)."""
    if _EXTOBJ is None:
        with np.errstate(all="ignore"):
            return fn(*args)
    token = _EXTOBJ.set(_IGNORE)
    try:
        return fn(*args)
    finally:
        _EXTOBJ.reset(token)


def _few_strided(x: Any, axes: tuple[int, ...]) -> bool:
    """Whether a reduction is over a few elements per output, of a large array.

    NumPy reduces such axes (a pooling window's, say) element by element through a strided
    iterator, up to 40x slower than folding the few sub-arrays together with a ufunc.
    """
    if not axes or x.size < 4096:
        return False
    r = 1
    for a in axes:
        r *= x.shape[a]
    return 1 < r <= 16 and x.size >= 256 * r


def _fold(ufunc: Any, x: Any, axes: tuple[int, ...]) -> Any:
    """``ufunc.reduce(x, axes, keepdims=True)`` as a chain over the strided sub-arrays."""
    out = None
    for idx in itertools.product(*(range(x.shape[a]) for a in axes)):
        key = [slice(None)] * x.ndim
        for a, i in zip(axes, idx):
            key[a] = slice(i, i + 1)
        part = x[tuple(key)]
        if out is None:
            out = part.copy()
        else:
            ufunc(out, part, out=out)
    return out


class ArrayBackend(Backend):
    """Every required op and the common fast paths over the array module :attr:`xp`.

    Subclasses set :attr:`name`, :attr:`xp` and :attr:`version`, implement ``from_numpy`` /
    ``to_numpy`` (and ``synchronize``, ``device_context`` where the library has devices), and
    override the ops their library spells differently. :meth:`capabilities` declares
    :attr:`stored_dtypes` and :attr:`native_optional_ops`; each op's dtypes follow from its
    record's domain (:attr:`idrak.contract.ops.OpDef.dtypes`).
    """

    name = "array"
    xp: Any = np
    version = "0"
    #: the optional fast paths implemented natively (a subclass may extend the set)
    native_optional_ops: frozenset[Op] = frozenset(
        {
            Op.SUB,
            Op.POW,
            Op.TANH,
            Op.EXP2,
            Op.LOG2,
            Op.MATMUL,
            Op.GATHER,
            Op.SCATTER_ADD,
            Op.CUMSUM,
            Op.ARANGE,
            Op.CONV2D,
        }
    )
    #: the dtypes the library stores (NumPy has no bfloat16)
    stored_dtypes: frozenset[DType] = ALL - {bfloat16}

    def device_count(self) -> int:
        """How many devices the backend drives here (0 when unavailable). Default: 1."""
        return 1

    def capabilities(self) -> Capabilities:
        dtypes = frozenset(self.stored_dtypes)
        return Capabilities(
            name=self.name,
            version=self.version,
            device_count=self.device_count(),
            dtypes=dtypes,
            optional_ops=self.native_optional_ops,
            # integer products go through the decomposition, which wraps exactly as SEMANTICS
            # says (BLAS has no integer kernels)
            op_dtypes={Op.MATMUL: dtypes & FLOATING},
        )

    def np_dtype(self, dtype: DType) -> Any:
        return np.dtype(dtype.name)

    # unary -------------------------------------------------------------------------------
    def neg(self, x: Any) -> Any:
        return self.xp.negative(x)

    def exp(self, x: Any) -> Any:
        return _ignoring(self.xp.exp, x)

    def log(self, x: Any) -> Any:
        return _ignoring(self.xp.log, x)

    def sin(self, x: Any) -> Any:
        return _ignoring(self.xp.sin, x)

    def sqrt(self, x: Any) -> Any:
        return _ignoring(self.xp.sqrt, x)

    def reciprocal(self, x: Any) -> Any:
        return _ignoring(self.xp.reciprocal, x)

    def tanh(self, x: Any) -> Any:
        return self.xp.tanh(x)

    def exp2(self, x: Any) -> Any:
        return _ignoring(self.xp.exp2, x)

    def log2(self, x: Any) -> Any:
        return _ignoring(self.xp.log2, x)

    # binary ------------------------------------------------------------------------------
    # ADD, SUB and MUL set the FP-error state inline: they are the most frequent ops, and the
    # call of _ignoring costs about as much as a ufunc on a thousand values
    def add(self, x: Any, y: Any) -> Any:
        if x.dtype.kind == "b":
            return self.xp.logical_or(x, y)
        if _EXTOBJ is None:
            return _ignoring(self.xp.add, x, y)
        token = _EXTOBJ.set(_IGNORE)
        try:
            return self.xp.add(x, y)
        finally:
            _EXTOBJ.reset(token)

    def sub(self, x: Any, y: Any) -> Any:
        if _EXTOBJ is None:
            return _ignoring(self.xp.subtract, x, y)
        token = _EXTOBJ.set(_IGNORE)
        try:
            return self.xp.subtract(x, y)
        finally:
            _EXTOBJ.reset(token)

    def mul(self, x: Any, y: Any) -> Any:
        if x.dtype.kind == "b":
            return self.xp.logical_and(x, y)
        if _EXTOBJ is None:
            return _ignoring(self.xp.multiply, x, y)
        token = _EXTOBJ.set(_IGNORE)
        try:
            return self.xp.multiply(x, y)
        finally:
            _EXTOBJ.reset(token)

    def div(self, x: Any, y: Any) -> Any:
        with _quiet():
            if x.dtype.kind == "f":
                return self.xp.true_divide(x, y)
            return self.xp.floor_divide(x, y)

    def pow(self, x: Any, y: Any) -> Any:
        return _ignoring(self.xp.power, x, y)

    def maximum(self, x: Any, y: Any) -> Any:
        return self.xp.maximum(x, y)

    def cmplt(self, x: Any, y: Any) -> Any:
        return self.xp.less(x, y)

    def cmpeq(self, x: Any, y: Any) -> Any:
        return self.xp.equal(x, y)

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        if self.xp is np:  # a bitwise select: np.where branches per element
            return _select.where(cond, x, y)
        return self.xp.where(cond, x, y)

    def cast(self, x: Any, dtype: DType) -> Any:
        with _quiet():
            return x.astype(self.np_dtype(dtype))

    # reduce ------------------------------------------------------------------------------
    def sum(self, x: Any, axes: tuple[int, ...]) -> Any:
        with _quiet():
            if x.dtype == np.float16:  # accumulate half precision in float32
                return self.xp.sum(x, axis=axes, keepdims=True, dtype=np.float32).astype(x.dtype)
            if _few_strided(x, axes):
                return _fold(self.xp.add, x, axes)
            return self.xp.sum(x, axis=axes, keepdims=True, dtype=x.dtype)

    def max(self, x: Any, axes: tuple[int, ...]) -> Any:
        if _few_strided(x, axes):
            return _fold(self.xp.maximum, x, axes)
        return self.xp.max(x, axis=axes, keepdims=True)

    # movement ----------------------------------------------------------------------------
    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)

    def permute(self, x: Any, order: tuple[int, ...]) -> Any:
        return x.transpose(order)

    def expand(self, x: Any, shape: tuple[int, ...]) -> Any:
        xs = x.shape
        if self.xp is np and len(xs) == len(shape) and x.size:
            flags = x.flags
            if flags.c_contiguous and flags.writeable:
                # the read-only stride-0 view np.broadcast_to makes, built directly (a replayed
                # step expands its 0-d scalars to each parameter's shape)
                strides = []
                for a, b, st in zip(xs, shape, x.strides):
                    if a == b:
                        strides.append(st)
                    elif a == 1:
                        strides.append(0)
                    else:
                        break
                else:
                    out = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
                    out.flags.writeable = False
                    return out
        return self.xp.broadcast_to(x, shape)

    def pad(self, x: Any, widths: tuple[tuple[int, int], ...], value: Any) -> Any:
        out = self.xp.full(
            tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, widths)), value, dtype=x.dtype
        )
        out[tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths))] = x
        return out

    def shrink(self, x: Any, bounds: tuple[tuple[int, int], ...]) -> Any:
        return x[tuple(slice(a, b) for a, b in bounds)]

    def flip(self, x: Any, axes: tuple[int, ...]) -> Any:
        return self.xp.flip(x, axes)

    # memory ------------------------------------------------------------------------------
    def full(self, shape: tuple[int, ...], value: Any, dtype: DType, device_index: int) -> Any:
        dt = self.np_dtype(dtype)
        if self.xp is np and (dt.kind == "f" or not isinstance(value, float)):
            out = np.empty(shape, dtype=dt)  # empty + fill: half the cost of np.full's wrapper
            out.fill(value)
            return out
        return self.xp.full(shape, value, dtype=dt)  # float into int: full's casting rules

    def contiguous(self, x: Any) -> Any:
        # ascontiguousarray would turn a 0-d array into a 1-d one
        return x if x.flags.c_contiguous else self.xp.ascontiguousarray(x)

    def cumsum(self, x: Any, axis: int) -> Any:
        with _quiet():
            if x.dtype == np.float16:  # accumulate half precision in float32, as SUM does
                return self.xp.cumsum(x, axis=axis, dtype=np.float32).astype(x.dtype)
            return self.xp.cumsum(x, axis=axis, dtype=x.dtype)

    def arange(self, start: Any, stop: Any, step: Any, dtype: DType, device_index: int) -> Any:
        return self.xp.arange(start, stop, step, dtype=self.np_dtype(dtype))

    # fast paths --------------------------------------------------------------------------
    def matmul(self, x: Any, y: Any) -> Any:
        return self.xp.matmul(x, y)

    def gather(self, x: Any, index: Any, dim: int) -> Any:
        # torch.gather lets index be shorter than x along the other dims (and any length along
        # dim); take_along_axis needs them equal, so cut x down to index's extent first
        x = x[tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(index.shape))]
        return self.xp.take_along_axis(x, index, axis=dim)

    def scatter_add(self, x: Any, index: Any, src: Any, dim: int) -> Any:
        xp = self.xp
        out = x.copy()
        if index.size == 0:
            return out
        grid = list(xp.indices(index.shape, sparse=True))
        grid[dim] = index
        src = src[tuple(slice(0, s) for s in index.shape)]
        xp.add.at(out, tuple(grid), src)
        return out

    def conv2d(
        self,
        x: Any,
        w: Any,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> Any:
        xp = self.xp
        n, c = x.shape[0], x.shape[1]
        o, cg, kh, kw = w.shape
        og = o // groups
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        if ph or pw:
            xpd = xp.zeros((n, c, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), dtype=x.dtype)
            xpd[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]] = x
            x = xpd
        eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        win = xp.lib.stride_tricks.sliding_window_view(x, (eh, ew), axis=(2, 3))
        win = win[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, OH, OW, KH, KW)
        oh, ow = win.shape[2], win.shape[3]
        win = win.reshape(n, groups, cg, oh, ow, kh, kw)
        if oh * ow >= 32:
            # im2col per image, then one (O/g, C/g*KH*KW) @ (C/g*KH*KW, OH*OW) product per
            # image and group: the result comes out in (N, O, OH, OW) order
            cols = win.transpose(0, 1, 2, 5, 6, 3, 4).reshape(n, groups, cg * kh * kw, oh * ow)
            out = xp.matmul(w.reshape(1, groups, og, cg * kh * kw), cols)
            return out.reshape(n, o, oh, ow)
        # few output pixels (a weight gradient: a large kernel over a small batch): one tall
        # (N*OH*OW, C/g*KH*KW) @ (C/g*KH*KW, O/g) product per group
        cols = win.transpose(1, 0, 3, 4, 2, 5, 6).reshape(groups, n * oh * ow, cg * kh * kw)
        out = xp.matmul(cols, w.reshape(groups, og, cg * kh * kw).transpose(0, 2, 1))
        out = out.reshape(groups, n, oh, ow, og).transpose(1, 0, 4, 2, 3)
        return xp.ascontiguousarray(out).reshape(n, o, oh, ow)
