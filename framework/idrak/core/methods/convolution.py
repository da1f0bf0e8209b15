"""Convolution and pooling composed from movement ops and MATMUL (the CONV2D decomposition).

``unfold2d`` is im2col written with PAD/SHRINK/RESHAPE: one strided slice of the padded input per
kernel tap, stacked along a new axis. ``conv2d_decomposed`` multiplies those columns by the
flattened weight per group, exactly as ``torch.nn.functional.conv2d`` defines the result.
``fold2d`` is the adjoint of ``unfold2d`` (col2im): it scatters a column tensor back onto the
input grid, summing where windows overlap; CONV2D's input gradient is one MATMUL and a fold.
"""

from __future__ import annotations

from typing import Any, TypeVar

from idrak.core.methods.base import TensorBase
from idrak.core.methods.movement import stack

T = TypeVar("T", bound=TensorBase)

__all__ = [
    "conv2d_decomposed",
    "fold2d",
    "fold2d_rows",
    "out_size",
    "pair",
    "unfold2d",
    "window_taps",
]


def pair(v: Any, name: str, low: int | None = None) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(1, 2)`` stays.

    Raises:
        ValueError: ``v`` is not an int or a pair of ints, or (with ``low``) an entry is below
            ``low``; the message names ``name`` and the value.
    """
    if isinstance(v, bool):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    if isinstance(v, int):
        t: tuple[Any, ...] = (v, v)
    else:
        try:
            t = tuple(v)
        except TypeError:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}") from None
    if len(t) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) for i in t):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    if low is not None and min(t) < low:
        what = "positive" if low == 1 else f">= {low}"
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return (int(t[0]), int(t[1]))


def out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """Output length of a window op, torch's formula: ``(n + 2p - d(k-1) - 1) / s + 1`` rounded
    down (up with ``ceil_mode``); may be <= 0, which callers report."""
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    q = -(-num // s) if ceil_mode else num // s
    if ceil_mode and q * s >= n + p:  # the last window must start inside the input or left pad
        q -= 1
    return q + 1


def window_taps(
    x: T,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    pad_value: float = 0.0,
    ceil_mode: bool = False,
    overhang_value: float | None = None,
) -> list[T]:
    """The KH*KW strided slices of the padded input, one per kernel tap in row-major order,
    each (N, C, OH, OW): tap (i, j) of output (y, x) is ``xpad[..., y*sh + i*dh, x*sw + j*dw]``.

    ``padding`` is filled with ``pad_value``; the extra bottom/right cells that ceil-mode
    windows hang over past the padding with ``overhang_value`` (``pad_value`` when None).
    """
    h, w = x.shape[2], x.shape[3]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh = out_size(h, kh, sh, ph, dh, ceil_mode)
    ow = out_size(w, kw, sw, pw, dw, ceil_mode)
    # extra right/bottom padding so every strided window of a ceil-mode output exists
    eh = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    ew = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    ov = pad_value if overhang_value is None else overhang_value
    if ov == pad_value or (eh == 0 and ew == 0):
        xp = x._pad(((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), pad_value)
    else:
        xp = x._pad(((0, 0), (0, 0), (ph, ph), (pw, pw)), pad_value)
        xp = xp._pad(((0, 0), (0, 0), (0, eh), (0, ew)), ov)
    taps = []
    for i in range(kh):
        # one row slice shared by its KW taps: a backward sums the taps' gradients into the
        # row before padding it into the grid (KH grid-sized PADs, not KH*KW)
        r = xp._slice_dim(2, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh))
        for j in range(kw):
            taps.append(r._slice_dim(3, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
    return taps


def unfold2d(
    x: T,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    pad_value: float = 0.0,
    ceil_mode: bool = False,
    overhang_value: float | None = None,
) -> T:
    """im2col: (N, C, H, W) -> (N, C, KH*KW, OH, OW), the :func:`window_taps` stacked on
    axis 2."""
    taps = window_taps(x, kernel, stride, padding, dilation, pad_value, ceil_mode, overhang_value)
    return stack(taps, dim=2)


def conv2d_decomposed(
    x: T,
    w: T,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> T:
    """CONV2D from movement ops and MATMUL: (N,C,H,W) * (O,C/g,KH,KW) -> (N,O,OH,OW)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    cols = unfold2d(x, (kh, kw), stride, padding, dilation)  # (N, C, K, OH, OW)
    oh, ow = cols.shape[3], cols.shape[4]
    cols = cols.reshape(n, groups, cg * kh * kw, oh * ow)
    wm = w.reshape(1, groups, o // groups, cg * kh * kw)
    out = wm.matmul(cols)  # (N, G, O/G, OH*OW)
    return out.reshape(n, o, oh, ow)


def _place(t: T, axis: int, offset: int, size: int) -> T:
    """``t`` put at ``offset`` along ``axis`` of a zero line of length ``size``: PAD where it
    lies inside, SHRINK where it hangs over either end (``offset`` may be negative)."""
    length = t.shape[axis]
    lo, hi = offset, size - offset - length
    if lo < 0 or hi < 0:
        cut = tuple(
            (max(-lo, 0), length - max(-hi, 0)) if a == axis else (0, s)
            for a, s in enumerate(t.shape)
        )
        t = t._shrink(cut)
    return t._pad(
        tuple((max(lo, 0), max(hi, 0)) if a == axis else (0, 0) for a in range(t.ndim)), 0.0
    )


def _sum_taps(x: T, axis: int, shape: tuple[int, ...], to: int, offsets: list[int], size: int) -> T:
    """The sum over ``k`` of slice ``k`` of ``x``'s ``axis``, reshaped to ``shape`` and placed
    at ``offsets[k]`` along axis ``to`` of a zero axis of length ``size`` (:func:`_place`): one
    fold step of col2im."""
    total = None
    xs = x.shape
    for k, off in enumerate(offsets):
        tap = x._shrink(tuple((k, k + 1) if a == axis else (0, s) for a, s in enumerate(xs)))
        tap = _place(tap.reshape(shape), to, off, size)
        total = tap if total is None else total + tap
    assert total is not None
    return total


def fold2d(
    cols: T,
    in_hw: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> T:
    """col2im, the adjoint of :func:`unfold2d`: (N, C, KH, KW, OH, OW) -> (N, C, H, W).

    Tap (i, j) of output pixel (y, x) came from input pixel (y*sh + i*dh - ph, x*sw + j*dw - pw);
    its value is added there, and values that land in the padding are dropped. With
    non-overlapping windows (stride == kernel, dilation 1) the taps interleave into the grid by
    one PERMUTE and RESHAPE. Otherwise the columns are spread by the stride (one PAD of a
    reshaped view) and folded one axis at a time: KW placements (PAD/SHRINK) summed along W, then
    KH along H, KH + KW placements in all instead of KH*KW. Composed of movement ops and ADD, so
    it runs on every backend and differentiates again (its own gradient is an im2col).
    """
    n, c, kh, kw, oh, ow = cols.shape
    h, w = in_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):
        grid = cols.permute(0, 1, 4, 2, 5, 3).reshape(n, c, oh * kh, ow * kw)
        return _place(_place(grid, 2, -ph, h), 3, -pw, w)
    if sh > 1 or sw > 1:  # zeros between the output pixels: OH*sh rows, OW*sw columns
        cols = cols.reshape(n, c, kh, kw, oh, 1, ow, 1)._pad(
            ((0, 0),) * 5 + ((0, sh - 1), (0, 0), (0, sw - 1)), 0.0
        )
        cols = cols.reshape(n, c, kh, kw, oh * sh, ow * sw)
    # (N, C, KH, OH*sh, W): the column taps summed, then the row taps
    rows = _sum_taps(cols, 3, (n, c, kh, oh * sh, ow * sw), 4, [j * dw - pw for j in range(kw)], w)
    return _sum_taps(rows, 2, (n, c, oh * sh, w), 2, [i * dh - ph for i in range(kh)], h)


def fold2d_rows(
    cols: T,
    in_hw: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> T:
    """col2im for stride 1 on full-width rows: (N, C, KH, KW, OH * Wp) -> (N, C, H, W).

    ``cols`` holds each tap's (OH, OW) block laid out in rows of the padded input's width
    ``Wp = W + 2*pw`` (the last ``Wp - OW = dw*(KW-1)`` entries of every row zero, which a
    caller gets by padding the output gradient before its MATMUL). Tap (i, j) of output pixel
    (y, x) lands on padded pixel (y + i*dh, x + j*dw), flat index ``y*Wp + x + i*dh*Wp + j*dw``:
    a shift of the whole flattened block, and no row ever wraps, since ``x + j*dw < Wp``. So
    the fold is KW shifts summed, then KH shifts of the sums, each one PAD/SHRINK of a long
    contiguous axis instead of a PAD per short row, and one crop of the padding.
    """
    n, c, kh, kw, length = cols.shape
    h, w = in_hw
    (ph, pw), (dh, dw) = padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    rows = _sum_taps(cols, 3, (n, c, kh, length), 3, [j * dw for j in range(kw)], length)
    out = _sum_taps(rows, 2, (n, c, length), 2, [i * dh * wp for i in range(kh)], hp * wp)
    out = out.reshape(n, c, hp, wp)
    if ph or pw:
        out = out._shrink(((0, n), (0, c), (ph, ph + h), (pw, pw + w)))
    return out
