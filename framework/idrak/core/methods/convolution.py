"""Convolution and pooling composed from movement ops and MATMUL (the CONV2D decomposition).

``unfold2d`` is im2col written with PAD/SHRINK/RESHAPE: one strided slice of the padded input per
kernel tap, stacked along a new axis. ``conv2d_decomposed`` multiplies those columns by the
flattened weight per group, exactly as ``torch.nn.functional.conv2d`` defines the result.
"""

from __future__ import annotations

from typing import Any, TypeVar

from idrak.core.methods.base import TensorBase
from idrak.core.methods.movement import stack

T = TypeVar("T", bound=TensorBase)

__all__ = ["conv2d_decomposed", "out_size", "pair", "unfold2d"]


def pair(v: Any, name: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(1, 2)`` stays. Raises ``ValueError`` naming ``name``."""
    if isinstance(v, int):
        return (v, v)
    t = tuple(v)
    if len(t) != 2 or not all(isinstance(i, int) for i in t):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return (int(t[0]), int(t[1]))


def out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    if num < 0:
        return 0
    q = -(-num // s) if ceil_mode else num // s
    if ceil_mode and q * s >= n + p:  # the last window must start inside the input or left pad
        q -= 1
    return q + 1


def unfold2d(
    x: T,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    pad_value: float = 0.0,
    ceil_mode: bool = False,
) -> T:
    """im2col: (N, C, H, W) -> (N, C, KH*KW, OH, OW)."""
    h, w = x.shape[2], x.shape[3]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh = out_size(h, kh, sh, ph, dh, ceil_mode)
    ow = out_size(w, kw, sw, pw, dw, ceil_mode)
    # extra right/bottom padding so every strided window of a ceil-mode output exists
    eh = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    ew = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    xp = x._pad(((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), pad_value)
    cols = []
    for i in range(kh):
        for j in range(kw):
            r = xp._slice_dim(2, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh))
            cols.append(r._slice_dim(3, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
    return stack(cols, dim=2)


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
