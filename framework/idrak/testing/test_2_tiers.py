"""Layer 2, primitive (continued): the bug classes small inputs cannot show.

* ``large`` — every required op at every declared dtype on inputs above 2**17 elements, of odd
  sizes just past powers of two (``2**17 + 1`` and ``3 x (2**16 + 3)``): blocked loops that drop
  or mishandle a tail;
* ``accumulation`` — SUM of long float16 / float32 / float64 vectors against an exact (``fsum``)
  reference, within Higham's bound for blocked pairwise summation (see :func:`sum_bound`): a
  backend that accumulates sequentially in the storage precision fails it;
* ``edges`` — CAST edge tables (:mod:`idrak.testing._cast_edges`): the exact ends of the integer
  ranges, subnormals of the target, ties to even, and values that only round correctly when
  converted in one step (double rounding through an intermediate format).

Every result is also checked for its storage dtype (``Backend.dtype_of``) and, for ops that must
return fresh memory, for aliasing its inputs (``Backend.shares_memory``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from idrak.contract.dtypes import DType, bfloat16, float16, float32, float64
from idrak.contract.ops import Op
from idrak.testing._cast_edges import cast_edges
from idrak.testing._compare import ConformanceFailure, run_snippet
from idrak.testing._reference import SPECS, Call, make_inputs, reference
from idrak.testing._run import check_run, storage_and_aliasing
from idrak.testing._session import Check, Session, parametrize, rng_for
from idrak.testing._values import np_dtype, place

#: the large-input shapes: odd element counts just past powers of two, above 2**17
LARGE_SHAPES: tuple[tuple[int, ...], ...] = ((1, 2**17 + 1),)
#: the dtypes of the large tier (one per kind: the tier looks for loop bugs, not dtype bugs)
LARGE_DTYPES = ("bool", "int32", "float32")
#: the length of the accumulation checks' vectors
ACC_N = 2**17 + 3
#: the longest run of terms a backend may add sequentially before combining pairwise
LEAF = 256
KINDS = {"test_large": "large", "test_accumulation": "accumulation", "test_cast_edges": "edges"}


def _base(dts: set[str]) -> tuple[str, ...]:
    return tuple(f"runtime:roundtrip:{d}:values" for d in sorted(dts)) + ("runtime:capabilities:*",)


def _checks(s: Session) -> list[Check]:
    out = []
    dts = [d for d in s.dtypes if d is not bfloat16]
    for op, spec in SPECS.items():
        for dt in dts:
            if dt.kind not in spec.kinds or not s.supports(op, dt):
                continue
            targets = [d for d in dts if s.supports(op, d)] if op is Op.CAST else [None]
            for dst in targets:
                name = f"{dt.name}->{dst.name}" if dst is not None else dt.name
                values = f"primitive:{op.name}:{name}:values"
                data = {"op": op, "dt": dt, "dst": dst}
                need = {dt.name} | ({dst.name} if dst is not None else set())
                if dt.name in LARGE_DTYPES and (dst is None or dst.name in LARGE_DTYPES):
                    out.append(
                        Check("primitive", op.name, name, "large", (values, *_base(need)), data)
                    )
                if dst is not None and cast_edges(dt, dst).size:
                    out.append(
                        Check("primitive", op.name, name, "edges", (values, *_base(need)), data)
                    )
            if op is Op.SUM and dt in (float16, float32, float64):
                out.append(
                    Check(
                        "primitive",
                        "SUM",
                        dt.name,
                        "accumulation",
                        (f"primitive:SUM:{dt.name}:values", *_base({dt.name})),
                        {"op": op, "dt": dt, "dst": None},
                    )
                )
    return out


def pytest_generate_tests(metafunc: Any) -> None:
    kind = KINDS.get(metafunc.function.__name__)
    parametrize(metafunc, lambda s: [c for c in _checks(s) if c.kind == kind])


def _run(check: Check, xs: list[np.ndarray], arg: Any, want: Any = None) -> None:
    spec, dt = SPECS[check.data["op"]], check.data["dt"]
    out_dt = spec.out_dtype(dt, arg)
    check_run(
        check,
        spec.op,
        xs,
        ["C"] * len(xs),
        arg,
        dt,
        want_fn=(lambda ys: reference(spec, ys, arg, dt)) if want is None else (lambda ys: want),
        tol=check.s.tol(spec.op, out_dt),
        scale=(lambda ys: spec.scale(ys, arg)) if spec.scale else None,  # type: ignore[misc]
        signed_zero=spec.signed_zero,
        elementwise=spec.elementwise,
    )


def test_large(check: Check) -> None:
    """Inputs above 2**17 elements, of odd sizes just past powers of two."""
    spec, dt, dst = SPECS[check.data["op"]], check.data["dt"], check.data["dst"]
    rng = rng_for(check)
    for shape in LARGE_SHAPES if spec.arity else LARGE_SHAPES[:1]:
        calls = [Call(dst)] if dst is not None else spec.args(shape, dt)
        for call in calls[:3]:
            xs = make_inputs(spec, dt, shape, call, rng)
            if spec.op is Op.CAST:  # int -> float: the one-step conversion is the reference
                with np.errstate(all="ignore"):
                    want = xs[0].astype(np_dtype(dst)) if dst.kind == "f" else None
                _run(check, xs, call.arg, want)
            else:
                _run(check, xs, call.arg)


def test_cast_edges(check: Check) -> None:
    """CAST of the edge table of its (source, target) pair, against a one-step conversion."""
    dt, dst = check.data["dt"], check.data["dst"]
    x = cast_edges(dt, dst)
    with np.errstate(all="ignore"):
        want = x.astype(np_dtype(dst))
    _run(check, [x], dst, want)


# accumulation -----------------------------------------------------------------------------------
def gamma(k: int, u: float) -> float:
    """Higham's ``gamma_k = k u / (1 - k u)`` (Accuracy and Stability, sec. 3.1)."""
    return k * u / (1 - k * u)


