"""Layer 2, primitive: every required op, at every dtype the backend declares for it, through
``Backend.run`` against a float64 / exact-integer NumPy reference.

Three checks per (op, dtype):

* ``values`` — C-contiguous inputs: 0-d, empty, 2-d and 3-d shapes with about a third edge
  values; the grid of all pairs of edge values (NaN, ±inf, -0.0, denormals, integer extremes that
  wrap); hand-picked cases (floor-division signs, ties and all-equal inputs to MAX, empty sums).
* ``views`` — the same ops on non-contiguous inputs made with the backend's own movement ops
  (transposed, offset window, broadcast, reversed).
* ``property`` — property-based cases from hypothesis (derandomized, so every run is the same).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from idrak.contract.dtypes import DType, bfloat16, bool_
from idrak.contract.ops import Op
from idrak.testing._reference import SPECS, Call, Spec, fix_inputs, make_inputs, reference
from idrak.testing._run import check_run
from idrak.testing._session import Check, Session, parametrize, rng_for
from idrak.testing._values import LAYOUT_OPS, LAYOUTS, np_dtype

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # pragma: no cover - hypothesis is in idrak[test]
    given = None  # type: ignore[assignment]

#: examples per property check (derandomized: the same examples in every run);
#: ``IDRAK_CONFORMANCE_EXAMPLES=200`` makes a more thorough (slower) run
EXAMPLES = int(os.environ.get("IDRAK_CONFORMANCE_EXAMPLES", "12"))
VALUE_SHAPES: tuple[tuple[int, ...], ...] = ((), (0, 3), (3, 4), (2, 3, 4))
VIEW_SHAPES: tuple[tuple[int, ...], ...] = ((3, 4), (2, 3, 4))
KINDS = {"test_values": "values", "test_views": "views", "test_property": "property"}


BF16_NOTE = (
    "bfloat16 is declared; NumPy has no bfloat16, so the suite checks it only in the "
    "runtime layer (through CAST to and from float32), not op by op"
)


def _checks(s: Session) -> list[Check]:
    if bfloat16 in s.caps.dtypes and BF16_NOTE not in s.notes:
        s.notes.append(BF16_NOTE)
    out = []
    for op, spec in SPECS.items():
        for dt in s.dtypes:
            if dt is bfloat16 or dt.kind not in spec.kinds or not s.supports(op, dt):
                continue
            targets = (
                [d for d in s.dtypes if d is not bfloat16 and s.supports(op, d)]
                if op is Op.CAST
                else [None]
            )
            for dst in targets:
                name = f"{dt.name}->{dst.name}" if dst is not None else dt.name
                need = (
                    {dt.name, bool_.name}
                    if op in (Op.WHERE, Op.CMPLT, Op.CMPEQ)
                    else {dt.name} | ({dst.name} if dst is not None else set())
                )
                base = tuple(f"runtime:roundtrip:{d}:values" for d in sorted(need)) + (
                    "runtime:capabilities:*",
                )
                values = Check(
                    "primitive", op.name, name, "values", base, {"op": op, "dt": dt, "dst": dst}
                )
                out.append(values)
                movement = tuple(
                    f"primitive:{m.name}:{d}:values"
                    for m in LAYOUT_OPS.values()
                    for d in sorted(need)
                    if m is not op
                )
                for kind in ("views", "property"):
                    if kind == "views" and spec.arity == 0:
                        continue
                    out.append(
                        Check(
                            "primitive",
                            op.name,
                            name,
                            kind,
                            (values.key, *movement, *base),
                            values.data,
                        )
                    )
    return out


def pytest_generate_tests(metafunc: Any) -> None:
    kind = KINDS.get(metafunc.function.__name__)
    parametrize(metafunc, lambda s: [c for c in _checks(s) if c.kind == kind])


def _run(check: Check, xs: list[np.ndarray], layouts: list[str], arg: Any) -> None:
    spec: Spec = SPECS[check.data["op"]]
    dt: DType = check.data["dt"]
    out_dt = spec.out_dtype(dt, arg)
    check_run(
        check,
        spec.op,
        xs,
        layouts,
        arg,
        dt,
        want_fn=lambda ys: reference(spec, ys, arg, dt),
        tol=check.s.tol(spec.op, out_dt),
        scale=(lambda ys: spec.scale(ys, arg)) if spec.scale else None,  # type: ignore[misc]
        signed_zero=spec.signed_zero,
        elementwise=spec.elementwise,
    )


def _calls(check: Check, shape: tuple[int, ...]) -> list[Call]:
    spec, dt, dst = SPECS[check.data["op"]], check.data["dt"], check.data["dst"]
    return [Call(dst)] if dst is not None else spec.args(shape, dt)


def test_values(check: Check) -> None:
    """C-contiguous inputs of several shapes, the edge-value grid, and hand-picked cases."""
    spec, dt = SPECS[check.data["op"]], check.data["dt"]
    rng = rng_for(check)
    for shape in VALUE_SHAPES:
        for call in _calls(check, shape):
            xs = make_inputs(spec, dt, shape, call, rng)
            _run(check, xs, ["C"] * len(xs), call.arg)
    if spec.edges:
        call = _calls(check, (1,))[0]
        xs = make_inputs(spec, dt, None, call, rng)
        _run(check, xs, ["C"] * len(xs), call.arg)
    if check.data["dst"] is None:
        for xs, arg in spec.special(dt):
            _run(check, [np.array(x) for x in xs], ["C"] * len(xs), arg)


def test_views(check: Check) -> None:
    """Non-contiguous inputs: every input in every non-contiguous layout, mixed."""
    spec, dt = SPECS[check.data["op"]], check.data["dt"]
    rng = rng_for(check)
    layouts = LAYOUTS[1:]
    for shape in VIEW_SHAPES:
        for j, call in enumerate(_calls(check, shape)):
            for rot in range(len(layouts)):
                xs = make_inputs(spec, dt, shape, call, rng)
                lays = [layouts[(j + rot + i) % len(layouts)] for i in range(len(xs))]
                _run(check, xs, lays, call.arg)


# property-based -----------------------------------------------------------------------------------
def _scalar(dt: DType) -> Any:
    if dt.kind == "b":
        return st.booleans()
    if dt.kind in "ui":
        info = np.iinfo(np_dtype(dt))
        return st.integers(int(info.min), int(info.max))
    return st.floats(width=dt.bits, allow_nan=True, allow_infinity=True)  # type: ignore[arg-type]


def _elements(spec: Spec, dt: DType, dst: DType | None, role: int) -> Any:
    if spec.op is Op.WHERE and role == 0:
        return st.booleans()
    if dt.kind == "f":
        if dst is not None and dst.kind in "ui":  # float -> int: only values that fit
            info, fmax = np.iinfo(np_dtype(dst)), float(np.finfo(np_dtype(dt)).max)
            lo = float(np.asarray(max(float(info.min), -fmax) * 0.99, dtype=np_dtype(dt)))
            hi = float(np.asarray(min(float(info.max), fmax) * 0.99, dtype=np_dtype(dt)))
            return hnp.from_dtype(np_dtype(dt), min_value=lo, max_value=hi)
        if spec.finite:
            return hnp.from_dtype(np_dtype(dt), min_value=-1e3, max_value=1e3)
        return hnp.from_dtype(
            np_dtype(dt), allow_nan=True, allow_infinity=True, allow_subnormal=True
        )
    if spec.op is Op.DIV and role == 1:
        return hnp.from_dtype(np_dtype(dt)).filter(lambda v: v != 0)
    return hnp.from_dtype(np_dtype(dt))


def _draw_arg(draw: Any, spec: Spec, dt: DType, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """(arg, input shapes or None) for one example."""
    nd, op = len(shape), spec.op
    if op in (Op.SUM, Op.REDUCE_MAX, Op.FLIP):
        ok = [i for i in range(nd) if op is not Op.REDUCE_MAX or shape[i]]
        return tuple(sorted(draw(st.sets(st.sampled_from(ok)) if ok else st.just(set())))), None
    if op is Op.RESHAPE:
        return draw(st.sampled_from([c.arg for c in spec.args(shape, dt)])), None
    if op is Op.PERMUTE:
        return tuple(draw(st.permutations(range(nd)))), None
    if op is Op.EXPAND:
        ones = draw(st.lists(st.booleans(), min_size=nd, max_size=nd))
        return shape, (tuple(1 if o else s for o, s in zip(ones, shape)),)
    if op is Op.PAD:
        widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape)
        return (widths, draw(_scalar(dt))), None
    if op is Op.SHRINK:
        bounds = []
        for size in shape:
            a = draw(st.integers(0, size))
            bounds.append((a, draw(st.integers(a, size))))
        return tuple(bounds), None
    if op is Op.FULL:
        return (shape, draw(_scalar(dt)), dt), ()
    return None, None


def _property(check: Check, data: Any) -> None:
    spec, dt, dst = SPECS[check.data["op"]], check.data["dt"], check.data["dst"]
    draw = data.draw
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), label="shape")
    arg, shapes = _draw_arg(draw, spec, dt, shape)
    if dst is not None:
        arg = dst
    shapes = shapes if shapes is not None else (shape,) * spec.arity
    xs = [
        draw(
            hnp.arrays(
                np_dtype(bool_ if spec.op is Op.WHERE and i == 0 else dt),
                s,
                elements=_elements(spec, dt, dst, i),
            ),
            label=f"x{i}",
        )
        for i, s in enumerate(shapes)
    ]
    if spec.op is not Op.CAST:
        xs = fix_inputs(spec, dt, [np.array(x) for x in xs], arg, np.random.default_rng(0))
    layouts = ["C"] * len(xs)
    if xs:
        layouts[0] = draw(st.sampled_from(LAYOUTS), label="layout of x0")
    _run(check, [np.array(x) for x in xs], layouts, arg)


if given is not None:

    @settings(
        derandomize=True,
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def test_property(check: Check, data: Any) -> None:
        """Random shapes, values (NaN, inf, denormals included), arguments and layouts."""
        _property(check, data)
else:  # pragma: no cover

    def test_property(check: Check) -> None:
        """Random shapes, values, arguments and layouts (needs hypothesis)."""
        pytest.skip("hypothesis is not installed: pip install hypothesis")
