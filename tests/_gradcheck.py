"""Finite-difference helpers for the gradient tests (float64 throughout).

``numerical_grad`` differentiates any function of NumPy arrays by central differences, so the same
helper checks idrak's VJP rules, higher-order gradients (by differentiating a gradient function)
and Hessian-vector products.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import idrak

Arrays = list[np.ndarray]


def as_list(out: Any) -> list[Any]:
    """A function's result as a list of outputs (tuples and lists are several outputs)."""
    return list(out) if isinstance(out, (tuple, list)) else [out]


def numerical_grad(
    f: Callable[[Arrays], Any],
    inputs: Sequence[np.ndarray],
    cotangents: Sequence[np.ndarray] | None = None,
    wrt: Sequence[int] | None = None,
    eps: float = 1e-6,
) -> Arrays:
    """Gradients of ``sum_k <f(inputs)[k], cotangents[k]>`` by central differences.

    Args:
        f: maps a list of float64 arrays to one array or a list of arrays.
        inputs: the point (arrays are copied, never modified).
        cotangents: one weight array per output; all-ones when omitted.
        wrt: indices of the inputs to differentiate (all when omitted).
        eps: the step; the error is O(eps**2) plus rounding O(1e-16 / eps).

    Returns:
        one float64 array per index in ``wrt``, shaped like that input.
    """
    xs = [np.array(x, dtype=np.float64, copy=True) for x in inputs]
    idx = list(range(len(xs))) if wrt is None else list(wrt)

    def scalar(args: Arrays) -> float:
        outs = [np.asarray(o, dtype=np.float64) for o in as_list(f(args))]
        cts = cotangents if cotangents is not None else [np.ones_like(o) for o in outs]
        return float(sum(np.sum(o * c) for o, c in zip(outs, cts)))

    grads = []
    for i in idx:
        g = np.zeros_like(xs[i])
        flat, gflat = xs[i].reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            up = scalar(xs)
            flat[j] = orig - eps
            down = scalar(xs)
            flat[j] = orig
            gflat[j] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def idrak_numpy_fn(
    fn: Callable[..., Any], device: str, fixed: dict[int, np.ndarray] | None = None
) -> Callable[[Arrays], Any]:
    """Wrap an idrak function of tensors as a function of float64 NumPy arrays (for
    :func:`numerical_grad`). ``fixed`` maps argument positions to arrays passed as-is (indices)."""

    def f(args: Arrays) -> Any:
        with idrak.no_grad():
            ts = [
                idrak.tensor(fixed[i] if fixed and i in fixed else a, device=device)
                for i, a in enumerate(args)
            ]
            return [o.numpy() for o in as_list(fn(*ts))]

    return f


def assert_close(actual: Any, expected: Any, rtol: float, atol: float, what: str = "") -> None:
    """``np.testing.assert_allclose`` with NaN == NaN and shape equality, naming ``what``."""
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if (
        a.dtype == np.bool_
        or e.dtype == np.bool_
        or (a.dtype.kind in "iu" and e.dtype.kind in "iu")
    ):
        np.testing.assert_array_equal(a, e, err_msg=what)
        return
    np.testing.assert_allclose(
        a.astype(np.float64),
        e.astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=what,
    )
