"""Layer ``determinism``: every required op, repeated on the same inputs, gives the same bits.

A backend that is wrong once in a few hundred calls (a race, an uninitialised buffer) passes or
fails the value checks by chance, and the failure may surface in a later layer under another
op's name. Here each (op, dtype) runs :data:`REPEATS` times on one input of 4,099 elements; any
difference between two runs is reported as nondeterminism of that op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.dtypes import bfloat16
from idrak.contract.ops import Op
from idrak.testing._compare import ConformanceFailure, run_snippet
from idrak.testing._reference import SPECS, Call, make_inputs
from idrak.testing._session import Check, Session, parametrize, rng_for
from idrak.testing._values import place

#: runs per (op, dtype)
REPEATS = 48
SHAPE = (1, 4099)


def _checks(s: Session) -> list[Check]:
    out = []
    for op, spec in SPECS.items():
        for dt in s.dtypes:
            if dt is bfloat16 or dt.kind not in spec.kinds or not s.supports(op, dt):
                continue
            dst = next((d for d in s.dtypes if d is not dt and d is not bfloat16), dt)
            deps = (f"primitive:{op.name}:{dt.name}*:values",)
            data = {"op": op, "dt": dt, "dst": dst if op is Op.CAST else None}
            out.append(Check("determinism", op.name, dt.name, "repeat", deps, data))
    return out


def pytest_generate_tests(metafunc: Any) -> None:
    parametrize(metafunc, _checks)


def test_repeat(check: Check) -> None:
    """The same call, :data:`REPEATS` times: bit-identical results."""
    s, spec, dt, dst = check.s, SPECS[check.data["op"]], check.data["dt"], check.data["dst"]
    be = s.backend
    call = Call(dst) if dst is not None else spec.args(SHAPE, dt)[0]
    xs = make_inputs(spec, dt, SHAPE, call, rng_for(check))
    placed = [place(be, x) for x in xs]
    bufs = tuple(p.buf for p in placed)
    check.repro = run_snippet(
        check.key, s.name, spec.op, [p.code for p in placed], call.arg, dt, None
    )
    first = np.ascontiguousarray(be.to_numpy(be.run(spec.op, bufs, call.arg, dt, 0)))
    for i in range(1, REPEATS):
        got = np.ascontiguousarray(be.to_numpy(be.run(spec.op, bufs, call.arg, dt, 0)))
        if got.shape != first.shape or got.tobytes() != first.tobytes():
            diff = int(np.count_nonzero(got != first)) if got.shape == first.shape else -1
            raise ConformanceFailure(
                f"NONDETERMINISTIC: {spec.op.name} {dt.name} gave a different result on run "
                f"{i + 1} of the same inputs than on run 1 ({diff} element(s) differ)",
                check.repro,
            )
