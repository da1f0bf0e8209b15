"""Differential fuzzing of the elementwise Tensor ops against torch: unary math, binary
arithmetic with broadcasting and type promotion, comparisons, Python-scalar operands (both sides),
clamp, where, masked_fill, lerp, isclose. See docs/fuzzing.md for the exclusions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _fuzz_engine import Case, check_case
from _fuzz_strategies import ALL, FLOATS, INTS, NUMERIC, arrays, broadcast_pair, shapes
from hypothesis import given
from hypothesis import strategies as st

UNARY_FLOAT = (
    "exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh cosh tanh "
    "asinh acosh atanh sigmoid erf erfc reciprocal relu"
).split()
UNARY_ANY = (
    "abs neg ceil floor round trunc frac sign square isnan isinf isfinite logical_not".split()
)
BINARY = (
    "add sub mul div true_divide floor_divide remainder fmod pow maximum minimum atan2 copysign "
    "logaddexp eq ne lt le gt ge"
).split()
OPERATORS = "+ - * / // % ** == != < <= > >=".split()
FLOAT_ONLY_BINARY = {"atan2", "copysign", "logaddexp"}
#: ops whose sign of a zero result torch defines (IEEE: the sign follows the operand)
SIGNED_ZERO = {"neg", "abs", "copysign", "mul", "*", "div", "/", "true_divide", "trunc"}
#: ops built from a division (rounding grows with |a / b|: docs/fuzzing.md)
INT_DIVIDE = {"floor_divide", "remainder", "fmod", "//", "%"}


def _unary(op: str, dtypes: tuple[str, ...]) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        dt = draw(st.sampled_from(dtypes))
        finite = draw(st.booleans())
        a = draw(arrays(dt, draw(shapes()), finite=finite))
        # abs ceil floor round trunc frac relu on bool and frac on ints raise in both
        if op in ("sin", "cos", "tan") and dt != "bool":
            a = np.clip(a, -100, 100)  # float32 argument reduction differs for huge arguments
        return Case("unary", f"a.{op}()", {"a": a}, grad=("a",), signed_zero=op in SIGNED_ZERO)

    return build


def _fix_operands(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the inputs whose difference from torch is documented in docs/fuzzing.md."""
    if op in INT_DIVIDE:  # composed from a division: rounding grows with |a / b|
        a, b = (np.clip(x, -100, 100) if x.dtype.kind in "fi" else x for x in (a, b))
        if b.dtype.kind == "f":
            b = np.where(np.abs(b) < 0.1, np.ones_like(b), b)
    if op in ("div", "/", "true_divide") and b.dtype.kind == "f":  # b * b underflows
        b = np.where((b != 0) & (np.abs(b) < 1e-100), np.ones_like(b), b)
    if op in ("pow", "**") and b.dtype.kind == "i":  # 0 ** -2**31: inf gradient (torch 0)
        b = np.clip(b, -20, 20)
    if op in INT_DIVIDE and (b.dtype.kind == "f" or a.dtype.kind == "f"):
        b = np.where(b == 0, np.ones_like(b), b)  # the gradient at x % 0 (docs/fuzzing.md)
    return a, b


def _binary(op: str, operator: bool) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        sa, sb = draw(broadcast_pair())
        dtypes = FLOATS if op in FLOAT_ONLY_BINARY else ALL
        da, db = draw(st.sampled_from(dtypes)), draw(st.sampled_from(dtypes))
        finite = draw(st.booleans())
        a = draw(arrays(da, sa, finite=finite))
        b = draw(arrays(db, sb, finite=finite))
        a, b = _fix_operands(op, a, b)
        expr = f"a {op} b" if operator else f"a.{op}(b)"
        tol = 100.0 if op in INT_DIVIDE else 1.0
        return Case(
            "binary",
            expr,
            tol=tol,
            arrays={"a": a, "b": b},
            grad=("a", "b"),
            signed_zero=op in SIGNED_ZERO,
        )

    return build


SCALARS = (2, -3, 0, 1, 2.5, -0.5, -0.0, float("inf"), float("nan"), True, False)


