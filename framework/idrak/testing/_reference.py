"""The required primitives as a table of specs: domain, NumPy reference, arguments, inputs.

References run in float64 for floats (then round to the op's dtype) and in Python integers for
integers (then wrap modulo 2**bits), so a reference is exact up to its final rounding. The
semantics checked are those written in :data:`idrak.contract.ops.SEMANTICS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from idrak.contract.dtypes import DType, bool_
from idrak.contract.ops import OPS, Op
from idrak.testing._optional_reference import OPTIONAL_SPECS, OptionalSpec
from idrak.testing._programs import M34, PAIR, POS, Program, apart, distinct_rows
from idrak.testing._values import edge_pool, np_dtype, random_values, sample

__all__ = ["REFERENCES", "SPECS", "Call", "Spec", "finalize", "make_inputs", "reference"]

Arr = list[np.ndarray]
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Call:
    """One call of an op: its ``arg``, and input shapes where they differ from the base shape."""

    arg: Any = None
    shapes: tuple[Shape, ...] | None = None


@dataclass(frozen=True)
class Spec:
    """How to check a required op (its domain, arity and result dtype come from its record).

    Attributes:
            ref: reference on float64 / Python-int inputs: ``ref(xs, arg, dtype)``.
        args: the calls to make for a base shape.
        elementwise: output shape == input shapes; failures are reduced to the failing elements.
        edges: also run the grid of all (pairs of) edge values.
        signed_zero: the sign of a zero result is part of the semantics.
        finite: inputs without NaN, inf or huge values (accumulations would be order-dependent).
        scale: the magnitude errors are measured against (default ``|want|``).
        special: hand-picked calls with explicit inputs, per dtype.
        grad: the autograd layer's program using the op (``test_5_autograd``); required for
            every op with a VJP rule, None for the others.
    """

    op: Op
    ref: Callable[[Arr, Any, DType], Any]
    args: Callable[[Shape, DType], list[Call]] = field(default=lambda s, d: [Call()])
    elementwise: bool = True
    edges: bool = True
    signed_zero: bool = True
    finite: bool = False
    scale: Callable[[Arr, Any], Any] | None = None
    special: Callable[[DType], list[tuple[Arr, Any]]] = field(default=lambda dt: [])
    grad: Program | None = None

    @property
    def kinds(self) -> str:
        """The dtype kinds of the op's domain (its record's ``dtypes``)."""
        return "".join(k for k in "buif" if any(d.kind == k for d in OPS[self.op].dtypes))

    @property
    def arity(self) -> int:
        """How many array inputs the op takes (from its record)."""
        return len(OPS[self.op].inputs)

    def out_dtype(self, dt: DType, arg: Any) -> DType:
        """The result's dtype for operands of ``dt`` (from the record's ``out`` rule)."""
        rule = OPS[self.op].out
        return bool_ if rule == "bool" else arg if rule == "arg" else dt


# references ---------------------------------------------------------------------------------
def ref_input(a: np.ndarray) -> np.ndarray:
    """float -> float64, integer -> Python ints (object), bool stays bool."""
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    if a.dtype.kind in "ui":
        return a.astype(object)
    return a


def wrap_int(v: Any, dt: DType) -> int:
    lo = -(1 << (dt.bits - 1)) if dt.kind == "i" else 0
    return ((int(v) - lo) % (1 << dt.bits)) + lo


def finalize(ref: Any, dt: DType) -> np.ndarray:
    """Round a float64 / Python-int reference to ``dt`` (integers wrap modulo 2**bits)."""
    if dt.kind == "b":
        return np.asarray(ref).astype(bool)
    if dt.kind in "ui":
        obj = np.asarray(ref, dtype=object)
        flat = [wrap_int(v, dt) for v in obj.reshape(-1)]
        return np.array(flat, dtype=np_dtype(dt)).reshape(obj.shape)
    with np.errstate(all="ignore"):
        return np.asarray(ref, dtype=np.float64).astype(np_dtype(dt))


def reference(spec: Spec, xs: Arr, arg: Any, dt: DType) -> np.ndarray:
    """The expected result of ``spec.op`` on host inputs ``xs``."""
    with np.errstate(all="ignore"):  # IEEE inf/NaN in a reference are intended
        return finalize(spec.ref([ref_input(x) for x in xs], arg, dt), spec.out_dtype(dt, arg))


def _fn(f: Callable[..., Any]) -> Callable[[Arr, Any, DType], Any]:
    return lambda xs, arg, dt: f(*xs) if arg is None else f(*xs, arg)


def _kind(
    f: Callable[..., Any], i: Callable[..., Any], b: Callable[..., Any] | None = None
) -> Callable[[Arr, Any, DType], Any]:
    def ref(xs: Arr, arg: Any, dt: DType) -> Any:
        k = xs[-1].dtype.kind
        return (f if k == "f" else b if (b is not None and k == "b") else i)(*xs)

    return ref


def ref_cast(xs: Arr, arg: DType, dt: DType) -> Any:
    (x,) = xs
    if arg.kind == "b":
        return x != 0  # NaN != 0: NaN -> True
    if arg.kind in "ui" and x.dtype.kind == "f":
        return np.trunc(x).astype(object)  # toward zero
    return x.astype(object) if x.dtype.kind == "b" and arg.kind in "ui" else x


def ref_pad(xs: Arr, arg: Any, dt: DType) -> Any:
    (x,), (widths, value) = xs, arg
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, widths))
    out = np.full(shape, value, dtype=x.dtype)
    out[tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths))] = x
    return out


def _sum_scale(xs: Arr, axes: Any) -> Any:
    return np.sum(np.abs(xs[0].astype(np.float64)), axis=axes, keepdims=True)


# arguments ------------------------------------------------------------------------------------
def _axes_sets(shape: Shape, nonempty: bool = False) -> list[Call]:
    nd = len(shape)
    if nd == 0:
        return [Call(())]
    sets = {(i,) for i in range(nd)} | {tuple(range(nd))} | {(0, nd - 1)}
    if nonempty:
        sets = {a for a in sets if all(shape[i] for i in a)}
    return [Call(a) for a in sorted(sets)] or [Call(())]


def _reshape(shape: Shape, dt: DType) -> list[Call]:
    n = math.prod(shape)
    cands = (
        {(n,), tuple(reversed(shape)), (1, *shape, 1), ()}
        if n == 1
        else {(n,), tuple(reversed(shape)), (1, *shape, 1)}
    )
    if n and shape and shape[-1] % 2 == 0:
        cands.add((*shape[:-1], 2, shape[-1] // 2))
    return [Call(c) for c in sorted(cands)]


def _permute(shape: Shape, dt: DType) -> list[Call]:
    nd = len(shape)
    orders = {tuple(range(nd)), tuple(reversed(range(nd))), tuple(range(1, nd)) + (0,)[:nd]}
    return [Call(o) for o in sorted(orders)]


def _expand(shape: Shape, dt: DType) -> list[Call]:
    calls = [
        Call(shape, (tuple(1 if j == i else s for j, s in enumerate(shape)),))
        for i in range(len(shape))
    ]
    return calls + [Call(shape, ((1,) * len(shape),)), Call(shape, (shape,))]


def fill_value(dt: DType, i: int) -> Any:
    """A fill value for PAD and FULL: cycles through edge cases of the dtype."""
    if dt.kind == "b":
        return [True, False][i % 2]
    if dt.kind in "ui":
        return [int(np.iinfo(np_dtype(dt)).max), 0, 7][i % 3]
    return [-math.inf, 0.5, math.nan, -0.0][i % 4]


def _pad(shape: Shape, dt: DType) -> list[Call]:
    nd = len(shape)
    pats = [
        tuple((1, 2) if i == 0 else (0, 1) for i in range(nd)),
        ((0, 0),) * nd,
        tuple((2, 0) if i == nd - 1 else (1, 1) for i in range(nd)),
    ]
    return [Call((p, fill_value(dt, i))) for i, p in enumerate(dict.fromkeys(pats))]


def _shrink(shape: Shape, dt: DType) -> list[Call]:
    pats = {
        tuple((0, s) for s in shape),
        tuple((min(1, s), max(min(1, s), s - 1)) for s in shape),
        tuple((s - 1, s) if s else (0, 0) for s in shape),
        tuple((0, 0) if i == 0 else (0, s) for i, s in enumerate(shape)),
    }
    return [Call(p) for p in sorted(pats)]


def _flip(shape: Shape, dt: DType) -> list[Call]:
    nd = len(shape)
    return [Call(a) for a in sorted({(), tuple(range(nd))} | {(i,) for i in range(nd)})]


def _full(shape: Shape, dt: DType) -> list[Call]:
    return [Call((shape, fill_value(dt, i), dt), ()) for i in range(4)]


# hand-picked cases -----------------------------------------------------------------------------
def _a(dt: DType, *vals: Any) -> np.ndarray:
    return np.array(vals, dtype=np_dtype(dt))


def _sum_special(dt: DType) -> list[tuple[Arr, Any]]:
    out: list[tuple[Arr, Any]] = [
        ([np.zeros((2, 0), np_dtype(dt))], (1,)),  # empty sum is 0
        ([np.zeros((0, 3), np_dtype(dt))], (0, 1)),
    ]
    if dt.kind == "f":
        out += [
            ([_a(dt, math.nan, 1.0, 2.0)], (0,)),
            ([_a(dt, math.inf, 1.0)], (0,)),
            ([_a(dt, math.inf, -math.inf)], (0,)),
            ([_a(dt, -0.0, -0.0)], (0,)),
        ]
    if dt.kind in "ui":
        info = np.iinfo(np_dtype(dt))
        out.append(([_a(dt, info.max, info.max, 1)], (0,)))  # wraps
    return out


def _max_special(dt: DType) -> list[tuple[Arr, Any]]:
    v = 1 if dt.kind == "b" else 2
    out: list[tuple[Arr, Any]] = [([_a(dt, v, v, v)], (0,))]  # all equal (ties)
    if dt.kind == "f":
        out += [
            ([_a(dt, -0.0, 0.0)], (0,)),
            ([_a(dt, 1.0, math.nan, 3.0)], (0,)),
            ([_a(dt, -math.inf, -math.inf)], (0,)),
        ]
    if dt.kind in "ui":
        out.append(([_a(dt, *[np.iinfo(np_dtype(dt)).min] * 3)], (0,)))
    return out


def _div_special(dt: DType) -> list[tuple[Arr, Any]]:
    if dt.kind == "u":
        return [([_a(dt, 7, 0, 200), _a(dt, 2, 5, 3)], None)]
    if dt.kind == "i":  # floor division rounds toward -inf
        lo = int(np.iinfo(np_dtype(dt)).min)
        return [([_a(dt, -7, 7, -7, 7, -1, 0, lo, lo), _a(dt, 2, -2, -2, 2, 3, -5, 3, 1)], None)]
    return [([_a(dt, 1.0, -1.0, 0.0, -0.0, 0.0), _a(dt, 0.0, 0.0, 0.0, 1.0, -1.0)], None)]


def _wrap_special(dt: DType) -> list[tuple[Arr, Any]]:
    if dt.kind not in "ui":
        return []
    info = np.iinfo(np_dtype(dt))
    return [([_a(dt, info.max, info.min, info.max), _a(dt, 1, info.max, info.max)], None)]


def _minmax_special(dt: DType) -> list[tuple[Arr, Any]]:
    if dt.kind != "f":
        return []
    return [([_a(dt, math.nan, 1.0, -0.0, 2.0), _a(dt, 1.0, math.nan, 0.0, 2.0)], None)]


SPECS: dict[Op, Spec] = {
    s.op: s
    for s in [
        Spec(Op.NEG, _fn(lambda x: -x), grad=Program("-x0", M34)),
        Spec(Op.EXP, _fn(np.exp), grad=Program("x0.exp()", M34)),
        Spec(Op.LOG, _fn(np.log), grad=Program("x0.log()", POS)),
        Spec(Op.SIN, _fn(np.sin), grad=Program("x0.sin()", M34)),
        Spec(Op.SQRT, _fn(np.sqrt), grad=Program("x0.sqrt()", POS)),
        Spec(Op.RECIPROCAL, _fn(lambda x: 1 / x), grad=Program("x0.reciprocal()", POS)),
        Spec(
            Op.ADD,
            _kind(np.add, np.add, np.logical_or),
            special=_wrap_special,
            grad=Program("x0 + x1", PAIR),
        ),
        Spec(
            Op.MUL,
            _kind(np.multiply, np.multiply, np.logical_and),
            special=_wrap_special,
            grad=Program("x0 * x1", PAIR),
        ),
        Spec(
            Op.DIV,
            _kind(lambda x, y: x / y, lambda x, y: x // y),
            special=_div_special,
            grad=Program("x0 / x1", (((3, 4), -2.0, 2.0), ((3, 4), 0.5, 3.0))),
        ),
        Spec(
            Op.MAX,
            _fn(np.maximum),
            signed_zero=False,
            special=_minmax_special,
            grad=Program("x0.maximum(x1)", PAIR, prep=apart),
        ),
        Spec(
            Op.CMPLT,
            _fn(lambda x, y: x < y),
            special=_minmax_special,
        ),
        Spec(
            Op.CMPEQ,
            _fn(lambda x, y: x == y),
            special=_minmax_special,
        ),
        Spec(
            Op.WHERE,
            _fn(np.where),
            grad=Program("idrak.where(c0, x0, x1)", PAIR, const=lambda r: r.random((3, 4)) < 0.5),
        ),
        Spec(Op.CAST, ref_cast, grad=Program("x0.cast({other}).cast({dt})", M34, h=0.25)),
        Spec(
            Op.SUM,
            _fn(lambda x, axes: np.sum(x, axis=axes, keepdims=True)),
            args=lambda s, d: _axes_sets(s),
            elementwise=False,
            edges=False,
            signed_zero=False,
            finite=True,
            scale=_sum_scale,
            special=_sum_special,
            grad=Program("x0.sum(1)", M34),
        ),
        Spec(
            Op.REDUCE_MAX,
            _fn(lambda x, axes: np.max(x, axis=axes, keepdims=True)),
            args=lambda s, d: _axes_sets(s, nonempty=True),
            elementwise=False,
            edges=False,
            signed_zero=False,
            special=_max_special,
            grad=Program("x0.amax(1)", M34, prep=distinct_rows),
        ),
        Spec(
            Op.RESHAPE,
            _fn(np.reshape),
            args=_reshape,
            elementwise=False,
            edges=False,
            grad=Program("x0.reshape(4, 3) * x0.reshape(4, 3)", M34),
        ),
        Spec(
            Op.PERMUTE,
            _fn(np.transpose),
            args=_permute,
            elementwise=False,
            edges=False,
            grad=Program("x0.permute(2, 0, 1) * x0.permute(2, 0, 1)", (((2, 3, 4), -2.0, 2.0),)),
        ),
        Spec(
            Op.EXPAND,
            _fn(np.broadcast_to),
            args=_expand,
            elementwise=False,
            edges=False,
            grad=Program("x0.expand(3, 4) * x0.expand(3, 4)", (((3, 1), -2.0, 2.0),)),
        ),
        Spec(
            Op.PAD,
            ref_pad,
            args=_pad,
            elementwise=False,
            edges=False,
            grad=Program("x0.pad((1, 2, 0, 1), value=0.5) * x0.pad((1, 2, 0, 1), value=0.5)", M34),
        ),
        Spec(
            Op.SHRINK,
            _fn(lambda x, b: x[tuple(slice(*ab) for ab in b)]),
            args=_shrink,
            elementwise=False,
            edges=False,
            grad=Program("x0[1:3, 1:] * x0[1:3, 1:]", M34),
        ),
        Spec(
            Op.FLIP,
            _fn(lambda x, axes: np.flip(x, axes)),
            args=_flip,
            elementwise=False,
            edges=False,
            grad=Program("x0.flip(0) * x0", M34),
        ),
        Spec(
            Op.FULL,
            lambda xs, arg, dt: np.full(arg[0], arg[1], dtype=object),
            args=_full,
            elementwise=False,
            edges=False,
        ),
        Spec(
            Op.CONTIGUOUS,
            _fn(lambda x: x),
            elementwise=False,
            edges=False,
            grad=Program("x0.permute(1, 0).contiguous() * x0.permute(1, 0)", M34),
        ),
    ]
}


# inputs ---------------------------------------------------------------------------------------
def in_dtypes(spec: Spec, dt: DType) -> tuple[DType, ...]:
    """The dtype of each input (WHERE's condition is bool)."""
    return (bool_, dt, dt) if spec.op is Op.WHERE else (dt,) * spec.arity


def cast_to_int_inputs(x: np.ndarray, target: DType, rng: np.random.Generator) -> np.ndarray:
    """Float inputs whose truncation fits ``target`` (out-of-range float->int is undefined)."""
    info, fmax = np.iinfo(np_dtype(target)), float(np.finfo(x.dtype).max)
    lo, hi = max(float(info.min), -fmax) * 0.99, min(float(info.max), fmax) * 0.99
    out = rng.uniform(lo, hi, size=x.shape)
    edges = np.array([0.0, -0.0, 0.5, -0.5, 0.99, -0.99, 1.5, -1.5, 2.5, -2.5, 7.9, -7.9, 1e-40])
    edges = edges[(edges >= lo - 0.99) & (edges <= hi)]
    mask = rng.random(x.shape) < 0.5
    out[mask] = rng.choice(edges, size=int(np.count_nonzero(mask)))
    return out.astype(x.dtype)


def fix_inputs(spec: Spec, dt: DType, xs: Arr, arg: Any, rng: np.random.Generator) -> Arr:
    """Keep inputs inside the op's defined domain (no integer division by zero, ...)."""
    if spec.op is Op.CAST and dt.kind == "f" and arg.kind in "ui":
        xs[0] = cast_to_int_inputs(xs[0], arg, rng)
    if spec.op is Op.DIV and dt.kind in "ui":  # never issued: x // 0 and MIN // -1
        x, y = xs
        y[y == 0] = 1
        if dt.kind == "i":
            y[(x == np.iinfo(x.dtype).min) & (y == -1)] = 2
    return xs


def make_inputs(
    spec: Spec, dt: DType, shape: Shape | None, call: Call, rng: np.random.Generator
) -> Arr:
    """The host inputs of one call; ``shape=None`` gives the grid of all edge-value pairs."""
    dts = in_dtypes(spec, dt)
    if shape is None:
        pool = edge_pool(dt, spec.finite)
        k = len(pool)
        if spec.op is Op.WHERE:
            xs = [np.arange(k * k) % 3 == 0, np.repeat(pool, k), np.tile(pool, k)]
        else:
            xs = [np.repeat(pool, k ** (spec.arity - 1)), np.tile(pool, k)][: spec.arity]
        xs = [np.array(x) for x in xs]
    else:
        shapes: Sequence[Shape] = call.shapes if call.shapes is not None else (shape,) * spec.arity
        xs = [
            sample(d, s, rng, edge_pool(d, spec.finite)) if d == dt else random_values(d, s, rng)
            for d, s in zip(dts, shapes)
        ]
    return fix_inputs(spec, dt, xs, call.arg, rng)


#: THE reference table of the conformance suite: every op it checks against a reference, keyed
#: by op (required ops: :data:`SPECS`; optional ops:
#: :data:`idrak.testing._optional_reference.OPTIONAL_SPECS`)
REFERENCES: dict[Op, Spec | OptionalSpec] = {**SPECS, **OPTIONAL_SPECS}
