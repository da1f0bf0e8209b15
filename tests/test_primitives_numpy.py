"""Every primitive of the NumPy backend against a float64 / exact-integer NumPy reference.

The tests are one table of op specs (:data:`SPECS`): the op, the dtypes it is declared for, a
reference function and, where the op needs them, its arguments and input generator. Each spec is
run through ``Backend.run`` (the path the frontend uses) over a table of shapes and memory layouts
(:data:`SHAPES`): 0-d, empty, (3, 4), and non-contiguous views (transposed, sliced with a step,
broadcast), plus an ``edges`` case that pairs every edge value with every other one (NaN, ±inf,
-0.0, denormals, the integer extremes that wrap on overflow, floor-division signs).

References: floats are computed in float64 and rounded to the op's dtype, integers with Python
ints and wrapped modulo 2**bits, so the reference is exact except for the final rounding.
Tolerances are per dtype (:data:`RTOL`); NaN must match NaN, ±inf must match exactly, and -0.0
must keep its sign wherever the op's semantics (``idrak.contract.ops.SEMANTICS``) define it.

Undeclared (op, dtype) pairs must raise :class:`~idrak.errors.NotSupportedError`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import idrak
from idrak.contract.backend import Backend
from idrak.contract.dtypes import ALL_DTYPES, DType, to_dtype
from idrak.contract.ops import OPTIONAL, REQUIRED, Op
from idrak.errors import NotSupportedError
from idrak.testing._reference import (
    cast_to_int_inputs,
    fill_value,
    finalize,
    ref_cast,
    ref_input,
    ref_pad,
)
from idrak.testing._values import edge_pool, random_values, sample

# --------------------------------------------------------------------------------------------
# dtypes, edge values, input generation

BOOL = (idrak.bool_,)
INTS = (idrak.uint8, idrak.int8, idrak.int16, idrak.int32, idrak.int64)
FLOATS = (idrak.float16, idrak.float32, idrak.float64)
NUMERIC = INTS + FLOATS
ALL = BOOL + NUMERIC

#: relative tolerance per float dtype (a few ulp; float16 results go through float32 in NumPy)
RTOL = {idrak.float16: 2e-3, idrak.float32: 4e-6, idrak.float64: 1e-13}


def npd(dt: DType) -> np.dtype[Any]:
    return np.dtype(dt.name)


def atol(dt: DType) -> float:
    """Absolute tolerance: a few of the smallest denormals (results that round near zero)."""
    return 4 * float(np.finfo(npd(dt)).smallest_subnormal)


# --------------------------------------------------------------------------------------------
# shapes and layouts

#: shape key -> (base shape or None for the edge-value grid, layout)
SHAPES: dict[str, tuple[tuple[int, ...] | None, str]] = {
    "()": ((), "C"),
    "(0,3)": ((0, 3), "C"),
    "(3,4)": ((3, 4), "C"),
    "(3,4)T": ((3, 4), "T"),  # a transposed view (PERMUTE of a (4, 3) array)
    "(3,4)step": ((3, 4), "step"),  # a[::2, ::2] of a (6, 8) buffer
    "(3,4)bcast": ((3, 4), "bcast"),  # first input is EXPAND of a (1, 4) array
    "edges": (None, "C"),  # 1-d: every edge value (or pair of them for binary ops)
}
ELEMENTWISE = tuple(SHAPES)
NO_EDGES = tuple(k for k in SHAPES if k != "edges")
PLAIN = ("()", "(0,3)", "(3,4)")


@dataclass(frozen=True)
class Call:
    """One call of an op: its ``arg`` and, where they differ from the base shape, input shapes."""

    arg: Any = None
    shapes: tuple[tuple[int, ...], ...] | None = None


def place(be: Backend, a: np.ndarray, layout: str) -> Any:
    """Put ``a`` on the backend with the given memory layout; the logical values are ``a``'s."""
    dt = to_dtype(a.dtype)
    if layout == "C" or a.ndim == 0:
        return be.from_numpy(a)
    if layout == "T":
        order = tuple(reversed(range(a.ndim)))
        base = be.from_numpy(np.ascontiguousarray(a.transpose(order)))
        return be.run(Op.PERMUTE, (base,), order, dt, 0)
    if layout == "step":
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        every_other = (slice(None, None, 2),) * a.ndim
        big[every_other] = a
        # NumPy-backend specific: a buffer is an ndarray, so slice it to get a strided view
        return be.from_numpy(big)[every_other]
    if layout == "bcast":
        row = be.from_numpy(np.ascontiguousarray(a[:1]))
        return be.run(Op.EXPAND, (row,), a.shape, dt, 0)
    raise ValueError(layout)


