"""Running one op through ``Backend.run`` and judging the result (primitive and optional layers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from idrak.contract.dtypes import DType, to_dtype
from idrak.contract.ops import OPS, Op
from idrak.testing._compare import ConformanceFailure, compare, mismatches, run_snippet
from idrak.testing._session import Check
from idrak.testing._values import logical, place
from idrak.testing.tolerances import Tolerance

__all__ = ["check_run", "storage_and_aliasing"]


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
    res = be.run(op, tuple(p.buf for p in placed), arg, dtype, 0)
    got = be.to_numpy(res)
    sc = scale(list(xs)) if scale is not None else None
    msg = compare(got, want, tol, sc, signed_zero, list(xs) if elementwise else None)
    if msg is not None:
        again = be.to_numpy(be.run(op, tuple(p.buf for p in placed), arg, dtype, 0))
        if (
            isinstance(got, np.ndarray)
            and isinstance(again, np.ndarray)
            and (got.shape != again.shape or _bits(got) != _bits(again))
        ):
            msg = (
                f"NONDETERMINISTIC: {op.name} gave different results on a second run of the same "
                f"inputs; first run: {msg}"
            )
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
    storage_and_aliasing(check, op, res, [p.buf for p in placed], to_dtype(want.dtype), repro)
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


def storage_and_aliasing(
    check: Check, op: Op, res: Any, inputs: Sequence[Any], want: DType, repro: str | None
) -> None:
    """The result buffer is stored in ``want`` (``Backend.dtype_of``) and, unless ``op`` may
    return a view, shares no memory with an input (``Backend.shares_memory``; CONTIGUOUS may
    return its input object itself, never a new view of it).

    Raises:
        ConformanceFailure: wider or other storage, or an alias of an input.
    """
    be = check.s.backend
    stored = be.dtype_of(res)
    if stored is not None and stored != want:
        raise ConformanceFailure(
            f"{op.name} returned a buffer stored as {stored.name}, declared {want.name}: "
            "the backend must store (and compute in) exactly the declared dtype",
            repro,
        )
    if OPS[op].view:
        return
    for i, buf in enumerate(inputs):
        if op is Op.CONTIGUOUS and res is buf:
            continue  # "x itself if it already is one and owns its memory": a new view is not
        if be.shares_memory(res, buf):
            raise ConformanceFailure(
                f"{op.name} returned memory shared with its input x{i}; only ops marked "
                "'may return a view' may alias their inputs (writes through one would show "
                "in the other)",
                repro,
            )
