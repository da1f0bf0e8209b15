"""Comparing a backend's result with its reference, and the failure a check raises.

A :class:`ConformanceFailure` carries a self-contained Python snippet (``repro``) that reproduces
the failure with the backend; the plugin copies it into the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.ops import Op
from idrak.testing._values import literal, value_code
from idrak.testing.tolerances import Tolerance

__all__ = ["ConformanceFailure", "compare", "describe", "mismatches", "run_snippet", "snippet"]


class ConformanceFailure(AssertionError):
    """A check found a wrong result. ``repro`` reproduces it (Python source)."""

    def __init__(self, message: str, repro: str | None = None) -> None:
        super().__init__(message)
        self.repro = repro


def mismatches(
    got: np.ndarray, want: np.ndarray, tol: Tolerance, scale: Any = None, signed_zero: bool = True
) -> tuple[np.ndarray, str]:
    """Where ``got`` differs from ``want`` beyond ``tol``: (bool mask, what kind of difference).

    Integers and bools must be equal. Floats: NaN where and only where the reference has NaN;
    an infinity exactly; finite values within ``tol.atol + tol.rtol * scale`` (``scale``
    defaults to ``|want|``); and with ``signed_zero``, the sign of a zero result.
    Assumes equal shapes and dtypes (see :func:`compare`).
    """
    if want.dtype.kind != "f":
        return got != want, "value"
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_bad = np.isnan(g) != np.isnan(w)
    if nan_bad.any():
        return nan_bad, "NaN"
    inf = np.isinf(w) | np.isinf(g)
    inf_bad = inf & (g != w)
    if inf_bad.any():
        return inf_bad, "infinity"
    fin = ~(np.isnan(w) | inf)
    ref = np.abs(w)
    if scale is not None:
        with np.errstate(all="ignore"):
            ref = np.maximum(ref, np.broadcast_to(np.asarray(scale, dtype=np.float64), w.shape))
    with np.errstate(all="ignore"):
        err_bad = fin & (np.abs(g - w) > tol.atol + tol.rtol * ref)
    if err_bad.any():
        return err_bad, f"value (rtol {tol.rtol:.3g}, atol {tol.atol:.3g})"
    if signed_zero:
        zero_bad = (w == 0) & (g == 0) & (np.signbit(g) != np.signbit(w))
        if zero_bad.any():
            return zero_bad, "sign of zero"
    return np.zeros(w.shape, dtype=bool), ""


def describe(
    where: np.ndarray,
    got: np.ndarray,
    want: np.ndarray,
    inputs: list[np.ndarray] | None = None,
    limit: int = 5,
) -> str:
    """The first ``limit`` mismatching positions with their inputs, got and want."""
    idx = np.argwhere(where)[:limit]
    lines = []
    for i in idx:
        t = tuple(int(v) for v in i)
        ins = ""
        if inputs is not None:
            parts = [repr(x[t].item()) if x.shape == got.shape else "..." for x in inputs]
            ins = f"inputs ({', '.join(parts)}) -> "
        lines.append(f"  at {t}: {ins}got {got[t].item()!r}, want {want[t].item()!r}")
    return f"{int(np.count_nonzero(where))} of {where.size} differ, first:\n" + "\n".join(lines)


def compare(
    got: Any,
    want: np.ndarray,
    tol: Tolerance,
    scale: Any = None,
    signed_zero: bool = True,
    inputs: list[np.ndarray] | None = None,
) -> str | None:
    """``None`` when ``got`` matches ``want``, else a message saying how it does not."""
    if not isinstance(got, np.ndarray):
        return f"to_numpy returned {type(got).__name__}, not a numpy.ndarray"
    if got.dtype != want.dtype:
        return f"result has dtype {got.dtype}, want {want.dtype}"
    if got.shape != want.shape:
        return f"result has shape {got.shape}, want {want.shape}"
    bad, what = mismatches(got, want, tol, scale, signed_zero)
    if not bad.any():
        return None
    return f"wrong {what}: " + describe(bad, got, want, inputs)


_HEAD = ["import numpy as np", "", "import idrak", "from idrak.contract.ops import Op", ""]


def snippet(title: str, backend: str, body: list[str]) -> str:
    """A runnable script: imports, ``be = idrak.runtime.plugins.get_backend(backend)``, then
    ``body``."""
    return (
        "\n".join(
            [
                f"# idrak conformance repro: {title}",
                *_HEAD,
                f"be = idrak.runtime.plugins.get_backend({backend!r})",
                *body,
            ]
        )
        + "\n"
    )


def run_snippet(
    title: str,
    backend: str,
    op: Op,
    inputs: list[str],
    arg: Any,
    dtype: Any,
    want: np.ndarray | None,
) -> str:
    """A snippet calling ``be.run(op, inputs, arg, dtype, 0)`` and printing got and want.

    ``inputs`` are Python expressions building each input buffer (see ``Placed.code``).
    """
    body = [f"x{i} = {code}" for i, code in enumerate(inputs)]
    srcs = ", ".join(f"x{i}" for i in range(len(inputs)))
    srcs = f"({srcs},)" if len(inputs) == 1 else f"({srcs})"
    body.append(
        f"got = be.to_numpy(be.run(Op.{op.name}, {srcs}, {value_code(arg)}, "
        f"{value_code(dtype)}, 0))"
    )
    if want is not None:
        body += [
            f"want = {literal(want)}",
            'print("got: ", repr(got))',
            'print("want:", repr(want))',
        ]
    else:
        body.append('print("got: ", repr(got))')
    return snippet(title, backend, body)