def as_bcast(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(a[:1], a.shape)) if a.ndim else a


# --------------------------------------------------------------------------------------------
# references


def is_float(xs: Sequence[np.ndarray]) -> bool:
    return xs[-1].dtype.kind == "f"


def is_bool(xs: Sequence[np.ndarray]) -> bool:
    return xs[-1].dtype.kind == "b"


def ref_gather(xs: list[np.ndarray], dim: int, dt: DType) -> Any:
    x, index = xs
    out = np.empty(index.shape, dtype=x.dtype)
    for pos in np.ndindex(*index.shape):
        src = list(pos)
        src[dim] = int(index[pos])
        out[pos] = x[tuple(src)]
    return out


def ref_scatter_add(xs: list[np.ndarray], dim: int, dt: DType) -> Any:
    x, index, src = xs
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = int(index[pos])
        out[tuple(dst)] = out[tuple(dst)] + src[pos]
    return out


def ref_conv2d(xs: list[np.ndarray], arg: Any, dt: DType) -> Any:
    x, w = xs
    (sh, sw), (ph, pw), (dh, dw), groups = arg
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[
                    :,
                    g * cg : (g + 1) * cg,
                    i * sh : i * sh + dh * kh : dh,
                    j * sw : j * sw + dw * kw : dw,
                ]
                out[:, oc, i, j] = np.sum(patch * w[oc], axis=(1, 2, 3))
    return out


def ref_arange(xs: list[np.ndarray], arg: Any, dt: DType) -> Any:
    start, stop, step, _ = arg
    n = max(0, math.ceil((stop - start) / step))
    return np.array([start + i * step for i in range(n)], dtype=object if dt.is_integer else float)


# --------------------------------------------------------------------------------------------
# op-specific arguments and inputs

Arr = list[np.ndarray]


