"""Hypothesis strategies of the fuzz suite: shapes, dtypes and values with torch's edge cases.

Shapes include 0-d tensors and 0-size dimensions; values mix ordinary numbers with NaN, +-inf,
-0.0, tiny (subnormal) and huge magnitudes for floats, and the ends of the range for integers.
``finite=True`` draws only finite floats (the cases whose gradients are compared, and the ops
whose NaN behaviour is a documented difference).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
ALL = ("bool", *INTS, *FLOATS)
NUMERIC = (*INTS, *FLOATS)

_SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 3.0)
_NONFINITE = (float("nan"), float("inf"), float("-inf"))


def _extreme(dtype: str) -> tuple[float, ...]:
    fi = np.finfo(dtype)
    return (float(fi.tiny) / 4, -float(fi.tiny), 1e-30, float(fi.max) / 2, -float(fi.max) / 4)


def elements(dtype: str, finite: bool = False, lo: float = -1e4, hi: float = 1e4) -> Any:
    """Scalars of ``dtype``: edge values mixed with ordinary ones in [lo, hi]."""
    if dtype == "bool":
        return st.booleans()
    if dtype in INTS:
        info = np.iinfo(dtype)
        ends = (int(info.min), int(info.min) + 1, int(info.max), int(info.max) - 1)
        return st.one_of(
            st.integers(-20, 20),
            st.integers(max(int(lo), -1000), min(int(hi), 1000)),
            st.sampled_from(ends if lo <= -1e4 and hi >= 1e4 else (0, 1, -1)),
        )
    width = 32 if dtype == "float32" else 64
    plain = st.floats(lo, hi, width=width, allow_nan=False, allow_infinity=False)
    special = [v for v in _SPECIAL if lo <= v <= hi]
    opts = [plain, st.sampled_from(special)] if special else [plain]
    if lo <= -1e4 and hi >= 1e4:
        opts.append(st.sampled_from(_extreme(dtype)))
    if not finite:
        opts.append(st.sampled_from(_NONFINITE))
    return st.one_of(*opts)


def arrays(dtype: str, shape: tuple[int, ...], finite: bool = False, **kw: Any) -> Any:
    """Arrays of ``dtype`` and ``shape`` with :func:`elements` values."""
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype, finite, **kw))


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4) -> Any:
    """Shapes including 0-d and 0-size dimensions."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcast_pair(max_dims: int = 3) -> Any:
    """Two mutually broadcastable shapes (either may be 0-d or have 0-size dims)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_dims, min_side=0, max_side=3
    ).map(lambda s: s.input_shapes)


def distinct(dtype: str, shape: tuple[int, ...]) -> Any:
    """Arrays with pairwise distinct values (for ops whose indices torch leaves unspecified
    on ties: sort, topk, argmax, cummax...)."""
    n = int(np.prod(shape))
    return st.permutations(list(range(n))).map(
        lambda p: (np.array(p, dtype=np.float64).reshape(shape) - n / 2).astype(dtype)
    )


def float_mode(draw: Any, dtypes: tuple[str, ...] = FLOATS) -> tuple[str, bool]:
    """A dtype and whether the values are finite-only (the gradient-checked draws)."""
    return draw(st.sampled_from(dtypes)), draw(st.booleans())
