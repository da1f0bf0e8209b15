"""Tensor printing in PyTorch's format (``torch/_tensor_str.py``, default print options).

Floats print with 4 decimals (``1.5000``), as integers with a trailing dot when every finite value
is integral (``1.``), or in scientific notation when the magnitudes span more than 1000x, exceed
1e8 or go below 1e-4; tensors of more than 1000 elements are summarized with ``...`` and 3 edge
items; lines wrap at 80 characters.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["add_suffixes", "format_array"]

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    """Chooses one width and notation for all elements (``torch._tensor_str._Formatter``)."""

    def __init__(self, arr: np.ndarray, floating: bool) -> None:
        self.floating, self.int_mode, self.sci_mode, self.max_width = floating, True, False, 1
        flat = arr.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        vals = flat.astype(np.float64)
        vals = vals[np.isfinite(vals) & (vals != 0)]
        if vals.size == 0:
            return
        amin, amax = float(np.abs(vals).min()), float(np.abs(vals).max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if self.int_mode:
            if amax / amin > 1000.0 or amax > 1.0e8:
                self.sci_mode = True
                self.max_width = max(len(f"{v:.{PRECISION}e}") for v in vals.tolist())
            else:
                self.max_width = max(len(f"{v:.0f}") + 1 for v in vals.tolist())
        elif amax / amin > 1000.0 or amax > 1.0e8 or amin < 1.0e-4:
            self.sci_mode = True
            self.max_width = max(len(f"{v:.{PRECISION}e}") for v in vals.tolist())
        else:
            self.max_width = max(len(f"{v:.{PRECISION}f}") for v in vals.tolist())

    def format(self, value: object) -> str:
        if self.floating:
            v = float(value)  # type: ignore[arg-type]
            if self.sci_mode:
                s = f"{v:{self.max_width}.{PRECISION}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                s = f"{v:.{PRECISION}f}"
        else:
            s = str(value)
        return " " * (self.max_width - len(s)) + s


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements that will be shown (edge items of every dim), for the formatter's width."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, math.floor((LINEWIDTH - indent) / (fmt.max_width + 2)))
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        data = (
            [fmt.format(v) for v in a[:EDGEITEMS].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in a[-EDGEITEMS:].tolist()]
        )
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = (
            [_nested(a[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)]
            + ["..."]
            + [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)]
        )
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def format_array(arr: np.ndarray, floating: bool, indent: int = 7) -> str:
    """The body of a tensor's repr (``[1.5000, 2.0000]``); ``indent`` is the prefix length."""
    if arr.size == 0:
        return "[]"
    summarize = arr.size > THRESHOLD
    fmt = _Formatter(_summarized(arr) if summarize else arr, floating)
    return _nested(arr, indent, summarize, fmt)


def add_suffixes(body: str, suffixes: list[str], indent: int = 7) -> str:
    """``body, suffix, ...)``, wrapping a suffix onto its own line past 80 characters."""
    parts = [body]
    last = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    parts.append(")")
    return "".join(parts)
