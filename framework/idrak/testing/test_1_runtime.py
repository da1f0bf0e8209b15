"""Layer 1, runtime: what every other check stands on.

* ``capabilities`` — the declaration is well formed: the registered name, at least one device,
  the dtypes idrak needs (bool for masks, int64 for indices, a floating type), and a method for
  every declared op;
* ``roundtrip`` per declared dtype — ``from_numpy`` / ``to_numpy`` keep shape, dtype and every
  bit (0-d, empty, edge values), copy in both directions (``values``); accept non-contiguous
  NumPy arrays (``views``); and hold a large array of 2**22 elements (``large``);
* ``synchronize`` — every device index takes data and synchronizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.dtypes import ALL_DTYPES, bfloat16, bool_, float32, int64
from idrak.contract.ops import Op
from idrak.testing._compare import ConformanceFailure, snippet
from idrak.testing._session import Check, Session, parametrize, rng_for
from idrak.testing._values import dtype_code, edge_pool, literal, np_dtype, sample

SHAPES = ((), (0,), (0, 3), (1,), (3, 4), (2, 3, 4), (5, 1, 2, 1))
LARGE = 2**22


def _checks(s: Session) -> list[Check]:
    out = [Check("runtime", "capabilities", "-", "declared")]
    for dt in s.dtypes:
        values = Check(
            "runtime", "roundtrip", dt.name, "values", ("runtime:capabilities:*",), {"dt": dt}
        )
        out.append(values)
        if dt is not bfloat16:
            out += [
                Check("runtime", "roundtrip", dt.name, k, (values.key,), {"dt": dt})
                for k in ("views", "large")
            ]
    first = next(d for d in s.dtypes if d is not bfloat16)
    out.append(
        Check(
            "runtime",
            "synchronize",
            "-",
            "devices",
            (f"runtime:roundtrip:{first.name}:values",),
            {"dt": first},
        )
    )
    return out


TESTS = {
    "capabilities": "test_capabilities",
    "roundtrip": "test_roundtrip",
    "synchronize": "test_synchronize",
}


def pytest_generate_tests(metafunc: Any) -> None:
    name = metafunc.function.__name__
    parametrize(metafunc, lambda s: [c for c in _checks(s) if TESTS[c.op] == name])


def test_capabilities(check: Check) -> None:
    """The declaration is well formed and every declared op has a method."""
    s = check.s
    be, c = s.backend, s.caps
    problems = []
    if be.name != s.name or c.name != s.name:
        problems.append(
            f"registered as {s.name!r} but Backend.name is {be.name!r} and "
            f"capabilities().name is {c.name!r}; all three must agree"
        )
    if c.device_count < 1:
        problems.append(f"device_count is {c.device_count}; an available backend has >= 1")
    missing = [d.name for d in (bool_, int64) if d not in c.dtypes]
    if missing:
        problems.append(
            f"dtypes {missing} are not declared; the frontend needs bool (masks, "
            "comparisons) and int64 (indices, arange)"
        )
    if not any(d.is_floating_point for d in c.dtypes):
        problems.append("no floating dtype is declared")
    unknown = {
        op.name: sorted(d.name for d in ds - set(ALL_DTYPES))
        for op, ds in c.op_dtypes.items()
        if ds - set(ALL_DTYPES)
    }
    if unknown:
        problems.append(f"op_dtypes name unknown dtypes: {unknown}")
    for op in sorted(c.ops, key=lambda o: o.name):
        if not callable(getattr(be, op.method, None)):
            problems.append(
                f"{op.name} is declared but {type(be).__name__}.{op.method}() is missing"
            )
    ok = be.is_available()
    if not (isinstance(ok, tuple) and len(ok) == 2 and ok[0] is True):
        problems.append(f"is_available() returned {ok!r}; expected (True, '')")
    if problems:
        check.repro = snippet(check.key, s.name, ["print(be.capabilities())"])
        raise ConformanceFailure("capabilities: " + "; ".join(problems), check.repro)


def _same(got: Any, want: np.ndarray) -> str | None:
    if not isinstance(got, np.ndarray):
        return f"to_numpy returned {type(got).__name__}, not a numpy.ndarray"
    if got.dtype != want.dtype or got.shape != want.shape:
        return (
            f"got dtype {got.dtype} shape {got.shape}, want dtype {want.dtype} shape {want.shape}"
        )
    if want.dtype.kind == "f":
        nan = np.isnan(want)
        if not np.array_equal(nan, np.isnan(got)):
            return "NaN positions differ"
        g, w = got[~nan], want[~nan]
        if g.tobytes() != w.tobytes():
            bad = np.flatnonzero(g.view(f"u{g.itemsize}") != w.view(f"u{w.itemsize}"))[:5]
            return f"values differ (bitwise): got {g[bad].tolist()}, want {w[bad].tolist()}"
        return None
    if not np.array_equal(got, want):
        return f"values differ: got {got.ravel()[:8].tolist()}, want {want.ravel()[:8].tolist()}"
    return None


def _roundtrip(check: Check, host: np.ndarray, code: str) -> None:
    """``to_numpy(from_numpy(host))`` must equal ``host`` bit for bit; both copy."""
    be = check.s.backend
    check.repro = snippet(
        check.key,
        check.s.name,
        [
            f"a = {code}",
            "got = be.to_numpy(be.from_numpy(a))",
            "print(a.dtype, a.shape, got.dtype, got.shape)",
            "print(np.array_equal(a, got))",
        ],
    )
    want = np.array(host, copy=True)
    src = np.array(host, copy=True)
    buf = be.from_numpy(src)
    if src.size:  # from_numpy must copy: writing to the source later changes nothing
        src.reshape(-1)[0] = src.reshape(-1)[-1] if src.size > 1 else 0
    got = be.to_numpy(buf)
    err = _same(got, want)
    if err is None and got.size:  # to_numpy must copy too: the caller may keep and write it
        got.reshape(-1)[0] = 0
        err = _same(be.to_numpy(buf), want)
        err = None if err is None else f"writing to to_numpy's result changed the buffer: {err}"
    if err is not None:
        raise ConformanceFailure(f"round trip of {host.dtype} {host.shape}: {err}", check.repro)


def test_roundtrip(check: Check) -> None:
    """from_numpy/to_numpy keep shape, dtype and bits, for contiguous, strided and large arrays."""
    dt = check.data["dt"]
    if dt is bfloat16:
        return _bfloat16_roundtrip(check)
    rng = rng_for(check)
    npdt = np_dtype(dt)
    if check.kind == "values":
        for shape in SHAPES:
            a = sample(dt, shape, rng)
            _roundtrip(check, a, literal(a))
        pool = edge_pool(dt)
        _roundtrip(check, pool, literal(pool))
    elif check.kind == "views":
        a = sample(dt, (6, 8), rng)
        row = sample(dt, (1, 8), rng)
        views = {
            "a.T": a.T,
            "a[::2, ::-3]": a[::2, ::-3],
            "a[1:, 2:]": a[1:, 2:],
            "np.asfortranarray(a)": np.asfortranarray(a),
            "np.broadcast_to(row, (5, 8))": np.broadcast_to(row, (5, 8)),
        }
        for expr, v in views.items():
            _roundtrip(check, v, f"(lambda a, row: {expr})({literal(a)}, {literal(row)})")
    else:
        a = (np.arange(LARGE, dtype=np.int64) % 251).astype(npdt)
        _roundtrip(check, a, f"(np.arange({LARGE}) % 251).astype(np.{npdt.name})")


def _bfloat16_roundtrip(check: Check) -> None:
    # NumPy has no bfloat16: values representable in it go in and out through float32
    be = check.s.backend
    a = np.array(
        [0.0, -0.0, 1.0, -2.5, 0.15625, 3.0e38, -1.0e-38, np.inf, np.nan], dtype=np.float32
    )
    a = (a.view(np.uint32) & 0xFFFF0000).view(np.float32)  # exactly representable
    check.repro = snippet(
        check.key,
        check.s.name,
        [
            f"a = {literal(a)}",
            "b = be.run(Op.CAST, (be.from_numpy(a),), idrak.bfloat16, idrak.float32, 0)",
            "print(be.to_numpy(be.run(Op.CAST, (b,), idrak.float32, idrak.bfloat16, 0)))",
        ],
    )
    b = be.run(Op.CAST, (be.from_numpy(a),), bfloat16, float32, 0)
    err = _same(be.to_numpy(be.run(Op.CAST, (b,), float32, bfloat16, 0)), a)
    if err is not None:
        raise ConformanceFailure(f"bfloat16 round trip through float32: {err}", check.repro)


def test_synchronize(check: Check) -> None:
    """Every device index takes data, gives it back, and synchronizes."""
    s = check.s
    be = s.backend
    dt = check.data["dt"]
    a = sample(dt, (3, 4), rng_for(check))
    for i in range(s.caps.device_count):
        check.repro = snippet(
            check.key,
            s.name,
            [
                f"with be.device_context({i}):",
                f"    buf = be.from_numpy({literal(a)}, {i})",
                f"    be.synchronize({i})",
                "    print(be.to_numpy(buf))",
                f"# dtype {dtype_code(dt)}",
            ],
        )
        with be.device_context(i):
            buf = be.from_numpy(a, i)
            be.synchronize(i)
            got = be.to_numpy(buf)
        err = _same(got, a)
        if err is not None:
            raise ConformanceFailure(f"device {i}: {err}", check.repro)
