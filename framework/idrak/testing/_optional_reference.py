"""The conformance suite's references for the optional ops: for each op, the inputs that check it
(random values plus the edge values its decomposition defines), the Tensor call that records it,
whether it accumulates, and the program the autograd layer differentiates. The expected values
are idrak's own decomposition of the op run on the NumPy backend in float64
(``test_4_optional.reference``). Required ops are in :mod:`idrak.testing._reference`;
:data:`idrak.testing._reference.REFERENCES` holds both.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from idrak.contract.dtypes import DType
from idrak.contract.ops import Op
from idrak.testing._programs import M34, PAIR, POS, Program
from idrak.testing._values import edge_pool, np_dtype, sample

__all__ = ["OPTIONAL_SPECS", "Case", "OptionalSpec"]

#: one call: the input arrays and the op's arg
Case = tuple[list[np.ndarray], Any]


@dataclass(frozen=True)
class OptionalSpec:
    """How to check one optional op.

    Attributes:
        op: the op.
        cases: ``cases(op, dt, rng)``: the calls to check at operand dtype ``dt``.
        call: ``call(tensors, arg)``: the Tensor method that records the op (None for a creation
            op, which the suite builds with its factory).
        code: the same call as source, with inputs ``x0, x1, ...`` and the arg as ``{a}``.
        accumulates: errors are measured against the result on ``|inputs|`` (sums of terms).
        grad: the autograd layer's program using the op (``test_5_autograd``); required for
            every op with a VJP rule, None for the others.
    """

    op: Op
    cases: Callable[[Op, DType, np.random.Generator], list[Case]]
    call: Callable[[list[Any], Any], Any] | None
    code: str
    accumulates: bool = False
    grad: Program | None = None


def _arr(npd: Any, *vals: float) -> np.ndarray:
    return np.array(vals, dtype=npd)


def _rand(rng: np.random.Generator, npd: Any, shape: tuple[int, ...], lo: float, hi: float) -> Any:
    return rng.uniform(lo, hi, shape).astype(npd)


def _grid(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    return [np.repeat(a, len(b)), np.tile(b, len(a))]


def _sub(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    pool = edge_pool(dt)
    return [([sample(dt, s, rng), sample(dt, s, rng)], None) for s in ((), (0, 3), (3, 4))] + [
        (_grid(pool, pool), None)
    ]


def _pow(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    npd = np_dtype(dt)
    arr = functools.partial(_arr, npd)
    rand = functools.partial(_rand, rng, npd)
    # no x == 1 with y == NaN, no -0.0 base: there IEEE pow is special-cased
    x = arr(0.0, 0.5, 2.0, 3.7, 9.0, -2.0, -0.5, 1e-3, math.inf, math.nan)
    y = arr(0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5, -2.5, math.nan)
    return [(_grid(x, y), None), ([rand((3, 4), 0.1, 4.0), rand((3, 4), -3.0, 3.0)], None)]


def _tanh(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    npd = np_dtype(dt)
    arr = functools.partial(_arr, npd)
    rand = functools.partial(_rand, rng, npd)
    # |x| >= 0.25 or 0: the decomposition cancels badly near 0
    sign = np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0)
    edges = arr(0.0, -0.0, 0.25, -0.25, 1.0, -1.0, 5.0, 20.0, -100.0, math.inf, -math.inf, math.nan)
    return [
        ([(rand((3, 4), 0.25, 20.0) * sign).astype(npd)], None),
        ([edges], None),
        ([rand((), 0.5, 2.0)], None),
    ]


def _exp2(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    npd = np_dtype(dt)
    arr = functools.partial(_arr, npd)
    rand = functools.partial(_rand, rng, npd)
    # |x| <= 20, and values that overflow / underflow the dtype
    big = {16: 40.0, 32: 200.0}.get(dt.bits, 2000.0)
    edges = arr(0.0, -0.0, 1.0, -1.0, 10.0, -10.0, big, -big, math.inf, -math.inf, math.nan)
    return [([rand((3, 4), -20.0, 20.0)], None), ([edges], None)]


def _log2(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    npd = np_dtype(dt)
    arr = functools.partial(_arr, npd)
    rand = functools.partial(_rand, rng, npd)
    sub = float(np.finfo(npd).smallest_subnormal)
    edges = arr(0.0, -0.0, 1.0, 2.0, 0.5, 1024.0, sub, -1.0, math.inf, math.nan)
    hi = 10.0 if dt.bits == 16 else 13.0  # e**10 < the float16 maximum
    return [
        ([np.exp(rand((3, 4), -7.0, hi).astype(np.float64)).astype(npd)], None),
        ([edges], None),
    ]


def _matmul(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    shapes = [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((1, 4), (4, 1)),
        ((0, 3), (3, 2)),
        ((3, 0), (0, 2)),
    ]
    return [
        (
            [sample(dt, a, rng, edge_pool(dt, True)), sample(dt, b, rng, edge_pool(dt, True))],
            None,
        )
        for a, b in shapes
    ]


def _index(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    spec = [
        ((3, 4), 0, (5, 4)),
        ((3, 4), 1, (3, 6)),
        ((3, 4), 0, (0, 4)),
        ((2, 3, 4), 1, (2, 5, 4)),
    ]
    for xs, dim, ixs in spec:
        if op is Op.GATHER:  # the frontend cuts x to index's extent off `dim`
            xs = tuple(s if i == dim else ixs[i] for i, s in enumerate(xs))
        x = sample(dt, xs, rng, edge_pool(dt, op is Op.SCATTER_ADD))
        idx = rng.integers(0, xs[dim], size=ixs, dtype=np.int64)
        ins = [x, idx] if op is Op.GATHER else [x, idx, sample(dt, ixs, rng, edge_pool(dt, True))]
        cases.append((ins, dim))
    if op is Op.SCATTER_ADD:  # index smaller than x off `dim`
        cases.append(
            (
                [
                    sample(dt, (3, 4), rng, edge_pool(dt, True)),
                    rng.integers(0, 3, (2, 3), dtype=np.int64),
                    sample(dt, (2, 3), rng, edge_pool(dt, True)),
                ],
                0,
            )
        )
    return cases


def _arange(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    args: list[tuple[float, float, float]] = [
        (0, 5, 1),
        (5, 0, -2),
        (0, 0, 1),
        (2, 11, 3),
        (3, 1, 1),
    ]
    if dt.kind == "f":
        args += [(0.0, 1.0, 0.25), (-1.0, 1.0, 0.5), (0.5, -1.0, -0.75)]
    return [([], (*a, dt)) for a in args]


def _conv2d(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    npd = np_dtype(dt)
    rand = functools.partial(_rand, rng, npd)
    one = (1, 1)
    conv = [
        ((one, (0, 0), one, 1), (2, 3, 5, 6), (4, 3, 3, 3)),
        (((2, 1), (1, 2), one, 1), (2, 3, 5, 6), (4, 3, 3, 2)),
        ((one, (1, 1), (2, 1), 1), (1, 2, 6, 5), (3, 2, 2, 3)),
        ((one, (0, 0), one, 3), (2, 3, 4, 4), (6, 1, 3, 3)),
        ((one, (0, 0), one, 1), (2, 3, 4, 4), (5, 3, 1, 1)),
        ((one, (0, 0), one, 1), (0, 3, 4, 4), (2, 3, 3, 3)),
    ]
    return [([rand(xs, -2.0, 2.0), rand(ws, -2.0, 2.0)], arg) for arg, xs, ws in conv]


def _cumsum(op: Op, dt: DType, rng: np.random.Generator) -> list[Case]:
    pool = edge_pool(dt, True)
    return [
        ([sample(dt, (3, 5), rng, pool)], 1),
        ([sample(dt, (6, 4), rng, pool)], 0),
        ([sample(dt, (2, 3, 7), rng, pool)], 2),
        ([sample(dt, (0, 3), rng, pool)], 0),
    ]


#: the optional ops the ``optional`` layer checks (RANDOM_BITS has a layer of its own, FUSED its
#: own check)
OPTIONAL_SPECS: dict[Op, OptionalSpec] = {
    s.op: s
    for s in [
        OptionalSpec(
            Op.SUB, _sub, lambda t, a: t[0].sub(t[1]), "x0.sub(x1)", grad=Program("x0 - x1", PAIR)
        ),
        OptionalSpec(
            Op.POW,
            _pow,
            lambda t, a: t[0].pow(t[1]),
            "x0.pow(x1)",
            grad=Program("x0.pow(x1)", (((3, 4), 0.5, 2.0), ((3, 4), -1.5, 1.5))),
        ),
        OptionalSpec(
            Op.TANH, _tanh, lambda t, a: t[0].tanh(), "x0.tanh()", grad=Program("x0.tanh()", M34)
        ),
        OptionalSpec(
            Op.EXP2, _exp2, lambda t, a: t[0].exp2(), "x0.exp2()", grad=Program("x0.exp2()", M34)
        ),
        OptionalSpec(
            Op.LOG2, _log2, lambda t, a: t[0].log2(), "x0.log2()", grad=Program("x0.log2()", POS)
        ),
        OptionalSpec(
            Op.MATMUL,
            _matmul,
            lambda t, a: t[0].matmul(t[1]),
            "x0.matmul(x1)",
            accumulates=True,
            grad=Program("x0.matmul(x1)", (((3, 4), -2.0, 2.0), ((4, 5), -2.0, 2.0))),
        ),
        OptionalSpec(
            Op.GATHER,
            _index,
            lambda t, a: t[0].gather(a, t[1]),
            "x0.gather({a}, x1)",
            grad=Program(
                "x0.gather(1, c0) * x0.gather(1, c0)", M34, const=lambda r: r.integers(0, 4, (3, 6))
            ),
        ),
        OptionalSpec(
            Op.SCATTER_ADD,
            _index,
            lambda t, a: t[0].scatter_add(a, t[1], t[2]),
            "x0.scatter_add({a}, x1, x2)",
            accumulates=True,
            grad=Program(
                "x0.scatter_add(0, c0, x1 * x1)",
                (((3, 4), -2.0, 2.0), ((5, 4), -2.0, 2.0)),
                const=lambda r: r.integers(0, 3, (5, 4)),
            ),
        ),
        OptionalSpec(
            Op.CUMSUM,
            _cumsum,
            lambda t, a: t[0].cumsum(a, dtype=t[0].dtype),
            "x0.cumsum({a}, dtype=x0.dtype)",
            accumulates=True,
            grad=Program("x0.cumsum(1) * x0.cumsum(0)", M34),
        ),
        OptionalSpec(Op.ARANGE, _arange, None, "idrak.arange(...)"),
        OptionalSpec(
            Op.CONV2D,
            _conv2d,
            lambda t, a: t[0].conv2d(t[1], stride=a[0], padding=a[1], dilation=a[2], groups=a[3]),
            "x0.conv2d(x1, stride={a[0]}, padding={a[1]}, dilation={a[2]}, groups={a[3]})",
            accumulates=True,
            grad=Program(
                "x0.conv2d(x1, padding=1)", (((2, 3, 5, 5), -1.0, 1.0), ((4, 3, 3, 3), -1.0, 1.0))
            ),
        ),
    ]
}
