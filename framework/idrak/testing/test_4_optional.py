"""Layer 4, optional: every optional fast path against idrak's own decomposition of it.

The reference is the decomposition the frontend uses when a backend does not declare the op,
evaluated on idrak's NumPy backend with every optional op hidden, in float64 for floating
dtypes and rounded to the op's dtype. Per (op, dtype) the backend can hold:

* ``native`` (the op is declared) — ``Backend.run`` of the op, on C-contiguous and transposed
  inputs, matches the reference within the op's tolerance, and the frontend's Tensor method
  records the native op;
* ``decomposed`` (not declared) — the Tensor method on the device records no such op (even where
  the backend has a method of that name) and its result, computed with the backend's required
  ops, matches the reference within the decomposition's published accuracy.

RANDOM_BITS has its own layer (``random``). A backend that fuses (``fusion_support()``, see
:mod:`idrak.engine.fusion`) also gets ``FUSED``: :func:`idrak.testing.fused_checks.check_fused`
must find no problem.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from idrak.contract.backend import Backend
from idrak.contract.dtypes import DType, bfloat16, bool_, float64, int64
from idrak.contract.ops import ELEMENTWISE as OPTIONAL_ELEMENTWISE
from idrak.contract.ops import OPS, REQUIRED, Capabilities, Op
from idrak.testing._compare import ConformanceFailure, compare, snippet
from idrak.testing._optional_reference import OPTIONAL_SPECS
from idrak.testing._run import check_run
from idrak.testing._session import Check, Session, core_deps, parametrize, rng_for
from idrak.testing._values import literal, np_dtype, value_code
from idrak.testing.tolerances import Tolerance

#: the optional ops that are elementwise (failures are reduced to the failing elements)
ELEMENTWISE = OPTIONAL_ELEMENTWISE & frozenset(OPTIONAL_SPECS)


class DecomposedBackend(Backend):
    """A backend with every optional op hidden: the frontend runs idrak's decompositions on it."""

    def __init__(self, inner: Backend) -> None:
        self.inner, self.name = inner, f"{inner.name}_decomposed"

    def capabilities(self) -> Capabilities:
        c = self.inner.capabilities()
        return dataclasses.replace(
            c,
            name=self.name,
            optional_ops=frozenset(),
            op_dtypes={op: d for op, d in c.op_dtypes.items() if op in REQUIRED},
        )

    def from_numpy(self, array: np.ndarray, device_index: int = 0) -> Any:
        return self.inner.from_numpy(array, device_index)

    def to_numpy(self, buffer: Any) -> np.ndarray:
        return self.inner.to_numpy(buffer)

    def __getattr__(self, name: str) -> Any:  # the op methods
        return getattr(self.inner, name)


def reference_device(s: Session) -> Any:
    """A device running idrak's decompositions on the NumPy backend (cached per session)."""
    from idrak.runtime.devices import Device

    if "decomposed" not in s.cache:
        s.cache["decomposed"] = Device(
            "numpy_decomposed", 0, DecomposedBackend(s.reference_backend())
        )
    return s.cache["decomposed"]


def _checks(s: Session) -> list[Check]:
    out = []
    for op in OPTIONAL_SPECS:
        for dt in s.dtypes:
            if dt is bfloat16 or dt not in OPS[op].dtypes:
                continue
            if s.supports(op, dt):
                deps = (
                    f"runtime:roundtrip:{dt.name}:values",
                    "runtime:roundtrip:int64:values",
                    f"primitive:PERMUTE:{dt.name}:values",
                    "runtime:capabilities:*",
                )
                out.append(
                    Check("optional", op.name, dt.name, "native", deps, {"op": op, "dt": dt})
                )
            else:
                out.append(
                    Check(
                        "optional",
                        op.name,
                        dt.name,
                        "decomposed",
                        core_deps([dt, bool_, int64], optional=False),
                        {"op": op, "dt": dt},
                    )
                )
    return out


def _fused_checks(s: Session) -> list[Check]:
    if s.backend.fusion is None:
        return []
    return [Check("optional", "FUSED", "-", "fusion", core_deps(s.dtypes, optional=False))]


def pytest_generate_tests(metafunc: Any) -> None:
    make = _fused_checks if metafunc.function.__name__ == "test_fused" else _checks
    parametrize(metafunc, make, empty="the backend does not fuse kernels (no fusion_support())")


# reference ----------------------------------------------------------------------------------------
def _frontend(op: Op, ts: list[Any], arg: Any, dev: Any) -> Any:
    import idrak

    if op is Op.ARANGE:
        start, stop, step, dt = arg
        return idrak.arange(start, stop, step, dtype=dt, device=dev)
    call = OPTIONAL_SPECS[op].call
    assert call is not None
    return call(ts, arg)


def _code(op: Op, arg: Any, device: str) -> str:
    if op is Op.ARANGE:
        start, stop, step, dt = arg
        return (
            f"idrak.arange({start!r}, {stop!r}, {step!r}, dtype={value_code(dt)}, "
            f"device={device!r})"
        )
    return OPTIONAL_SPECS[op].code.format(a=arg)


def reference(
    s: Session, op: Op, xs: list[np.ndarray], arg: Any, dt: DType, rounded: bool = True
) -> np.ndarray:
    """idrak's decomposition of ``op`` on the NumPy backend, in float64 for floats."""
    import idrak

    dev = reference_device(s)
    work = [x.astype(np.float64) if x.dtype.kind == "f" else x for x in xs]
    if op is Op.ARANGE and dt.kind == "f":
        arg = (*arg[:3], float64)
    out = _frontend(op, [idrak.tensor(x, device=dev) for x in work], arg, dev).numpy()
    if not rounded:
        return np.asarray(out)
    with np.errstate(all="ignore"):
        return np.asarray(out).astype(np_dtype(dt))


