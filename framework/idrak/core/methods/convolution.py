"""Convolution and pooling composed from movement ops and MATMUL (the CONV2D decomposition).

``unfold2d`` is im2col written with PAD/SHRINK/RESHAPE: one strided slice of the padded input per
kernel tap, stacked along a new axis. ``conv2d_decomposed`` multiplies those columns by the
flattened weight per group, exactly as ``torch.nn.functional.conv2d`` defines the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor

__all__ = ["conv2d_decomposed", "out_size", "pair", "unfold2d", "window_taps"]


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
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    pad_value: float = 0.0,
    ceil_mode: bool = False,
    overhang_value: float | None = None,
) -> list[Tensor]:
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
        for j in range(kw):
            r = xp._slice_dim(2, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh))
            taps.append(r._slice_dim(3, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
    return taps


def unfold2d(
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    pad_value: float = 0.0,
    ceil_mode: bool = False,
    overhang_value: float | None = None,
) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C, KH*KW, OH, OW), the :func:`window_taps` stacked on
    axis 2."""
    from idrak.core.methods.movement import stack

    taps = window_taps(x, kernel, stride, padding, dilation, pad_value, ceil_mode, overhang_value)
    return stack(taps, dim=2)


def conv2d_decomposed(
    x: Tensor,
    w: Tensor,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> Tensor:
    """CONV2D from movement ops and MATMUL: (N,C,H,W) * (O,C/g,KH,KW) -> (N,O,OH,OW)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    cols = unfold2d(x, (kh, kw), stride, padding, dilation)  # (N, C, K, OH, OW)
    oh, ow = cols.shape[3], cols.shape[4]
    cols = cols.reshape(n, groups, cg * kh * kw, oh * ow)
    wm = w.reshape(1, groups, o // groups, cg * kh * kw)
    out = wm.matmul(cols)  # (N, G, O/G, OH*OW)
    return out.reshape(n, o, oh, ow)
