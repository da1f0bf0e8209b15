"""The FUSED conformance check, :func:`check_fused` (used by the suite and idrak's own tests).

Every case is a small Tensor program. It runs on the backend's device twice, with the fusion pass
off and on, and the values (and, for float cases, the gradients of ``out.sum()`` with respect to
every float input) must agree: exactly for integer and bool results, within a few ulps for
floats. A case marked ``must_fuse`` must actually produce at least one FUSED kernel when the
backend supports every op in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CASES", "Case", "check_fused", "run_case", "run_checks"]

Inputs = tuple[tuple[tuple[int, ...], str], ...]


@dataclass(frozen=True)
class Case:
    """One program: ``fn(*tensors)`` over inputs of the given (shape, dtype name)."""

    name: str
    fn: Callable[..., Any]
    inputs: Inputs
    must_fuse: bool = True
    nan: bool = False  # put NaN (and an inf) in float inputs


def _f(*shapes: tuple[int, ...], dt: str = "float32") -> Inputs:
    return tuple((s, dt) for s in shapes)


A, B = (4, 37), (37,)
CASES: tuple[Case, ...] = (
    Case("chain", lambda x, y: ((x * 2.0 + y).exp() - 1.0) / (y * y + 1.0), _f(A, A)),
    Case(
        "chain_f64",
        lambda x, y: ((x * 2.0 + y).exp() - 1.0) / (y * y + 1.0),
        _f(A, A, dt="float64"),
    ),
    Case("bias_relu", lambda x, b: (x + b).relu() * 3.0, _f(A, B)),
    Case("where_cmp", lambda x, y: _where(x < y, x * y, x - y), _f(A, A)),
    Case("maximum_nan", lambda x, y: x.maximum(y) + x.minimum(y), _f(A, A), nan=True),
    Case("unary", lambda x: (x.abs() + 1.0).sqrt().log().sin().neg(), _f(A)),
    Case("tanh_sigmoid", lambda x: x.tanh() * x.sigmoid() + x.exp2().log2(), _f(A)),
    Case("pow_recip", lambda x, y: (x.abs() + 0.5) ** y + 1.0 / (x * x + 1.0), _f(A, A)),
    Case("casts", lambda x: (x > 0.0).float() * x + x.int().float() + x.double().float(), _f(A)),
    Case("int32", lambda i, j: (i * 3 + j) // 2 - j.maximum(i), _f(A, A, dt="int32")),
    Case("int64_neg", lambda i, j: -(i * j) + (i == j).long(), _f(A, A, dt="int64")),
    Case("bool_logic", lambda a, b: (a & b) | ~a, _f(A, A, dt="bool")),
    Case("sum_trailing", lambda x, y: ((x - y) * (x - y)).sum(1), _f(A, A)),
    Case("max_trailing", lambda x, y: (x * y + 1.0).amax(0), _f(A, A)),
    Case("mean_all", lambda x, y: (x * y).mean(), _f(A, A)),
    Case("scalar_0d", lambda x, y: x * 2.0 + y * y - 1.0, _f((), ())),
    Case("empty", lambda x, y: (x * 2.0 + y).exp(), _f((0, 3), (0, 3)), must_fuse=False),
    Case("broadcast_scalar", lambda x, s: (x - s) * (x + s), _f(A, ())),
    Case("softmax_rows", lambda x: (x - x.amax(1, keepdim=True)).exp().sum(1), _f(A)),
    Case("nan_inf", lambda x, y: (x * y).exp() + x.sqrt(), _f(A, A), must_fuse=False, nan=True),
)


def _where(c: Any, a: Any, b: Any) -> Any:
    from idrak.core.toplevel import where

    return where(c, a, b)


def _data(case: Case, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for shape, dt in case.inputs:
        if dt == "bool":
            a = rng.random(shape) < 0.5
        elif dt.startswith("int"):
            a = rng.integers(-50, 50, shape).astype(dt)
        else:
            a = rng.standard_normal(shape).astype(dt)
            if case.nan and a.size >= 4:
                a.flat[0], a.flat[1], a.flat[2] = np.nan, np.inf, -0.0
        out.append(np.asarray(a))
    return out


def run_case(
    case: Case, device: str, fused: bool, seed: int = 0
) -> tuple[np.ndarray, list[np.ndarray | None], int]:
    """``(value, gradients, number of FUSED kernels)`` of one case with fusion on or off."""
    from idrak.core.tensor import tensor
    from idrak.engine import debug, fusion

    prev = fusion.set_enabled(fused)
    try:
        with debug.schedule(file=None) as reports:
            xs = [
                tensor(a, device=device, requires_grad=a.dtype.kind == "f")
                for a in _data(case, seed)
            ]
            out = case.fn(*xs)
            value = out.numpy()
            grads: list[np.ndarray | None] = []
            if out.requires_grad:
                out.sum().backward()
                grads = [x.grad.numpy() if x.grad is not None else None for x in xs]
        return value, grads, sum(len(r.fused) for r in reports)
    finally:
        fusion.set_enabled(prev)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    tol = {"float32": 2e-5, "float64": 1e-12}.get(a.dtype.name, 2e-3)
    return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))


def run_checks(backend: Any) -> list[str]:
    """Problems found for ``backend`` (see :func:`idrak.testing.fused_checks.check_fused`)."""
    from idrak.contract.fused import kernel_cache
    from idrak.runtime.devices import device

    sup = backend.fusion
    if sup is None:
        return []
    problems = []
    dev = str(device(backend.name))
    caps = backend.capabilities()
    for case in CASES:
        if any(_dtype(d) not in caps.dtypes for _, d in case.inputs):
            continue
        try:
            v0, g0, _ = run_case(case, dev, fused=False)
        except Exception:  # the program needs something else the backend lacks: not fusion's
            continue
        try:
            v1, g1, n_fused = run_case(case, dev, fused=True)
        except Exception as e:
            problems.append(f"{case.name}: raised {type(e).__name__} when fused: {e}")
            continue
        if not _close(v0, v1):
            problems.append(f"{case.name}: fused value differs from op by op")
        for i, (a, b) in enumerate(zip(g0, g1)):
            if a is None or b is None:
                if (a is None) != (b is None):
                    problems.append(f"{case.name}: gradient of input {i} differs when fused")
            elif not _close(a, b):
                problems.append(f"{case.name}: gradient of input {i} differs when fused")
        if case.must_fuse and n_fused == 0 and all(_dtype(d) in sup.dtypes for _, d in case.inputs):
            problems.append(
                f"{case.name}: nothing was fused although the backend declares fusion_support()"
            )
    cache = kernel_cache(backend.name)
    hits = cache.hits
    run_case(CASES[0], dev, fused=True)
    if cache.hits == hits:
        problems.append("a repeated kernel structure did not hit the kernel cache")
    return problems


def _dtype(name: str) -> Any:
    from idrak.contract.dtypes import to_dtype

    return to_dtype(name)


def check_fused(backend: Any) -> list[str]:
    """Conformance check of a backend's FUSED support: a list of problems (empty when fine).

    Runs :data:`CASES` on the backend's device with fusion on and off and compares values and
    gradients; also checks that a repeated structure hits the kernel cache. A backend without
    :meth:`~idrak.contract.backend.Backend.fusion_support` passes trivially. The cases use small
    arrays, so the backend's ``min_numel`` is lifted while they run.
    """
    from idrak.engine.fusion import any_size

    with any_size():
        return run_checks(backend)