def _reference_of(s: Session, op: Op, arg: Any, dt: DType, xs: list[np.ndarray]) -> np.ndarray:
    return reference(s, op, xs, arg, dt)


def _scale(s: Session, op: Op, arg: Any, dt: DType) -> Callable[[list[np.ndarray]], Any] | None:
    if OPTIONAL_SPECS[op].accumulates:  # errors relative to the sum of |terms|
        return lambda ys: reference(
            s, op, [np.abs(y) if y.dtype.kind == "f" else y for y in ys], arg, dt, rounded=False
        )
    return None


def _native_tol(s: Session, op: Op, dt: DType) -> Tolerance:
    # a float64 reference is computed in float64 itself: allow for its own error as well
    t = s.tol(op, dt)
    if dt is not float64:
        return t
    d = s.tol(op, dt, decomposed=True)
    return Tolerance(max(t.rtol, d.rtol), max(t.atol, d.atol))


def _ops_in(t: Any) -> set[Op]:
    """The ops in the unrealized graph of tensor ``t``."""
    stack, seen, ops = [t.lazy], set(), set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.op is not None:
            ops.add(n.op)
        stack.extend(n.srcs)
    return ops


def _uses(t: Any, op: Op) -> bool:
    """Whether ``op`` is in the unrealized graph of tensor ``t``."""
    return op in _ops_in(t)


def _decomposed_tol(s: Session, op: Op, dt: DType, used: set[Op]) -> tuple[Tolerance, bool]:
    """The tolerance of ``op``'s decomposition at ``dt`` and whether to check signed zeros.

    A relaxation granted to a primitive the decomposition runs carries over (first-order error
    propagation): its ``rtol`` adds to the relative tolerance, and to the absolute one too (a
    relaxed value of magnitude 1, e.g. ``exp(0)``, feeds results near 0, e.g. ``tanh(0)``); the
    sign of a zero result is then not checked.
    """
    base = s.tol(op, dt, decomposed=True)
    granted = [r for p in used if (r := s.expect.relaxed(p, dt.name)) is not None]
    if not granted:
        return base, True
    rtol = base.rtol + sum(r.rtol for r in granted)
    atol = base.atol + sum(r.atol + r.rtol for r in granted)
    return Tolerance(rtol, atol), False


def test_optional(check: Check) -> None:
    """Native: Backend.run vs the decomposition. Decomposed: the Tensor method vs the same."""
    import idrak

    s, op, dt = check.s, check.data["op"], check.data["dt"]
    native = check.kind == "native"
    for xs, arg in OPTIONAL_SPECS[op].cases(op, dt, rng_for(check)):
        ts = [idrak.tensor(x, device=s.name) for x in xs]
        y = _frontend(op, ts, arg, s.name)
        body = [f"x{i} = idrak.tensor({literal(x)}, device={s.name!r})" for i, x in enumerate(xs)]
        body.append(f"y = {_code(op, arg, s.name)}")
        if native != _uses(y, op) and op is not Op.ARANGE:
            check.repro = snippet(check.key, s.name, body + ["print(y.lazy)"])
            raise ConformanceFailure(
                f"{op.name} is {'' if native else 'not '}declared for {dt.name}, but the Tensor "
                f"method {'did not record' if native else 'recorded'} it",
                check.repro,
            )
        if native:
            layouts = [["C"] * len(xs)] + (
                [["T"] + ["C"] * (len(xs) - 1)] if xs and xs[0].ndim >= 2 and xs[0].size else []
            )
            want_fn = functools.partial(_reference_of, s, op, arg, dt)
            for lays in layouts:
                check_run(
                    check,
                    op,
                    xs,
                    lays,
                    arg,
                    dt,
                    want_fn,
                    _native_tol(s, op, dt),
                    _scale(s, op, arg, dt),
                    op is not Op.GATHER,
                    op in ELEMENTWISE,
                )
            continue
        want = reference(s, op, xs, arg, dt)
        check.repro = snippet(
            check.key,
            s.name,
            body
            + [
                "got = y.numpy()",
                f"want = {literal(want)}",
                'print("got: ", repr(got))',
                'print("want:", repr(want))',
            ],
        )
        tol, signed_zero = _decomposed_tol(s, op, dt, _ops_in(y))
        got = y.numpy()
        scale = _scale(s, op, arg, dt)
        msg = compare(
            got,
            want,
            tol,
            scale(xs) if scale is not None else None,
            signed_zero and op is not Op.GATHER,
            xs if op in ELEMENTWISE else None,
        )
        if msg is not None:
            raise ConformanceFailure(
                f"{op.name} {dt.name} through idrak's decomposition: {msg}", check.repro
            )


def test_fused(check: Check) -> None:
    """The backend's fused kernels (``fusion_support()``) agree with running op by op."""
    from idrak.testing.fused_checks import check_fused

    s = check.s
    check.repro = snippet(
        check.key,
        s.name,
        ["from idrak.testing.fused_checks import check_fused", "", "print(check_fused(be))"],
    )
    try:
        problems = check_fused(s.backend)
    except ModuleNotFoundError as e:  # an idrak build whose fusion check is not in place yet
        if not (e.name or "").startswith("idrak."):
            raise
        pytest.skip(f"idrak's fused-kernel check is not available in this build: {e}")
    if problems:
        raise ConformanceFailure("FUSED: " + "; ".join(problems), check.repro)
