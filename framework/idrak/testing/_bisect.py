"""Bisection: name the primitive behind a failure that surfaced above the primitive layer.

A check of the autograd or model layer runs a whole computation through the backend; when it
fails while every primitive check it depends on passed, the failure alone does not say which
op is wrong. :func:`culprit` re-runs the failing computation with one primitive at a time
executed by the NumPy reference backend instead (its inputs copied to the host, the result
copied back), fusion off so every primitive runs on its own. The op whose swap makes the check
pass is the one to fix; the suite reports it as the failure's ``culprit``.

Cost: one recording run plus one run per distinct primitive the computation uses (about twenty
for the model layer), paid only by checks that fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from idrak.contract.backend import Backend
from idrak.contract.ops import Op

__all__ = ["culprit"]

#: ops never swapped: FUSED is off during bisection, views and copies carry no arithmetic
_NOT_SWAPPED = frozenset({Op.FUSED})


@contextmanager
def _wrapped(backend: Backend, run: Callable[..., Any]) -> Iterator[None]:
    """Route every ``backend.run`` call through ``run(original, *args)``, fusion off."""
    from idrak.engine import fusion

    original = backend.run
    backend.run = lambda *args: run(original, *args)  # type: ignore[method-assign]
    was = fusion.set_enabled(False)
    try:
        yield
    finally:
        fusion.set_enabled(was)
        del backend.run  # the instance attribute; the class's method shows again


def _passes(attempt: Callable[[], None]) -> bool:
    try:
        attempt()
    except AssertionError:
        return False
    except Exception:  # a swap that makes the computation crash does not vindicate the op
        return False
    return True


def _swap(backend: Backend, reference: Backend, suspect: Op) -> Callable[..., Any]:
    """A ``run`` that executes ``suspect`` on ``reference`` and every other op as before."""

    def run(original: Callable[..., Any], op: Op, srcs: Any, arg: Any, *rest: Any) -> Any:
        if op is not suspect:
            return original(op, srcs, arg, *rest)
        dtype, index = rest
        host = tuple(reference.from_numpy(backend.to_numpy(b)) for b in srcs)
        out = np.ascontiguousarray(reference.to_numpy(reference.run(op, host, arg, dtype, 0)))
        return backend.from_numpy(out, index)

    return run


def culprit(backend: Backend, reference: Backend, attempt: Callable[[], None]) -> str | None:
    """The primitive of ``backend`` whose replacement by ``reference`` makes ``attempt`` pass.

    Args:
        backend: the backend under test (the instance the computation's device uses).
        reference: the NumPy reference backend.
        attempt: re-runs the failing check; raises ``AssertionError`` when it still fails.

    Returns:
        The op's name (``"MUL"``; ``"FUSED"`` when the check passes once fusion is off), or
        None when no single swap makes the check pass (two ops
        wrong at once, or the fault is outside the primitives, e.g. in a transfer).
    """
    used: list[Op] = []

    def record(original: Callable[..., Any], op: Op, *rest: Any) -> Any:
        if op not in used:
            used.append(op)
        return original(op, *rest)

    from idrak.engine import fusion

    fused = fusion.enabled()
    with _wrapped(backend, record):
        if _passes(attempt):  # passes with fusion off, nothing swapped: the fused kernels
            return Op.FUSED.name if fused else None
    for suspect in used:
        if suspect in _NOT_SWAPPED:
            continue
        with _wrapped(backend, _swap(backend, reference, suspect)):
            if _passes(attempt):
                return suspect.name
    return None