def reduce_axes(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if shape is None:
        return [(0,)]
    if len(shape) == 0:
        return [()]
    return [(0,), (1,), (0, 1)]


def max_axes(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    # REDUCE_MAX is never issued over an empty axis
    if shape is not None and 0 in shape:
        return [(1,)]
    return reduce_axes(shape, dt)


def reshape_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if not shape:
        return [(), (1, 1)]
    if 0 in shape:
        return [(3, 0), (0,), (0, 1, 3)]
    return [(4, 3), (12,), (2, 3, 2), (1, 12, 1)]


def permute_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    return [()] if not shape else [(1, 0), (0, 1)]


def expand_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if not shape:
        return [Call((), ((),))]
    n, m = shape
    return [
        Call(shape, ((1, m),)),
        Call(shape, ((n, 1),)),
        Call(shape, ((1, 1),)),
        Call(shape, (shape,)),
    ]


def pad_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if not shape:
        return [((), fill_value(dt, 0))]
    if shape == (0, 3):
        return [(((1, 1), (2, 0)), fill_value(dt, 0))]
    return [
        (((1, 2), (0, 3)), fill_value(dt, 0)),
        (((0, 0), (0, 0)), fill_value(dt, 1)),
        (((2, 0), (1, 1)), fill_value(dt, 2)),
    ]


def shrink_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if not shape:
        return [()]
    if shape == (0, 3):
        return [((0, 0), (1, 2))]
    return [((1, 3), (0, 4)), ((0, 0), (2, 3)), ((0, 3), (0, 4)), ((2, 3), (3, 4))]


def flip_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    return [()] if not shape else [(0,), (1,), (0, 1), ()]


def full_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    assert shape is not None
    return [Call((shape, fill_value(dt, i), dt), ()) for i in range(4)]


def arange_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    args = [(0, 5, 1), (5, 0, -2), (0, 0, 1), (2, 11, 3), (3, 1, 1)]
    if dt.is_floating_point:
        args += [(0.0, 1.0, 0.25), (-1.0, 1.0, 0.5), (0.5, -1.0, -0.75)]
    return [Call((*a, dt), ()) for a in args]


def cast_targets(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    return list(ALL)


def matmul_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if shape == (0, 3):
        return [Call(None, ((0, 3), (3, 2))), Call(None, ((3, 0), (0, 2)))]
    return [
        Call(None, ((3, 4), (4, 5))),
        Call(None, ((2, 3, 4), (2, 4, 5))),
        Call(None, ((1, 4), (4, 1))),
    ]


def gather_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if shape == (0, 3):
        return [Call(1, ((0, 3), (0, 2)))]
    # index may be smaller than x along the other dims, as in torch.gather
    return [
        Call(0, ((3, 4), (2, 4))),
        Call(1, ((3, 4), (3, 6))),
        Call(0, ((3, 4), (5, 3))),
        Call(1, ((3, 4), (2, 2))),
        Call(0, ((3, 4), (0, 4))),
    ]


def scatter_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    if shape == (0, 3):
        return [Call(1, ((0, 3), (0, 2), (0, 2)))]
    return [
        Call(0, ((3, 4), (5, 4), (5, 4))),
        Call(1, ((3, 4), (3, 6), (3, 6))),
        Call(0, ((3, 4), (2, 3), (4, 4))),
        Call(0, ((3, 4), (0, 4), (0, 4))),
    ]


def conv_args(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    one = (1, 1)
    return [
        Call((one, (0, 0), one, 1), ((2, 3, 5, 6), (4, 3, 3, 3))),
        Call(((2, 1), (1, 2), one, 1), ((2, 3, 5, 6), (4, 3, 3, 2))),
        Call((one, (1, 1), (2, 1), 1), ((1, 2, 6, 5), (3, 2, 2, 3))),
        Call((one, (0, 0), one, 3), ((2, 3, 4, 4), (6, 1, 3, 3))),  # grouped
        Call((one, (0, 0), one, 1), ((2, 3, 4, 4), (5, 3, 1, 1))),  # 1x1
        Call((one, (0, 0), one, 1), ((0, 3, 4, 4), (2, 3, 3, 3))),  # empty batch
    ]


def in_dtypes(spec: Spec, dt: DType) -> tuple[DType, ...]:
    if spec.op is Op.WHERE:
        return (idrak.bool_, dt, dt)
    if spec.op is Op.GATHER:
        return (dt, idrak.int64)
    if spec.op is Op.SCATTER_ADD:
        return (dt, idrak.int64, dt)
    return (dt,) * spec.arity


def make_inputs(
    spec: Spec, dt: DType, shape: tuple[int, ...] | None, call: Call, rng: np.random.Generator
) -> Arr:
    """The logical input arrays of one call."""
    dts = in_dtypes(spec, dt)
    finite = spec.finite
    if spec.op is Op.CAST and dt.is_floating_point and call.arg.kind in "ui":
        finite = True
    if shape is None:  # the edge grid: every pair of edge values
        pool = edge_pool(dt, finite)
        k = len(pool)
        data = [np.repeat(pool, k ** (spec.arity - 1)), np.tile(pool, k)][: spec.arity]
        if spec.op is Op.WHERE:
            data = [np.arange(k * k) % 3 == 0, np.repeat(pool, k), np.tile(pool, k)]
        xs = [np.asarray(d) for d in data]
    else:
        shapes = call.shapes if call.shapes is not None else (shape,) * spec.arity
        xs = [
            sample(d, s, rng, edge_pool(d, finite)) if d == dt else random_values(d, s, rng)
            for d, s in zip(dts, shapes)
        ]
    if spec.op in (Op.GATHER, Op.SCATTER_ADD):
        size = xs[0].shape[call.arg]
        xs[1] = rng.integers(0, max(size, 1), size=xs[1].shape, dtype=np.int64)
    if spec.op is Op.CAST and dt.is_floating_point and call.arg.kind in "ui":
        xs[0] = cast_to_int_inputs(xs[0], call.arg, rng)
    if spec.op is Op.DIV and dt.is_integer:  # division by zero is never issued; nor MIN // -1
        x, y = xs
        y[y == 0] = 1
        if dt.kind == "i":
            y[(x == np.iinfo(x.dtype).min) & (y == -1)] = 2
    return xs


# --------------------------------------------------------------------------------------------
# the table

Ref = Callable[[Arr, Any, DType], Any]
Args = Callable[[tuple[int, ...] | None, DType], list[Any]]


def _none(shape: tuple[int, ...] | None, dt: DType) -> list[Any]:
    return [None]


@dataclass(frozen=True)
class Spec:
    """One op: the dtypes it is declared for, its reference, arguments and shapes."""

    op: Op
    dtypes: tuple[DType, ...]
    ref: Ref
    arity: int = 1
    args: Args = _none
    shapes: tuple[str, ...] = ELEMENTWISE
    out_dtype: Callable[[DType, Any], DType] = field(default=lambda dt, arg: dt)
    signed_zero: bool = True  # check the sign of zero results
    finite: bool = False  # inputs without NaN/inf/huge values (sums: order would matter)
    scale: Callable[[Arr, Any], Any] | None = None  # magnitude the error is relative to

    @property
    def id(self) -> str:
        return self.op.name


def apply(fn: Callable[..., Any]) -> Ref:
    """A reference that is ``fn`` of the inputs (the same function for every dtype)."""

    def ref(xs: Arr, arg: Any, dt: DType) -> Any:
        return fn(*xs)

    return ref


def by_kind(
    f: Callable[..., Any], i: Callable[..., Any], b: Callable[..., Any] | None = None
) -> Ref:
    """A reference that is ``f`` for floats, ``i`` for integers and ``b`` (else ``i``) for bool."""

    def ref(xs: Arr, arg: Any, dt: DType) -> Any:
        return (f if is_float(xs) else b if (b and is_bool(xs)) else i)(*xs)

    return ref


def with_arg(fn: Callable[..., Any]) -> Ref:
    """A reference that is ``fn(*inputs, arg)`` (``fn(*inputs)`` when the op has no arg)."""

    def ref(xs: Arr, arg: Any, dt: DType) -> Any:
        return fn(*xs) if arg is None else fn(*xs, arg)

    return ref


def to_bool(dt: DType, arg: Any) -> DType:
    return idrak.bool_


def sum_scale(xs: Arr, axes: Any) -> Any:
    return np.sum(np.abs(xs[0].astype(np.float64)), axis=axes, keepdims=True)


def matmul_scale(xs: Arr, arg: Any) -> Any:
    x, y = (np.abs(a.astype(np.float64)) for a in xs)
    return (x @ y) * max(1, x.shape[-1])


def conv_scale(xs: Arr, arg: Any) -> Any:
    x, w = (np.abs(a.astype(np.float64)) for a in xs)
    return ref_conv2d([x, w], arg, idrak.float64) * 4


SPECS: list[Spec] = [
    # unary
    Spec(Op.NEG, NUMERIC, apply(lambda x: -x)),
    Spec(Op.EXP, FLOATS, apply(np.exp)),
    Spec(Op.LOG, FLOATS, apply(np.log)),
    Spec(Op.SIN, FLOATS, apply(np.sin)),
    Spec(Op.SQRT, FLOATS, apply(np.sqrt)),
    Spec(Op.RECIPROCAL, FLOATS, apply(lambda x: 1 / x)),
    Spec(Op.TANH, FLOATS, apply(np.tanh)),
    Spec(Op.EXP2, FLOATS, apply(np.exp2)),
    Spec(Op.LOG2, FLOATS, apply(np.log2)),
    # binary
    Spec(Op.ADD, ALL, by_kind(np.add, np.add, np.logical_or), arity=2),
    Spec(Op.SUB, NUMERIC, apply(lambda x, y: x - y), arity=2),
    Spec(Op.MUL, ALL, by_kind(np.multiply, np.multiply, np.logical_and), arity=2),
    Spec(Op.DIV, NUMERIC, by_kind(lambda x, y: x / y, lambda x, y: x // y), arity=2),
    Spec(Op.POW, FLOATS, apply(np.power), arity=2),
    Spec(Op.MAX, ALL, apply(np.maximum), arity=2, signed_zero=False),
    Spec(Op.CMPLT, ALL, apply(lambda x, y: x < y), arity=2, out_dtype=to_bool),
    Spec(Op.CMPEQ, ALL, apply(lambda x, y: x == y), arity=2, out_dtype=to_bool),
    # ternary, type
    Spec(Op.WHERE, ALL, apply(np.where), arity=3),
    Spec(Op.CAST, ALL, ref_cast, args=cast_targets, out_dtype=lambda dt, arg: arg),
    # reduce
    Spec(
        Op.SUM,
        NUMERIC,
        with_arg(lambda x, axes: np.sum(x, axis=axes, keepdims=True)),
        args=reduce_axes,
        signed_zero=False,
        finite=True,
        scale=sum_scale,
    ),
    Spec(
        Op.REDUCE_MAX,
        ALL,
        with_arg(lambda x, axes: np.max(x, axis=axes, keepdims=True)),
        args=max_axes,
        signed_zero=False,
    ),
    # movement
    Spec(Op.RESHAPE, ALL, with_arg(np.reshape), args=reshape_args, shapes=NO_EDGES),
    Spec(Op.PERMUTE, ALL, with_arg(np.transpose), args=permute_args, shapes=NO_EDGES),
    Spec(Op.EXPAND, ALL, with_arg(np.broadcast_to), args=expand_args, shapes=NO_EDGES),
    Spec(Op.PAD, ALL, ref_pad, args=pad_args, shapes=NO_EDGES),
    Spec(
        Op.SHRINK,
        ALL,
        with_arg(lambda x, b: x[tuple(slice(*ab) for ab in b)]),
        args=shrink_args,
        shapes=NO_EDGES,
    ),
    Spec(Op.FLIP, ALL, with_arg(np.flip), args=flip_args, shapes=NO_EDGES),
    Spec(
        Op.CUMSUM,
        NUMERIC,
        with_arg(lambda x, axis: np.cumsum(x, axis=axis)),
        args=lambda shape, dt: [0, (shape and len(shape) - 1) or 0] if shape else [],
        shapes=NO_EDGES,
        signed_zero=False,
        finite=True,
        scale=lambda xs, axis: np.cumsum(np.abs(xs[0].astype(float)), axis=axis),
    ),
    # memory
    Spec(
        Op.FULL,
        ALL,
        lambda xs, arg, dt: np.full(arg[0], arg[1], dtype=object),
        arity=0,
        args=full_args,
        shapes=PLAIN,
    ),
    Spec(Op.CONTIGUOUS, ALL, apply(lambda x: x), shapes=NO_EDGES),
    Spec(Op.ARANGE, NUMERIC, ref_arange, arity=0, args=arange_args, shapes=("()",)),
    # optional fast paths with their own shapes
    Spec(
        Op.MATMUL,
        FLOATS,
        apply(np.matmul),
        arity=2,
        args=matmul_args,
        shapes=("(3,4)", "(3,4)T", "(3,4)step", "(0,3)"),
        signed_zero=False,
        finite=True,
        scale=matmul_scale,
    ),
    Spec(
        Op.GATHER,
        ALL,
        ref_gather,
        arity=2,
        args=gather_args,
        shapes=("(3,4)", "(3,4)T", "(3,4)step", "(3,4)bcast", "(0,3)"),
    ),
    Spec(
        Op.SCATTER_ADD,
        NUMERIC,
        ref_scatter_add,
        arity=3,
        args=scatter_args,
        shapes=("(3,4)", "(3,4)T", "(3,4)step", "(0,3)"),
        signed_zero=False,
        finite=True,
        scale=lambda xs, arg: np.abs(xs[0].astype(float)) + np.sum(np.abs(xs[2])),
    ),
    Spec(
        Op.CONV2D,
        FLOATS,
        ref_conv2d,
        arity=2,
        args=conv_args,
        shapes=("(3,4)", "(3,4)step"),
        signed_zero=False,
        finite=True,
        scale=conv_scale,
    ),
]
BY_OP = {s.op: s for s in SPECS}


def cases() -> list[Any]:
    out = []
    for spec in SPECS:
        for dt in spec.dtypes:
            for key in spec.shapes:
                if spec.op is Op.CAST:  # one case per (source, target) pair
                    for target in ALL:
                        cid = f"CAST-{dt.name}->{target.name}-{key}"
                        out.append(pytest.param(spec, dt, key, target, id=cid))
                    continue
                cid = f"{spec.id}-{dt.name}" + (f"-{key}" if len(spec.shapes) > 1 else "")
                out.append(pytest.param(spec, dt, key, None, id=cid))
    return out


# --------------------------------------------------------------------------------------------
# checks


def bits_of(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def describe(xs: Arr, where: np.ndarray, got: np.ndarray, want: np.ndarray) -> str:
    idx = np.argwhere(where)[:5]
    lines = []
    for i in idx:
        t = tuple(int(v) for v in i)
        ins = ", ".join(repr(x[t]) if x.shape == got.shape else "..." for x in xs)
        lines.append(f"  at {t}: inputs ({ins}) -> got {got[t]!r}, want {want[t]!r}")
    return f"{int(np.count_nonzero(where))} mismatches, first:\n" + "\n".join(lines)


def check(spec: Spec, got: np.ndarray, want: np.ndarray, xs: Arr, arg: Any) -> None:
    assert got.dtype == want.dtype, f"dtype {got.dtype}, want {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape}, want {want.shape}"
    if want.dtype.kind != "f":
        bad = got != want
        assert not bad.any(), describe(xs, bad, got, want)
        return
    dt = to_dtype(want.dtype)
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_bad = np.isnan(g) != np.isnan(w)
    assert not nan_bad.any(), "NaN mismatch: " + describe(xs, nan_bad, got, want)
    inf = np.isinf(w) | np.isinf(g)
    inf_bad = inf & (g != w)
    assert not inf_bad.any(), "inf mismatch: " + describe(xs, inf_bad, got, want)
    fin = ~(np.isnan(w) | inf)
    scale = np.abs(w)
    if spec.scale is not None:
        with np.errstate(all="ignore"):
            scale = np.maximum(scale, np.broadcast_to(spec.scale(xs, arg), w.shape))
    with np.errstate(all="ignore"):
        err_bad = fin & (np.abs(g - w) > atol(dt) + RTOL[dt] * scale)
    assert not err_bad.any(), describe(xs, err_bad, got, want)
    if spec.signed_zero:
        zero_bad = (w == 0) & (g == 0) & (np.signbit(g) != np.signbit(w))
        assert not zero_bad.any(), "sign of zero: " + describe(xs, zero_bad, got, want)


# --------------------------------------------------------------------------------------------
# tests


@pytest.mark.parametrize(("spec", "dt", "key", "target"), cases())
def test_primitive(
    numpy_backend: Backend, spec: Spec, dt: DType, key: str, target: DType | None
) -> None:
    be = numpy_backend
    shape, layout = SHAPES[key]
    # a seed that is the same in every process (hash() of a str is salted per process)
    rng = np.random.default_rng(zlib.crc32(f"{spec.op.name}-{dt.name}-{key}".encode()))
    calls = [target] if spec.op is Op.CAST else spec.args(shape, dt)
    for raw in calls:
        call = raw if isinstance(raw, Call) else Call(raw)
        xs = make_inputs(spec, dt, shape, call, rng)
        if layout == "bcast" and xs:
            xs[0] = as_bcast(xs[0])
        # a broadcast view for the first input only: mixes layouts in one call
        bufs = tuple(
            place(be, x, "C" if layout == "bcast" and i else layout) for i, x in enumerate(xs)
        )
        if layout in ("T", "step", "bcast") and xs and min(xs[0].shape, default=0) > 1:
            assert not bufs[0].flags.c_contiguous, "the test meant to pass a non-contiguous view"
        before = [bits_of(be.to_numpy(b)) for b in bufs]
        out = be.run(spec.op, bufs, call.arg, dt, 0)
        got = be.to_numpy(out)
        with np.errstate(all="ignore"):  # IEEE inf/NaN in the reference are intended
            ref = spec.ref([ref_input(x) for x in xs], call.arg, dt)
            want = finalize(ref, spec.out_dtype(dt, call.arg))
        try:
            check(spec, got, want, xs, call.arg)
        except AssertionError as e:
            raise AssertionError(f"{spec.op.name} {dt.name} {key} arg={call.arg!r}: {e}") from None
        after = [bits_of(be.to_numpy(b)) for b in bufs]
        assert before == after, f"{spec.op.name} modified its input"
        if spec.op is Op.CONTIGUOUS:
            assert out.flags.c_contiguous


def test_contiguous_returns_contiguous_input_or_copy(numpy_backend: Backend) -> None:
    a = numpy_backend.from_numpy(np.arange(6.0).reshape(2, 3))
    assert numpy_backend.run(Op.CONTIGUOUS, (a,), None, idrak.float64, 0) is a


FLOOR_DIV = [
    (-7, 2, -4),
    (7, -2, -4),
    (-7, -2, 3),
    (7, 2, 3),
    (-1, 3, -1),
    (0, -5, 0),
    (-128, 3, -43),
]


@pytest.mark.parametrize(
    ("x", "y", "want"), [pytest.param(*c, id=f"{c[0]}DIV{c[1]}") for c in FLOOR_DIV]
)
@pytest.mark.parametrize(
    "dt", [idrak.int8, idrak.int16, idrak.int32, idrak.int64], ids=lambda d: d.name
)
def test_integer_div_rounds_toward_minus_infinity(
    numpy_backend: Backend, dt: DType, x: int, y: int, want: int
) -> None:
    be = numpy_backend
    a, b = (be.from_numpy(np.array([v], dtype=npd(dt))) for v in (x, y))
    assert be.to_numpy(be.run(Op.DIV, (a, b), None, dt, 0)).tolist() == [want]


def test_integer_overflow_wraps(numpy_backend: Backend) -> None:
    be = numpy_backend
    i8 = be.from_numpy(np.array([127, -128, 100], dtype=np.int8))
    one = be.from_numpy(np.array([1, -1, 2], dtype=np.int8))
    assert be.to_numpy(be.run(Op.ADD, (i8, one), None, idrak.int8, 0)).tolist() == [-128, 127, 102]
    assert be.to_numpy(be.run(Op.MUL, (i8, one), None, idrak.int8, 0)).tolist() == [127, -128, -56]
    assert be.to_numpy(be.run(Op.NEG, (i8,), None, idrak.int8, 0)).tolist() == [-127, -128, -100]
    u8 = be.from_numpy(np.array([0, 255], dtype=np.uint8))
    uone = be.from_numpy(np.array([1, 1], dtype=np.uint8))
    assert be.to_numpy(be.run(Op.SUB, (u8, uone), None, idrak.uint8, 0)).tolist() == [255, 254]


# --------------------------------------------------------------------------------------------
# capabilities: declared means it works (above), undeclared means NotSupportedError


def declared(be: Backend) -> dict[Op, frozenset[DType]]:
    caps = be.capabilities()
    return {op: frozenset(d for d in ALL_DTYPES if caps.supports(op, d)) for op in Op}


def test_table_matches_declared_capabilities(numpy_backend: Backend) -> None:
    caps = numpy_backend.capabilities()
    assert caps.name == "numpy"
    assert caps.device_count == 1
    assert REQUIRED <= set(BY_OP), f"required ops without a spec: {REQUIRED - set(BY_OP)}"
    assert caps.optional_ops == frozenset(BY_OP) & OPTIONAL
    for op, dts in declared(numpy_backend).items():
        want = frozenset(BY_OP[op].dtypes) if op in caps.ops else frozenset()
        assert dts == want, f"{op.name}: declared {sorted(d.name for d in dts)}"


def undeclared_cases() -> list[Any]:
    out = []
    for op in Op:
        spec = BY_OP.get(op)
        ok = set(spec.dtypes) if spec else set()
        if op is Op.FUSED:  # declared by fusion_support() on every stored dtype (test_fusion.py)
            ok = {d for d in ALL_DTYPES if d is not idrak.bfloat16}
        for dt in ALL_DTYPES:
            if dt not in ok:
                out.append(pytest.param(op, dt, id=f"{op.name}-{dt.name}"))
    return out


@pytest.mark.parametrize(("op", "dt"), undeclared_cases())
def test_undeclared_raises_not_supported(numpy_backend: Backend, op: Op, dt: DType) -> None:
    be = numpy_backend
    np_dt = np.dtype(dt.name) if dt.name != "bfloat16" else np.dtype(np.float32)
    x = be.from_numpy(np.ones((2, 2), dtype=np_dt))
    spec = BY_OP.get(op)
    arity = spec.arity if spec else 0
    arg: Any = None
    if spec is not None and spec.args is not _none:
        first = spec.args((2, 2), dt)[0] if spec.shapes != ("()",) else spec.args((), dt)[0]
        arg = first.arg if isinstance(first, Call) else first
    if op is Op.RANDOM_BITS:
        arg = (4, 0, 0, 0)
    with pytest.raises(NotSupportedError) as info:
        be.run(op, (x,) * arity, arg, dt, 0)
    msg = str(info.value)
    assert "'numpy'" in msg and op.name in msg and dt.name in msg, msg
    assert (info.value.backend, info.value.op, info.value.dtype) == ("numpy", op.name, dt.name)


@pytest.mark.parametrize("src", [idrak.float32, idrak.int32, idrak.bool_], ids=lambda d: d.name)
def test_cast_to_undeclared_dtype_raises(numpy_backend: Backend, src: DType) -> None:
    x = numpy_backend.from_numpy(np.ones(3, dtype=npd(src)))
    with pytest.raises(NotSupportedError, match=r"'numpy'.*CAST.*bfloat16"):
        numpy_backend.run(Op.CAST, (x,), idrak.bfloat16, src, 0)


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.name)
def test_reductions_propagate_nan_and_inf(numpy_backend: Backend, dt: DType) -> None:
    be = numpy_backend
    x = be.from_numpy(
        np.array([[1, np.nan, 2], [np.inf, 1, -np.inf], [np.inf, 2, 3]], dtype=npd(dt))
    )
    total = be.to_numpy(be.run(Op.SUM, (x,), (1,), dt, 0))
    biggest = be.to_numpy(be.run(Op.REDUCE_MAX, (x,), (1,), dt, 0))
    np.testing.assert_array_equal(total[:, 0], [np.nan, np.nan, np.inf])
    np.testing.assert_array_equal(biggest[:, 0], [np.nan, np.inf, np.inf])
