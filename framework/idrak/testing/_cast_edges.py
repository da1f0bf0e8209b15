"""The CAST edge tables: inputs per (source, target) pair where conversions commonly go wrong.

* float -> int: the exact ends of the target's range (``-128.0 -> int8`` is -128, not a
  symmetric -127), the largest source value below them, and fractions that truncate toward zero;
* float -> narrower float: the target's subnormals (not flushed to zero), its largest finite
  value and the first value that overflows, ties (round half to even), and values just past a
  tie by bits only the source holds (a conversion through an intermediate format rounds twice
  and lands on the tie's even neighbour: ``1 + 2**-11 + 2**-40`` float64 -> float16 is
  ``1 + 2**-10``);
* int -> float: integers the target cannot hold exactly, including ones that round twice
  through float64 (``2**60 + 2**36 + 1`` int64 -> float32 is ``2**60 + 2**37``);
* -> bool: NaN, -0.0 and subnormals.

Every value is representable in the source dtype and has a defined result (out-of-range float ->
int and NaN -> int are undefined and not in the table); the reference is NumPy's one-step
conversion.
"""

from __future__ import annotations

import numpy as np

from idrak.contract.dtypes import DType
from idrak.testing._values import np_dtype

__all__ = ["cast_edges"]


def _exact(values: list[float | int], nd: np.dtype) -> list[float | int]:
    """The values that ``nd`` holds exactly (int tables are Python ints)."""
    out = []
    for v in values:
        with np.errstate(all="ignore"):
            held = np.array(v, dtype=object).astype(nd) if nd.kind in "ui" else nd.type(v)
        if nd.kind == "f" and isinstance(v, float) and float(held) == v:
            out.append(v)
        elif nd.kind in "ui" and isinstance(v, int) and int(held) == v:
            out.append(v)
    return out


def _float_to_int(src: np.dtype, dst: np.dtype) -> list[float]:
    info = np.iinfo(dst)
    vals: list[float] = [0.0, -0.0, 0.99, 0.5, 1.0, 1.5, 2.5]
    if info.min < 0:
        vals += [-0.99, -0.5, -1.0, -1.5, -2.5]
    for end in (float(info.min), float(info.max)):
        v = src.type(end)
        # the float nearest the end that is inside the range
        while abs(float(v)) > abs(end) or (end < 0 < float(v)):
            v = np.nextafter(v, src.type(0))
        if np.isfinite(v):
            vals += [float(v), float(np.nextafter(v, src.type(0)))]
            if abs(end) >= 1:
                vals.append(float(v) - np.sign(end) * 0.5)  # inside, truncates toward zero
    finfo = np.finfo(src)
    vals = [v for v in vals if abs(v) <= float(finfo.max) and info.min - 1 < v < info.max + 1]
    return _exact(vals, src)


def _float_to_float(src: np.dtype, dst: np.dtype) -> list[float]:
    fi = np.finfo(dst)
    m = fi.nmant  # explicit mantissa bits of the target
    tiny, sub = float(fi.smallest_normal), float(fi.smallest_subnormal)
    low = 2.0 ** -(np.finfo(src).nmant + 1)  # below the target's bits, inside the source's
    vals = [
        sub,
        3 * sub,
        tiny - sub,  # the largest subnormal
        tiny,
        sub / 2,  # tie between 0 and the smallest subnormal: 0
        sub / 2 + sub * low * 64,  # just past it: the smallest subnormal
        1.5 * sub,  # tie: 2 sub (even)
        1 + 2.0 ** -(m + 1),  # tie: 1
        1 + 3 * 2.0 ** -(m + 1),  # tie: up to even
        1 + 2.0 ** -(m + 1) + 2.0 ** -(m + 1) * low * 2 ** (m + 6),  # past a tie, low bits only
        1 + 2.0 ** -(m + 1) + 2.0**-40,
        float(fi.max),
        float(fi.max) * (1 + 2.0 ** -(m + 2)),  # rounds down to max
        float(fi.max) * (1 + 2.0 ** -(m + 1)),  # tie at the overflow threshold: inf
        float(fi.max) * 2,
    ]
    vals = [v for v in vals if v != 0 and np.isfinite(v)]
    vals += [-v for v in vals]
    vals += [0.0, -0.0, float("inf"), float("-inf"), float("nan")]
    return _exact(vals, src)


def _int_to_float(src: np.dtype, dst: np.dtype) -> list[int]:
    m = np.finfo(dst).nmant + 1
    vals = [0, 1, 2**m, 2**m + 1, 2**m + 3, 2**m - 1, 2 ** (m + 1) + 2]
    vals += [2**60 + 2**36 + 1, 2**62 + 2**38 + 1, 2**31 - 1, 2**63 - 1, 2**53 + 1]
    vals += [int(np.finfo(dst).max) if dst.itemsize == 2 else 0, 65519, 65520]
    info = np.iinfo(src)
    vals += [int(info.min), int(info.max)]
    vals += [-v for v in vals]
    return sorted({v for v in vals if info.min <= v <= info.max})


def cast_edges(src: DType, dst: DType) -> np.ndarray:
    """The edge table of CAST ``src -> dst`` (empty where the pair has none)."""
    s, d = np_dtype(src), np_dtype(dst)
    vals: list[float] | list[int]
    if d.kind == "b" and s.kind == "f":
        vals = _exact([0.0, -0.0, float("nan"), float(np.finfo(s).smallest_subnormal)], s)
    elif s.kind == "f" and d.kind in "ui":
        vals = _float_to_int(s, d)
    elif s.kind == "f" and d.kind == "f" and d.itemsize < s.itemsize:
        vals = _float_to_float(s, d)
    elif s.kind in "ui" and d.kind == "f":
        vals = _int_to_float(s, d)
    else:
        return np.zeros(0, dtype=s)
    return np.array(vals, dtype=object).astype(s) if s.kind in "ui" else np.array(vals, dtype=s)
