"""Differential fuzzing of reductions (with dim/keepdim), scans and sorting against torch:
sum mean prod amax amin max min argmax argmin all any std var logsumexp norm, cumsum cumprod
cummax cummin logcumsumexp, sort argsort topk msort. See docs/fuzzing.md for the exclusions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _fuzz_engine import Case, check_case
from _fuzz_strategies import ALL, FLOATS, NUMERIC, arrays, distinct, shapes
from hypothesis import given
from hypothesis import strategies as st

#: reductions: name -> (dtypes, finite-only, takes a tuple of dims)
REDUCE = {
    "sum": (ALL, False, True),
    "mean": (FLOATS, False, True),
    "prod": (NUMERIC, False, False),
    "amax": (NUMERIC, False, True),
    "amin": (NUMERIC, False, True),
    "all": (ALL, False, False),
    "any": (ALL, False, False),
    "std": (FLOATS, False, True),
    "var": (FLOATS, False, True),
    "logsumexp": (FLOATS, False, True),
    "norm": (FLOATS, False, False),
}
#: ops returning (values, indices) along one dim, or indices: need distinct values
INDEXED = ("max", "min", "argmax", "argmin")
SCANS = ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin")


def _dim(draw: Any, ndim: int, tuple_ok: bool) -> Any:
    if ndim == 0:
        return draw(st.sampled_from((None, 0, -1)))
    d = draw(st.integers(-ndim, ndim - 1))
    if tuple_ok and ndim > 1 and draw(st.booleans()):
        return (d, (d + 1) % ndim if d >= 0 else d + ndim - 1 if d + ndim - 1 != d + ndim else 0)
    return draw(st.sampled_from((None, d))) if draw(st.booleans()) else d


def _reduce(op: str) -> Callable[[Any], Case]:
    dtypes, finite_only, tuple_ok = REDUCE[op]

    def build(draw: Any) -> Case:
        dt = draw(st.sampled_from(dtypes))
        shape = draw(shapes())
        if op in ("amax", "amin", "prod", "std", "var", "norm") and draw(st.booleans()):
            a = draw(arrays(dt, shape, lo=-2, hi=2))  # small values: ties, zeros, constants
            a = np.round(a) if dt != "bool" else a
        else:
            a = draw(arrays(dt, shape, finite=finite_only or draw(st.booleans())))
        if op == "prod" and dt != "bool":  # finite values within +-3 (no overflow)
            a = np.where(np.isfinite(a), np.clip(a, -3, 3), a)
        if op == "norm":  # squares that underflow: docs/fuzzing.md
            a = np.where(np.abs(a) < 1e-18, np.zeros_like(a), a)
        d = _dim(draw, a.ndim, tuple_ok)
        keep = draw(st.booleans())
        if op == "prod" and d is None:
            return Case("reduce", "a.prod()", {"a": a}, grad=("a",), tol=10)
        if op == "norm":
            return Case(
                "reduce", f"a.norm(dim={d!r}, keepdim={keep})", {"a": a}, grad=("a",), tol=10
            )
        if d is None and op not in ("std", "var", "logsumexp") and draw(st.booleans()):
            return Case("reduce", f"a.{op}()", {"a": a}, grad=("a",), tol=10)
        if op in ("std", "var"):
            corr = draw(st.sampled_from((0, 1)))
            g = ("a",) if d is None and a.size >= 2 else ()
            return Case(
                "reduce",
                f"a.{op}(dim={d!r}, correction={corr}, keepdim={keep})",
                {"a": a},
                grad=g,
                tol=100,
            )
        if op in ("all", "any") and isinstance(d, tuple):
            d = d[0]
        if d is None and op in ("all", "any"):
            return Case("reduce", f"a.{op}()", {"a": a})
        if d is None and op == "logsumexp":
            d = 0
        return Case("reduce", f"a.{op}(dim={d!r}, keepdim={keep})", {"a": a}, grad=("a",), tol=10)

    return build


def _indexed(op: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        dt = draw(st.sampled_from(NUMERIC))
        if draw(st.booleans()):  # ties and NaN: the first maximum (or NaN) is returned
            a = np.round(draw(arrays(dt, draw(shapes()), lo=-2, hi=2)))
        else:
            a = draw(distinct(dt, draw(shapes())))
        if a.ndim == 0 or draw(st.booleans()):
            return Case("reduce-index", f"a.{op}()", {"a": a}, grad=("a",))
        d = draw(st.integers(-a.ndim, a.ndim - 1))
        keep = draw(st.booleans())
        return Case("reduce-index", f"a.{op}(dim={d}, keepdim={keep})", {"a": a}, grad=("a",))

    return build


def _scan(op: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        float_only = op == "logcumsumexp"
        dt = draw(st.sampled_from(FLOATS if float_only else NUMERIC))
        shape = draw(shapes())
        if op in ("cummax", "cummin"):
            a = draw(distinct(dt, shape))
        else:
            a = draw(arrays(dt, shape, finite=draw(st.booleans())))
            if op == "cumprod" and dt != "bool":
                a = np.clip(a, -3, 3)
                a = np.where(a == 0, np.ones_like(a), a) if draw(st.booleans()) else a
        d = draw(st.integers(-max(a.ndim, 1), max(a.ndim, 1) - 1))
        return Case("scan", f"a.{op}(dim={d})", {"a": a}, grad=("a",), tol=10)

    return build


def _sort(op: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        dt = draw(st.sampled_from(NUMERIC))
        a = draw(distinct(dt, draw(shapes())))
        d = draw(st.integers(-max(a.ndim, 1), max(a.ndim, 1) - 1))
        desc = draw(st.booleans())
        if op == "topk":
            n = a.shape[d] if a.ndim else 1
            k = draw(st.integers(0, n + 1))  # k > size raises in both
            big = draw(st.booleans())
            return Case("sort", f"a.topk({k}, dim={d}, largest={big})", {"a": a}, grad=("a",))
        if op == "msort":
            return Case("sort", "a.msort()", {"a": a}, grad=("a",))
        return Case("sort", f"a.{op}(dim={d}, descending={desc})", {"a": a}, grad=("a",))

    return build


OPS: dict[str, Callable[[Any], Case]] = {}
OPS.update({f"reduce.{op}": _reduce(op) for op in REDUCE})
OPS.update({f"reduce.{op}": _indexed(op) for op in INDEXED})
OPS.update({f"scan.{op}": _scan(op) for op in SCANS})
OPS.update({f"sort.{op}": _sort(op) for op in ("sort", "argsort", "topk", "msort")})


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_fuzz_reduce(name: str, data: st.DataObject) -> None:
    check_case(OPS[name](data.draw))
