"""Layer 2, primitive (continued): the bug classes small inputs cannot show.

* ``large`` — every required op at bool, int32 and float32 (one dtype per kind, where declared)
  on inputs of ``2**17 + 1`` elements, an odd size just past a power of two: blocked loops that
  drop or mishandle a tail;
* ``accumulation`` — SUM of long float16 / float32 / float64 vectors against an exact (``fsum``)
  reference, within Higham's bound for blocked pairwise summation (see :func:`sum_bound`): a
  backend that accumulates sequentially in the storage precision fails it; a native MATMUL's
  inner products (layer ``optional``, only where MATMUL is declared) within the bound of any
  summation order, accumulated in at least float32 (see :func:`matmul_bound`);
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
KINDS = {
    "test_large": "large",
    "test_accumulation": "accumulation",
    "test_matmul_accumulation": "accumulation",
    "test_cast_edges": "edges",
}


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
    for dt in (float16, float32, float64):
        if dt in s.dtypes and s.supports(Op.MATMUL, dt):
            deps = (f"optional:MATMUL:{dt.name}:native", *_base({dt.name}))
            data = {"op": Op.MATMUL, "dt": dt, "dst": None}
            out.append(Check("optional", "MATMUL", dt.name, "accumulation", deps, data))
    return out


def pytest_generate_tests(metafunc: Any) -> None:
    name = metafunc.function.__name__
    kind = KINDS.get(name)
    want = "MATMUL" if name == "test_matmul_accumulation" else "SUM"

    def checks(s: Session) -> list[Check]:
        return [
            c for c in _checks(s) if c.kind == kind and (kind != "accumulation" or c.op == want)
        ]

    if want == "MATMUL":
        parametrize(metafunc, checks, empty="MATMUL is not declared: nothing to accumulate")
    else:
        parametrize(metafunc, checks)


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


def matmul_bound(n: int, dt: DType, absum: float, exact: float) -> float:
    """Largest error allowed for one inner product of length ``n`` of a MATMUL in ``dt``.

    GEMM kernels accumulate each inner product in a register, in order, so the bound is that of
    recursive summation in any order, ``gamma_n * sum|a_k b_k|`` (Higham, eq. 3.5), plus the
    final rounding to ``dt``; ``gamma`` uses the unit roundoff of the accumulator, which must be
    at least float32 (float16 products accumulated in float16 exceed it, as libraries' float32
    accumulation of half-precision GEMM does not).
    """
    acc = float32 if dt is float16 else dt
    u_acc = float(np.finfo(np_dtype(acc)).eps) / 2
    u = float(np.finfo(np_dtype(dt)).eps) / 2
    return gamma(n, u_acc) * absum + u * abs(exact)


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


def test_matmul_accumulation(check: Check) -> None:
    """Inner products of a native MATMUL within the same bound, against exact sums.

    ``A`` (2 x n) holds the accumulation inputs (forward and reversed), ``B`` (n x 2) is 1 and
    1/2, so every product is exact and each result is a SUM of n terms as in
    :func:`test_accumulation` (signs are not mixed: cancellation would hide the lost terms),
    within :func:`matmul_bound`.
    """
    s, dt = check.s, check.data["dt"]
    be, rng = s.backend, rng_for(check)
    for what, x in _acc_inputs(dt, rng):
        a = np.stack([x, x[::-1]])
        b = np.ones((x.size, 2), dtype=x.dtype)
        b[:, 1] = 0.5  # exact too: the same sums, halved
        pa, pb = place(be, a), place(be, b)
        res = be.run(Op.MATMUL, (pa.buf, pb.buf), None, dt, 0)
        got = np.asarray(be.to_numpy(res), dtype=np.float64)
        prods = a.astype(np.float64)[:, :, None] * b.astype(np.float64)[None, :, :]
        exact = np.array([[math.fsum(prods[i, :, j].tolist()) for j in range(2)] for i in range(2)])
        absum = np.abs(prods).sum(axis=1)
        want = exact.astype(np_dtype(dt))
        repro = run_snippet(
            f"{check.key} ({what})", s.name, Op.MATMUL, [pa.code, pb.code], None, dt, want
        )
        check.repro = repro
        storage_and_aliasing(check, Op.MATMUL, res, [pa.buf, pb.buf], dt, repro)
        for i in range(2):
            for j in range(2):
                bound = matmul_bound(x.size, dt, float(absum[i, j]), float(exact[i, j]))
                err = abs(float(got[i, j]) - float(exact[i, j]))
                if not np.isfinite(err) or err > bound:
                    raise ConformanceFailure(
                        f"MATMUL {dt.name}, inner dimension {x.size} ({what}), element "
                        f"[{i}, {j}]: error {err:.6g} exceeds Higham's bound {bound:.6g} for "
                        f"summation in any order with a float32 or wider accumulator (got "
                        f"{got[i, j]!r}, exact {exact[i, j]!r}); accumulate in float32 or wider",
                        repro,
                    )