def sum_bound(n: int, dt: DType, absum: float, exact: float) -> float:
    """Largest error allowed for a SUM of ``n`` terms of ``dt``.

    Higham's bound for pairwise summation whose leaves add up to :data:`LEAF` terms in order,
    ``gamma_{LEAF - 1 + ceil(log2(n / LEAF))} * sum|x_i|`` (eq. 4.6 with the leaves' recursive
    bound, u = the unit roundoff of ``dt``), plus the final rounding to ``dt``, ``u |s|``. A
    backend that accumulates all ``n`` terms in order in ``dt`` can reach ``gamma_{n-1}``, far
    beyond it; one that accumulates in a wider type (float32 for float16) stays well inside.
    """
    u = float(np.finfo(np_dtype(dt)).eps) / 2
    k = LEAF - 1 + max(0, math.ceil(math.log2(max(1, n) / LEAF)))
    return gamma(k, u) * absum + u * abs(exact)


def _acc_inputs(dt: DType, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """A large term followed by many terms below half its ulp (sequential accumulation loses
    every one), and uniform positives (it stagnates)."""
    nd = np_dtype(dt)
    big = {"float16": 512.0, "float32": 2.0**24, "float64": 2.0**53}[dt.name]
    small = float(np.spacing(nd.type(big))) * 0.3
    stagnate = np.full(ACC_N, small, dtype=nd)
    stagnate[0] = big
    top = {"float16": 0.25, "float32": 1.0, "float64": 1.0}[dt.name]
    uniform = rng.uniform(0, top, ACC_N).astype(nd)
    return [("a large first term", stagnate), ("uniform positives", uniform)]


def test_accumulation(check: Check) -> None:
    """SUM of long vectors within Higham's blocked-pairwise bound against an exact sum."""
    s, dt = check.s, check.data["dt"]
    be = s.backend
    for what, x in _acc_inputs(dt, rng_for(check)):
        p = place(be, x)
        res = be.run(Op.SUM, (p.buf,), (0,), dt, 0)
        got = be.to_numpy(res)
        exact = math.fsum(x.astype(np.float64).tolist())
        bound = sum_bound(x.size, dt, float(np.abs(x.astype(np.float64)).sum()), exact)
        want = np.array([exact]).astype(np_dtype(dt))
        repro = run_snippet(f"{check.key} ({what})", s.name, Op.SUM, [p.code], (0,), dt, want)
        check.repro = repro
        storage_and_aliasing(check, Op.SUM, res, [p.buf], dt, repro)
        err = abs(float(np.asarray(got, dtype=np.float64).reshape(-1)[0]) - exact)
        if not np.isfinite(err) or err > bound:
            raise ConformanceFailure(
                f"SUM {dt.name} of {x.size} terms ({what}): error {err:.6g} exceeds "
                f"Higham's bound {bound:.6g} for pairwise summation with leaves of {LEAF} "
                f"(got {got.reshape(-1)[0]!r}, exact {exact!r}); accumulate in a wider type or "
                "pairwise",
                repro,
            )