def _scalar(op: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        dt = draw(st.sampled_from(ALL))
        a = draw(arrays(dt, draw(shapes()), finite=draw(st.booleans())))
        s = draw(st.sampled_from(SCALARS))
        reflected = draw(st.booleans())
        if op in INT_DIVIDE:
            zero = s == 0 and dt in FLOATS  # the gradient at x % 0 (docs/fuzzing.md)
            if zero or (isinstance(s, float) and np.isnan(s)):
                s = 1  # the gradient at x % nan (docs/fuzzing.md)
            if dt != "bool":
                a = np.clip(a, -1e4, 1e4)
        lit = repr(s) if not (isinstance(s, float) and not np.isfinite(s)) else f"float('{s}')"
        expr = f"{lit} {op} a" if reflected else f"a {op} {lit}"
        return Case("scalar-operand", expr, {"a": a}, grad=("a",), signed_zero=op in SIGNED_ZERO)

    return build


def _clamp(draw: Any) -> Case:
    dt = draw(st.sampled_from(NUMERIC))
    a = draw(arrays(dt, draw(shapes()), finite=draw(st.booleans())))
    lo = draw(st.sampled_from((None, -1, 0, -2.5)))
    hi = draw(st.sampled_from((None, 1, 3, 0.5)))
    if draw(st.booleans()):
        return Case("clamp", f"a.clamp(min={lo!r}, max={hi!r})", {"a": a}, grad=("a",))
    b = draw(arrays(dt, a.shape, finite=draw(st.booleans())))
    return Case("clamp", "a.clamp(min=b)", {"a": a, "b": b}, grad=("a", "b"))


def _where(draw: Any) -> Case:
    sa, sb = draw(broadcast_pair())
    dt = draw(st.sampled_from(NUMERIC))
    a = draw(arrays(dt, sa))
    b = draw(arrays(dt, sb))
    m = draw(arrays("bool", draw(st.sampled_from((sa, sb)))))
    if draw(st.booleans()):
        return Case("where", "lib.where(m, a, b)", {"m": m, "a": a, "b": b}, grad=("a", "b"))
    v = draw(st.sampled_from((0.0, -1.5, float("-inf"), 7)))
    lit = repr(v) if np.isfinite(v) else "float('-inf')"
    return Case("where", f"a.masked_fill(m, {lit})", {"m": m, "a": a}, grad=("a",))


def _lerp(draw: Any) -> Case:
    sa, sb = draw(broadcast_pair())
    dt = draw(st.sampled_from(FLOATS))
    a, b = draw(arrays(dt, sa)), draw(arrays(dt, sb))
    w = draw(st.sampled_from((0.0, 0.25, 1.0, 2.0)))
    return Case("lerp", f"a.lerp(b, {w!r})", {"a": a, "b": b}, grad=("a", "b"))


def _isclose(draw: Any) -> Case:
    sa, sb = draw(broadcast_pair())
    dt = draw(st.sampled_from(FLOATS))
    a, b = draw(arrays(dt, sa)), draw(arrays(dt, sb))
    eq = draw(st.booleans())
    fn = draw(st.sampled_from(("isclose", "allclose")))
    if fn == "allclose":
        b = b if sa == sb else np.broadcast_to(b, np.broadcast_shapes(sa, sb)).copy()
        a = np.broadcast_to(a, b.shape).copy()
    return Case("isclose", f"a.{fn}(b, equal_nan={eq})", {"a": a, "b": b})


def _bool_logic(op: str) -> Callable[[Any], Case]:
    """``& | ^ ~`` on bool and integer tensors (each operand's dtype drawn separately)."""

    def build(draw: Any) -> Case:
        sa, sb = draw(broadcast_pair())
        kinds = ("bool",) + INTS
        a = draw(arrays(draw(st.sampled_from(kinds)), sa))
        b = draw(arrays(draw(st.sampled_from(kinds)), sb))
        if op == "~":
            return Case("bool-logic", "~a", {"a": a})
        return Case("bool-logic", f"a {op} b", {"a": a, "b": b})

    return build


OPS: dict[str, Callable[[Any], Case]] = {}
OPS.update({f"bool.{op}": _bool_logic(op) for op in ("&", "|", "^", "~")})
OPS.update({f"unary.{op}": _unary(op, ALL) for op in UNARY_FLOAT})
OPS.update({f"unary.{op}": _unary(op, ALL) for op in UNARY_ANY})
OPS.update({f"binary.{op}": _binary(op, False) for op in BINARY})
OPS.update({f"operator.{op}": _binary(op, True) for op in OPERATORS})
OPS.update({f"scalar.{op}": _scalar(op) for op in OPERATORS})
OPS.update({"clamp": _clamp, "where": _where, "lerp": _lerp, "isclose": _isclose})


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_fuzz_elementwise(name: str, data: st.DataObject) -> None:
    check_case(OPS[name](data.draw))
