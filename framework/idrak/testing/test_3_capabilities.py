"""Layer 3, capabilities: what a backend does NOT declare must raise ``NotSupportedError``.

(What it declares must pass: that is every other layer.) Checks:

* ``undeclared`` per op — ``Backend.run`` of the op at every dtype it does not declare (every
  dtype for an undeclared optional op; every undeclared target dtype for CAST) raises
  :class:`idrak.errors.NotSupportedError` naming the backend, the op and the dtype;
* ``tensor`` — creating a tensor of an undeclared dtype on the device, or casting to one, raises
  it too (never a silent downcast);
* ``relaxations`` — every relaxed tolerance lies within its bound
  (:data:`idrak.testing.tolerances.MAX_RELAXATION`);
* ``methods`` — lists op methods that exist but are not declared (the frontend then uses the
  decomposition; the optional layer checks that it does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from idrak.contract.dtypes import ALL_DTYPES, DType, bfloat16, float32
from idrak.contract.ops import BINARY, OPTIONAL, UNARY, Op
from idrak.errors import NotSupportedError
from idrak.testing._compare import ConformanceFailure, snippet
from idrak.testing._session import Check, Session, parametrize
from idrak.testing._values import dtype_code, np_dtype, value_code

_ARITY = {
    Op.WHERE: 3,
    Op.SCATTER_ADD: 3,
    Op.GATHER: 2,
    Op.MATMUL: 2,
    Op.CONV2D: 2,
    Op.FULL: 0,
    Op.ARANGE: 0,
    Op.RANDOM_BITS: 0,
}
TESTS = {
    "undeclared": "test_undeclared",
    "tensor": "test_tensor_dtypes",
    "relaxations": "test_relaxations",
    "methods": "test_methods",
}


def _arity(op: Op) -> int:
    return _ARITY.get(op, 2 if op in BINARY else 1)


def _arg(op: Op, dt: DType) -> Any:
    """A well-formed argument of ``op`` for (2, 2) inputs of dtype ``dt``."""
    return {
        Op.SUM: (0,),
        Op.REDUCE_MAX: (0,),
        Op.RESHAPE: (4,),
        Op.PERMUTE: (1, 0),
        Op.EXPAND: (2, 2),
        Op.PAD: (((0, 1), (0, 0)), 0),
        Op.SHRINK: ((0, 1), (0, 2)),
        Op.FLIP: (0,),
        Op.FULL: ((2, 2), 0, dt),
        Op.CAST: dt,
        Op.GATHER: 0,
        Op.SCATTER_ADD: 0,
        Op.ARANGE: (0, 4, 1, dt),
        Op.RANDOM_BITS: (4, 0, 0, 0),
        Op.CONV2D: ((1, 1), (0, 0), (1, 1), 1),
    }.get(op)


def _holder(s: Session) -> DType:
    """A dtype the backend holds, for dummy inputs of undeclared-dtype calls."""
    return float32 if float32 in s.caps.dtypes else next(d for d in s.dtypes if d is not bfloat16)


def _checks(s: Session) -> list[Check]:
    base = ("runtime:capabilities:*", f"runtime:roundtrip:{_holder(s).name}:values")
    out = []
    for op in Op:
        if op.name == "FUSED":  # not dispatched through run(): see idrak.engine.fusion
            continue
        todo = [d for d in ALL_DTYPES if not s.supports(op, d)]
        if todo:
            out.append(
                Check("capabilities", op.name, "-", "undeclared", base, {"op": op, "dtypes": todo})
            )
    out.append(Check("capabilities", "tensor", "-", "undeclared-dtypes", base))
    out.append(Check("capabilities", "relaxations", "-", "bounds"))
    out.append(Check("capabilities", "methods", "-", "undeclared"))
    return out


def pytest_generate_tests(metafunc: Any) -> None:
    name = metafunc.function.__name__
    parametrize(
        metafunc, lambda s: [c for c in _checks(s) if TESTS.get(c.op, TESTS["undeclared"]) == name]
    )


def _expect_not_supported(
    check: Check, what: str, op_name: str | None, dtype: str, fn: Callable[..., Any], *args: Any
) -> None:
    """``fn(*args)`` must raise NotSupportedError naming the backend, ``op_name`` and ``dtype``."""
    try:
        res = fn(*args)
    except NotSupportedError as e:
        if (
            e.backend != check.s.name
            or (op_name and e.op != op_name)
            or (e.dtype != dtype and dtype not in str(e))
        ):
            raise ConformanceFailure(
                f"{what}: NotSupportedError does not name the backend, op "
                f"and dtype ({check.s.name!r}, {op_name}, {dtype}): {e}",
                check.repro,
            ) from None
        return
    except Exception as e:
        raise ConformanceFailure(
            f"{what} raised {type(e).__name__}: {e}; it must raise idrak.errors.NotSupportedError",
            check.repro,
        ) from None
    raise ConformanceFailure(
        f"{what} returned {type(res).__name__} instead of raising idrak.errors.NotSupportedError",
        check.repro,
    )


def test_undeclared(check: Check) -> None:
    """Backend.run of an undeclared (op, dtype) raises NotSupportedError."""
    s, op = check.s, check.data["op"]
    be, hold = s.backend, _holder(s)
    x = np.ones((2, 2), dtype=np_dtype(hold))
    for dt in check.data["dtypes"]:
        if op is Op.CAST:  # the target is what is undeclared; the source is declared
            src, arg = hold, dt
        else:
            src, arg = dt, _arg(op, dt)
        n = _arity(op)
        srcs = "(" + ", ".join(["x"] * n) + ("," if n == 1 else "") + ")"
        check.repro = snippet(
            f"{check.key} {dt.name}",
            s.name,
            [
                f"x = be.from_numpy(np.ones((2, 2), dtype=np.{hold.name}))",
                f"be.run(Op.{op.name}, {srcs}, {value_code(arg)}, {dtype_code(src)}, 0)"
                "  # must raise idrak.errors.NotSupportedError",
            ],
        )
        bufs = tuple(be.from_numpy(x) for _ in range(n))
        _expect_not_supported(
            check,
            f"Backend.run({op.name}) at undeclared dtype {dt.name}",
            op.name,
            dt.name,
            be.run,
            op,
            bufs,
            arg,
            src,
            0,
        )


def test_tensor_dtypes(check: Check) -> None:
    """Tensors of undeclared dtypes cannot be created on the device, nor cast to."""
    import idrak

    s = check.s
    undeclared = [d for d in ALL_DTYPES if d not in s.caps.dtypes]
    if not undeclared:
        pytest.skip(f"backend {s.name!r} declares every dtype")
    src = _holder(s)
    for dt in undeclared:
        if dt is bfloat16:  # NumPy has no bfloat16: create it with a FULL instead
            check.repro = snippet(
                check.key,
                s.name,
                [
                    f"idrak.zeros(2, dtype=idrak.bfloat16, device={s.name!r}).realize()"
                    "  # must raise NotSupportedError"
                ],
            )
            _expect_not_supported(
                check,
                f"zeros(dtype={dt.name}) on {s.name}",
                None,
                dt.name,
                lambda d: idrak.zeros(2, dtype=d, device=s.name).realize(),
                dt,
            )
        else:
            check.repro = snippet(
                check.key,
                s.name,
                [
                    f"idrak.tensor(np.zeros(2, dtype=np.{dt.name}), device={s.name!r})"
                    "  # must raise NotSupportedError"
                ],
            )
            _expect_not_supported(
                check,
                f"tensor(dtype={dt.name}) on {s.name}",
                None,
                dt.name,
                idrak.tensor,
                np.zeros(2, dtype=np_dtype(dt)),
                None,
                s.name,
            )
        check.repro = snippet(
            check.key,
            s.name,
            [
                f"t = idrak.ones(2, dtype={dtype_code(src)}, device={s.name!r})",
                f"t.cast({dtype_code(dt)}).realize()  # must raise NotSupportedError",
            ],
        )
        _expect_not_supported(
            check,
            f"cast to {dt.name} on {s.name}",
            "CAST",
            dt.name,
            lambda d: idrak.ones(2, dtype=src, device=s.name).cast(d).realize(),
            dt,
        )


def test_relaxations(check: Check) -> None:
    """Relaxed tolerances stay within the published bounds."""
    bad = [r for r in check.s.expect.relaxations if r.error]
    if bad:
        raise ConformanceFailure(
            "relaxations refused: "
            + "; ".join(
                f"{r.op} {r.dtype} rtol={r.requested.rtol:g} atol={r.requested.atol:g} "
                f"({r.source}): {r.error}"
                for r in bad
            )
        )


def test_methods(check: Check) -> None:
    """Op methods that exist without being declared are listed in the report."""
    s = check.s
    extra = sorted(
        op.name
        for op in OPTIONAL | UNARY
        if op not in s.caps.ops
        and op.name != "FUSED"  # declared by fusion_support(), not capabilities
        and callable(getattr(s.backend, op.method, None))
    )
    if extra:
        s.notes.append(
            f"methods for {', '.join(extra)} exist but are not declared: the frontend "
            "uses idrak's decompositions for them (checked in the optional layer)"
        )
