"""Tensor methods for neural networks: matmul, conv2d, pooling, linear, dropout."""

from __future__ import annotations

import math
from typing import Any, Self, TypeVar

from idrak.contract.dtypes import result_type
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.core.methods.convolution import out_size, pair, unfold2d, window_taps
from idrak.core.methods.movement import broadcast_shapes, stack
from idrak.errors import ShapeError

T = TypeVar("T", bound=TensorBase)

__all__ = ["NNOpsMixin"]


class NNOpsMixin(TensorBase):
    """Matrix products, convolution, pooling."""

    __slots__ = ()

    def matmul(self, other: TensorBase) -> Self:
        """Matrix product with PyTorch's rules: 1-D operands are promoted and squeezed back,
        batch dimensions broadcast. Shapes (..., m, k) @ (..., k, n) -> (..., m, n).

        Raises:
            ValueError: 0-d operands or mismatched inner sizes (both shapes named).
        """
        if self.ndim == 0 or other.ndim == 0:
            raise ShapeError(
                f"matmul needs operands with >= 1 dim, got shapes {self.shape} and {other.shape}"
            )
        dt = result_type([self.dtype, other.dtype])
        a, b = self.cast(dt), other.cast(dt)
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        if a2.shape[-1] != b2.shape[-2]:
            raise ShapeError(
                f"matmul: shapes {self.shape} and {other.shape} do not align "
                f"({a2.shape[-1]} != {b2.shape[-2]})"
            )
        batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        a2 = a2._broadcast_to(batch + a2.shape[-2:])
        b2 = b2._broadcast_to(batch + b2.shape[-2:])
        shape = batch + (a2.shape[-2], b2.shape[-1])
        out = a2._optional(Op.MATMUL, (a2, b2), None, shape, dt)
        if self.ndim == 1:
            out = out.squeeze(-2)
        if other.ndim == 1:
            out = out.squeeze(-1)
        return out

    def mm(self, other: TensorBase) -> Self:
        return self.matmul(other)

    def dot(self, other: TensorBase) -> Self:
        return (self * other).sum()

    def linear(self, weight: TensorBase, bias: TensorBase | None = None) -> Self:
        """``x @ weight.T + bias``; x (..., in), weight (out, in), bias (out,)."""
        out = self.matmul(weight.transpose(-1, -2))
        return out + bias if bias is not None else out

    def conv2d(
        self,
        weight: TensorBase,
        bias: TensorBase | None = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> Self:
        """2-D cross-correlation like ``torch.nn.functional.conv2d``.

        Shapes: input (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) -> (N, O, OH, OW)
        with OH = (H + 2*ph - dh*(KH-1) - 1)//sh + 1. ``padding`` may be ``"valid"`` or
        ``"same"`` (stride 1). Native CONV2D where the backend declares it, else im2col+MATMUL.

        Raises:
            ValueError: wrong ranks, channel/group mismatch, or an empty output (shapes named).
        """
        x = self
        if x.ndim == 3:
            return x.unsqueeze(0).conv2d(weight, bias, stride, padding, dilation, groups).squeeze(0)
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(
                f"conv2d expects input (N,C,H,W) and weight (O,C/g,KH,KW), got "
                f"{x.shape} and {weight.shape}"
            )
        n, c, h, w = x.shape
        o, cg, kh, kw = weight.shape
        if c % groups or o % groups or c // groups != cg:
            raise ShapeError(
                f"conv2d: input has {c} channels, weight {weight.shape} with "
                f"groups={groups} expects {cg * groups}"
            )
        s, d = pair(stride, "stride", 1), pair(dilation, "dilation", 1)
        if isinstance(padding, str):
            if padding == "valid":
                p = (0, 0)
            elif padding == "same":
                if s != (1, 1):
                    raise ValueError("padding='same' needs stride 1")
                th, tw = d[0] * (kh - 1), d[1] * (kw - 1)
                x = x.pad((tw // 2, tw - tw // 2, th // 2, th - th // 2))
                p = (0, 0)
                n, c, h, w = x.shape
            else:
                raise ValueError(
                    f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
                )
        else:
            p = pair(padding, "padding", 0)
        oh, ow = out_size(h, kh, s[0], p[0], d[0]), out_size(w, kw, s[1], p[1], d[1])
        if oh <= 0 or ow <= 0:
            raise ValueError(
                f"conv2d: input {x.shape} is too small for kernel {(kh, kw)} "
                f"with padding {p} and dilation {d}"
            )
        dt = result_type([x.dtype, weight.dtype])
        x, wt = x.cast(dt), weight.cast(dt)
        arg = (s, p, d, groups)
        out = x._optional(
            Op.CONV2D,
            (x, wt),
            arg,
            (n, o, oh, ow),
            dt,
        )
        if bias is not None:
            out = out + bias.reshape(1, o, 1, 1)
        return out

    def max_pool2d(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: bool = False,
    ) -> Self:
        """Max over windows (``torch.nn.functional.max_pool2d``); input (N, C, H, W) or (C, H, W).

        Padding counts as -inf. As in torch, each window's gradient goes to one element: the
        first maximum in row-major window order, or the last NaN when the window holds NaN.

        Raises:
            ValueError: a kernel, stride or dilation below 1, negative padding, padding above
                half the kernel, or an output smaller than 1 (the sizes named).
        """
        return self._pool(kernel_size, stride, padding, dilation, ceil_mode, "max")

    def avg_pool2d(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> Self:
        """Mean over windows (``torch.nn.functional.avg_pool2d``); padding counts as zeros
        when ``count_include_pad``."""
        if not count_include_pad and padding != 0:
            ones = self._full_like_shape(1.0, (1, 1) + self.shape[-2:], self.dtype)
            num = self._pool(kernel_size, stride, padding, 1, ceil_mode, "sum")
            den = ones._pool(kernel_size, stride, padding, 1, ceil_mode, "sum")
            return num / den
        return self._pool(kernel_size, stride, padding, 1, ceil_mode, "avg")

    def _pool(
        self,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        ceil_mode: bool,
        kind: str,
    ) -> Self:
        if self.ndim == 3:
            return (
                self.unsqueeze(0)
                ._pool(kernel_size, stride, padding, dilation, ceil_mode, kind)
                .squeeze(0)
            )
        if self.ndim != 4:
            raise ValueError(f"pooling expects (N, C, H, W) or (C, H, W), got {self.shape}")
        k = pair(kernel_size, "kernel_size", 1)
        s = pair(stride if stride is not None else k, "stride", 1)
        p, d = pair(padding, "padding", 0), pair(dilation, "dilation", 1)
        if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
            raise ValueError(f"pad {p} should be at most half of kernel size {k}")
        n, c, h, w = self.shape
        oh, ow = (
            out_size(h, k[0], s[0], p[0], d[0], ceil_mode),
            out_size(w, k[1], s[1], p[1], d[1], ceil_mode),
        )
        if oh < 1 or ow < 1:
            raise ValueError(
                f"pooling: input {self.shape} is too small for kernel {k} with stride {s}, "
                f"padding {p} and dilation {d} (output would be {oh}x{ow})"
            )
        x = self if self.dtype.kind == "f" else self._float()
        if s == k and p == (0, 0) and d == (1, 1) and not ceil_mode:
            # non-overlapping windows: a reshape, no im2col
            oh, ow = h // k[0], w // k[1]
            xs = x._shrink(((0, n), (0, c), (0, oh * k[0]), (0, ow * k[1])))
            xs = xs.reshape(n, c, oh, k[0], ow, k[1])
            if kind == "max":
                if not x._tracks_grad():
                    return xs.amax((3, 5))
                # one slice per window row, then the taps from it: the backward pads each
                # tap into its row and each row into the grid (2 short + KH long PADs per
                # row instead of KH*KW PADs of the whole grid)
                full = ((0, n), (0, c), (0, oh), (0, k[0]), (0, ow), (0, k[1]))
                rows = [xs._shrink(full[:3] + ((i, i + 1),) + full[4:]) for i in range(k[0])]
                taps = [
                    r._shrink(full[:3] + ((0, 1),) + full[4:5] + ((j, j + 1),)).reshape(
                        n, c, oh, ow
                    )
                    for r in rows
                    for j in range(k[1])
                ]
                return _window_max(taps)
            red = xs.sum((3, 5))
            return red / float(k[0] * k[1]) if kind == "avg" else red
        if kind == "max" and x._tracks_grad():
            return _window_max(window_taps(x, k, s, p, d, -math.inf, ceil_mode))
        cols = unfold2d(x, k, s, p, d, -math.inf if kind == "max" else 0.0, ceil_mode)
        if kind == "max":
            return cols.amax(2)
        if kind == "sum":
            return cols.sum(2)
        if ceil_mode:  # windows that hang past the padded input average only what they cover
            ones = x._full_like_shape(1.0, (1, 1, h, w))
            cnt = unfold2d(ones, k, s, p, d, 1.0, ceil_mode, overhang_value=0.0).sum(2)
            return cols.sum(2) / cnt
        return cols.mean(2)

    def adaptive_avg_pool2d(self, output_size: Any) -> Self:
        """Average into an (OH, OW) grid; cell i covers [floor(i*H/OH), ceil((i+1)*H/OH))."""
        oh, ow = pair(output_size, "output_size", 1)
        h, w = self.shape[-2:]
        if h % oh == 0 and w % ow == 0:
            return self.avg_pool2d((h // oh, w // ow))
        rows = []
        for i in range(oh):
            r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
            cols = []
            for j in range(ow):
                c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
                cols.append(self.narrow(-2, r0, r1 - r0).narrow(-1, c0, c1 - c0).mean((-2, -1)))
            rows.append(stack(cols, -1))
        return stack(rows, -2)


def _window_max(taps: list[T]) -> T:
    """The elementwise max of the window taps (each (N, C, OH, OW), in row-major window order)
    by torch's scan: a tap replaces the running maximum when it is larger or NaN. The result is
    one of the taps, exactly, and its gradient goes to that tap only: the first maximum, or the
    last NaN of the window, as torch's max_pool2d. (A window whose taps inside the input are
    all -inf keeps a padding tap's -inf, and that gradient is dropped; torch gives it to the
    first tap inside the input.)"""
    best = taps[0]
    for t in taps[1:]:
        take = (t > best) | t.isnan()
        best = take._select(t, best)
    return best
