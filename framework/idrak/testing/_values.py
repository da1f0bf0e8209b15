"""Inputs of the suite: edge values, random samples, memory layouts, and their Python spelling.

Every input array is also written as Python source (:func:`literal`), so a failing check can print
a snippet that rebuilds the exact input on the backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from idrak.contract.backend import Backend
from idrak.contract.dtypes import DType, to_dtype
from idrak.contract.ops import Op

__all__ = [
    "LAYOUTS",
    "Placed",
    "dtype_code",
    "edge_pool",
    "literal",
    "np_dtype",
    "place",
    "random_values",
    "sample",
    "value_code",
]

#: memory layouts of inputs, made with the backend's own movement ops: C-contiguous, a transposed
#: view (PERMUTE), an offset window (SHRINK), a broadcast (EXPAND) and a reversed view (FLIP)
LAYOUTS = ("C", "T", "slice", "bcast", "flip")


def np_dtype(dt: DType) -> np.dtype[Any]:
    """The NumPy dtype of an idrak dtype (not defined for bfloat16)."""
    return np.dtype(dt.name)


def edge_pool(dt: DType, finite: bool = False) -> np.ndarray:
    """The edge values of ``dt``: signed zeros, NaN, ±inf, denormals, extremes, wrap-around."""
    if dt.kind == "b":
        return np.array([False, True])
    if dt.kind in "ui":
        info = np.iinfo(np_dtype(dt))
        vals: list[float] = [0, 1, 2, 3, 7, 127, int(info.max) - 1, int(info.max)]
        if dt.kind == "i":
            vals += [-1, -2, -7, int(info.min), int(info.min) + 1]
        return np.array(sorted(set(vals)), dtype=np_dtype(dt))
    fi = np.finfo(np_dtype(dt))
    sub = float(fi.smallest_subnormal)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, -7.0, math.pi, 1e-3, sub, -sub, float(fi.tiny)]
    if not finite:
        vals += [math.nan, math.inf, -math.inf, 88.0, -10.0, float(fi.max), -float(fi.max)]
    return np.array(vals, dtype=np_dtype(dt))


def random_values(
    dt: DType, shape: tuple[int, ...], rng: np.random.Generator, scale: float = 4.0
) -> np.ndarray:
    """Random values over the whole range of an integer dtype, or normal * ``scale`` floats."""
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "ui":
        info = np.iinfo(np_dtype(dt))
        return rng.integers(info.min, info.max, size=shape, dtype=np_dtype(dt), endpoint=True)
    return (rng.standard_normal(shape) * scale).astype(np_dtype(dt))


def sample(
    dt: DType, shape: tuple[int, ...], rng: np.random.Generator, pool: np.ndarray | None = None
) -> np.ndarray:
    """Random values of ``shape`` with about a third replaced by values from ``pool``."""
    out = np.array(random_values(dt, shape, rng))
    pool = edge_pool(dt) if pool is None else pool
    mask = rng.random(shape) < 0.35
    out[mask] = rng.choice(pool, size=int(np.count_nonzero(mask)))
    return out


# Python spelling --------------------------------------------------------------------------------
def dtype_code(dt: DType) -> str:
    """``idrak.float32``; ``idrak.bool_`` for bool."""
    return "idrak.bool_" if dt.name == "bool" else f"idrak.{dt.name}"


def _scalar_code(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    f = float(v)
    if math.isnan(f):
        return "np.nan"
    if math.isinf(f):
        return "np.inf" if f > 0 else "-np.inf"
    return repr(f)


def value_code(v: Any) -> str:
    """Python source for an op argument: nested tuples, DTypes, scalars (NaN and inf too)."""
    if isinstance(v, DType):
        return dtype_code(v)
    if isinstance(v, tuple):
        inner = ", ".join(value_code(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, (list, np.ndarray)):
        return literal(np.asarray(v))
    if v is None:
        return "None"
    return _scalar_code(v)


#: arrays larger than this are written into repros as compressed bytes, not nested lists
BIG_LITERAL = 4096


def literal(a: np.ndarray) -> str:
    """``np.array([...], dtype=np.float32)`` rebuilding ``a`` exactly (shape, dtype, values)."""
    dt = a.dtype.name
    np_name = "np.bool_" if dt == "bool" else f"np.{dt}"
    if a.size == 0:
        return f"np.zeros({a.shape}, dtype={np_name})"
    if a.size > BIG_LITERAL:  # large-input checks: the exact bytes, compressed
        import base64
        import zlib

        data = base64.b64encode(zlib.compress(np.ascontiguousarray(a).tobytes(), 1)).decode()
        return (
            f"np.frombuffer(__import__('zlib').decompress(__import__('base64').b64decode("
            f"'{data}')), dtype={np_name}).reshape({a.shape})"
        )

    def nest(x: np.ndarray) -> str:
        if x.ndim == 0:
            return _scalar_code(x.item())
        return "[" + ", ".join(nest(r) for r in x) + "]"

    return f"np.array({nest(a)}, dtype={np_name})"


# placement ---------------------------------------------------------------------------------------
@dataclass
class Placed:
    """An input on the backend: its buffer and the source that rebuilds it (uses ``be``)."""

    buf: Any
    code: str


def logical(a: np.ndarray, layout: str) -> np.ndarray:
    """The values an input has in ``layout`` ("bcast" repeats the first row)."""
    if layout == "bcast" and a.ndim and a.shape[0]:
        return np.ascontiguousarray(np.broadcast_to(a[:1], a.shape))
    return a


def _sentinel(dt: np.dtype[Any]) -> Any:
    # fills the margin of a window: reading outside the window shows up in the result
    if dt.kind == "f":
        return np.nan
    if dt.kind == "b":
        return True
    return np.iinfo(dt).max // 3


def place(be: Backend, a: np.ndarray, layout: str = "C", device_index: int = 0) -> Placed:
    """Put ``a`` on ``be`` so that its logical value is ``a`` (see :func:`logical`).

    Non-contiguous layouts are made with the backend's own movement ops, so they work on any
    backend; a 0-d or empty array always goes in C layout.
    """
    dt = to_dtype(a.dtype)
    dc = dtype_code(dt)
    if layout == "C" or a.ndim == 0 or a.size == 0:
        return Placed(be.from_numpy(a, device_index), f"be.from_numpy({literal(a)})")
    if layout == "T":
        order = tuple(reversed(range(a.ndim)))
        base = np.ascontiguousarray(a.transpose(order))
        buf = be.run(Op.PERMUTE, (be.from_numpy(base, device_index),), order, dt, device_index)
        return Placed(
            buf,
            f"be.run(Op.PERMUTE, (be.from_numpy({literal(base)}),), {value_code(order)}, {dc}, 0)",
        )
    if layout == "slice":
        base = np.full(tuple(s + 3 for s in a.shape), _sentinel(a.dtype), dtype=a.dtype)
        bounds = tuple((1, 1 + s) for s in a.shape)
        base[tuple(slice(lo, hi) for lo, hi in bounds)] = a
        buf = be.run(Op.SHRINK, (be.from_numpy(base, device_index),), bounds, dt, device_index)
        return Placed(
            buf,
            f"be.run(Op.SHRINK, (be.from_numpy({literal(base)}),), {value_code(bounds)}, {dc}, 0)",
        )
    if layout == "bcast":
        row = np.ascontiguousarray(a[:1])
        buf = be.run(Op.EXPAND, (be.from_numpy(row, device_index),), a.shape, dt, device_index)
        return Placed(
            buf,
            f"be.run(Op.EXPAND, (be.from_numpy({literal(row)}),), {value_code(a.shape)}, {dc}, 0)",
        )
    if layout == "flip":
        axes = tuple(range(a.ndim))
        base = np.ascontiguousarray(np.flip(a, axes))
        buf = be.run(Op.FLIP, (be.from_numpy(base, device_index),), axes, dt, device_index)
        return Placed(
            buf, f"be.run(Op.FLIP, (be.from_numpy({literal(base)}),), {value_code(axes)}, {dc}, 0)"
        )
    raise ValueError(f"unknown layout {layout!r}; layouts are {LAYOUTS}")


#: the movement op each non-contiguous layout is made with
LAYOUT_OPS = {"T": Op.PERMUTE, "slice": Op.SHRINK, "bcast": Op.EXPAND, "flip": Op.FLIP}
