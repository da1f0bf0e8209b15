"""Running one op through ``Backend.run`` and judging the result (primitive and optional layers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from idrak.contract.dtypes import DType
from idrak.contract.ops import Op
from idrak.testing._compare import ConformanceFailure, compare, mismatches, run_snippet
from idrak.testing._session import Check
from idrak.testing._values import logical, place
from idrak.testing.tolerances import Tolerance

__all__ = ["check_run"]


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def check_run(
    check: Check,
    op: Op,
    xs: Sequence[np.ndarray],
    layouts: Sequence[str],
    arg: Any,
    dtype: DType,
    want_fn: Callable[[list[np.ndarray]], np.ndarray],
    tol: Tolerance,
    scale: Callable[[list[np.ndarray]], Any] | None = None,
    signed_zero: bool = True,
    elementwise: bool = False,
) -> None:
    """``be.run(op, inputs, arg, dtype, 0)`` must equal ``want_fn(inputs)`` within ``tol``.

    ``xs`` are host inputs, placed on the backend in ``layouts`` (a "bcast" input takes the
    values of its first row). Also checks that the op leaves its inputs unchanged. On a mismatch
    of an ``elementwise`` op, the repro is cut down to the failing elements when that still
    fails, so it is short.

    Raises:
        ConformanceFailure: wrong result or modified input, with a repro snippet.
    """
    s = check.s
    be = s.backend
    xs = [logical(x, lay) for x, lay in zip(xs, layouts)]
    title = f"{check.key} arg={arg!r}"
    placed = []
    for x, lay in zip(xs, layouts):
        p = place(be, x, lay)
        placed.append(p)
        check.repro = run_snippet(
            title + " (building inputs)", s.name, op, [q.code for q in placed], arg, dtype, None
        )
    want = want_fn(list(xs))
    repro = run_snippet(title, s.name, op, [p.code for p in placed], arg, dtype, want)
    check.repro = repro
    before = [_bits(be.to_numpy(p.buf)) for p in placed]
    got = be.to_numpy(be.run(op, tuple(p.buf for p in placed), arg, dtype, 0))
    sc = scale(list(xs)) if scale is not None else None
    msg = compare(got, want, tol, sc, signed_zero, list(xs) if elementwise else None)
    if msg is not None:
        if (
            elementwise
            and isinstance(got, np.ndarray)
            and got.shape == want.shape
            and got.dtype == want.dtype
        ):
            repro = (
                _reduced(check, op, list(xs), arg, dtype, got, want, want_fn, tol, sc, signed_zero)
                or repro
            )
        where = ", ".join(f"x{i}: {lay}" for i, lay in enumerate(layouts) if lay != "C")
        raise ConformanceFailure(
            f"{op.name} {dtype.name}{' (' + where + ')' if where else ''} arg={arg!r}: {msg}", repro
        )
    after = [_bits(be.to_numpy(p.buf)) for p in placed]
    changed = [i for i, (b, a) in enumerate(zip(before, after)) if b != a]
    if changed:
        raise ConformanceFailure(
            f"{op.name} {dtype.name} modified its input(s) {changed}; ops "
            "must not write to their inputs",
            repro,
        )


def _reduced(
    check: Check,
    op: Op,
    xs: list[np.ndarray],
    arg: Any,
    dtype: DType,
    got: np.ndarray,
    want: np.ndarray,
    want_fn: Callable[[list[np.ndarray]], np.ndarray],
    tol: Tolerance,
    scale: Any,
    signed_zero: bool,
) -> str | None:
    """A repro on just the first few failing elements (contiguous 1-d), if it still fails."""
    bad, _ = mismatches(got, want, tol, scale, signed_zero)
    pos = tuple(np.argwhere(bad)[:4].T)
    small = [np.ascontiguousarray(x[pos]) for x in xs]
    be = check.s.backend
    try:
        placed = [place(be, x) for x in small]
        got2 = be.to_numpy(be.run(op, tuple(p.buf for p in placed), arg, dtype, 0))
        want2 = want_fn(small)
        sc2 = None if scale is None else np.broadcast_to(scale, want.shape)[pos]
    except Exception:
        return None
    if compare(got2, want2, tol, sc2, signed_zero) is None:
        return None
    return run_snippet(
        f"{check.key} arg={arg!r}", check.s.name, op, [p.code for p in placed], arg, dtype, want2
    )
