"""The VJP rule of every differentiable primitive op (``_VJPS``), for :mod:`idrak.core.autograd`.

Each rule is written with Tensor ops, so running backward with ``create_graph=True`` records a
new graph and gradients of gradients work. A rule receives the output gradient ``g``, the
forward output ``out``, the op's inputs and its argument, and returns one gradient per input
(``None`` where there is none). Broadcasting is an explicit EXPAND whose VJP is a SUM, so
un-broadcasting is never special-cased. The backward engine that applies the rules, and the
grad modes, are in :mod:`idrak.core.autograd` (which re-exports ``_VJPS``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from idrak.contract.ops import Op

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor

__all__ = ["VJP"]

# VJP rules: (g, out, inputs, arg) -> tuple of gradients, one per input
VJP = Callable[["Tensor", "Tensor", tuple["Tensor", ...], Any], tuple[Any, ...]]
_LN2 = math.log(2.0)


def _max_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    a, b = ins
    # ties share the gradient equally (as torch.maximum does)
    half = (a == b)._select(g * 0.5, g)
    return (a < b)._select(0.0, half), (b < a)._select(0.0, half)


def _reduce_max_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    (x,) = ins
    mask = (x == out.expand(x.shape)).cast(g.dtype)
    count = mask._sum_keep(arg)
    return ((g / count).expand(x.shape) * mask,)


def _pow_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    x, y = ins
    # d/dx x**0 is 0 everywhere (torch), not 0 * x**-1 (NaN at x == 0)
    gx = (y == 0.0)._select(0.0, g * y * x.pow(y - 1.0))
    gy = ((x == 0.0) & (y >= 0.0))._select(0.0, g * out * x.log())
    return gx, gy


def _permute_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    inv = [0] * len(arg)
    for i, p in enumerate(arg):
        inv[p] = i
    return (g.permute(*inv),)


def _expand_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    (x,) = ins
    axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, arg)) if a != b)
    return (g._sum_keep(axes) if axes else g,)


def _pad_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    widths, _ = arg
    return (g._shrink(tuple((lo, lo + s) for (lo, _), s in zip(widths, ins[0].shape))),)


def _shrink_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    return (g._pad(tuple((a, s - b) for (a, b), s in zip(arg, ins[0].shape)), 0.0),)


def _matmul_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    a, b = ins
    return g.matmul(b.transpose(-1, -2)), a.transpose(-1, -2).matmul(g)


def _conv2d_grad_input(g: Tensor, w: Tensor, in_hw: tuple[int, int], arg: Any) -> Tensor:
    """d(conv2d)/d(input) as col2im: the columns ``W^T g`` folded back onto the input grid.

    Per group, cols[n, c, i, j, y, x] = sum over o of w[o, c, i, j] * g[n, o, y, x]: one batched
    MATMUL (G, C/g*KH*KW, O/g) @ (N, G, O/g, OH*OW), then :func:`fold2d` adds each tap where its
    window read the input (rows and columns no window reached get zeros).
    """
    from idrak.core.methods.convolution import fold2d, fold2d_rows

    stride, padding, dilation, groups = arg
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    og = o // groups
    wt = w.reshape(groups, og, cg * kh * kw).transpose(-1, -2)
    if stride == (1, 1) and (kh, kw) != (1, 1):
        # rows as wide as the padded input: the fold becomes shifts of long flat blocks
        wp = in_hw[1] + 2 * padding[1]
        gp = g._pad(((0, 0), (0, 0), (0, 0), (0, wp - ow)), 0.0)
        cols = wt.matmul(gp.reshape(n, groups, og, oh * wp))
        cols = cols.reshape(n, groups * cg, kh, kw, oh * wp)
        return fold2d_rows(cols, in_hw, padding, dilation)
    cols = wt.matmul(g.reshape(n, groups, og, oh * ow))  # (N, G, C/g*KH*KW, OH*OW)
    cols = cols.reshape(n, groups * cg, kh, kw, oh, ow)
    return fold2d(cols, in_hw, stride, padding, dilation)


def _conv2d_grad_weight(g: Tensor, x: Tensor, w_shape: tuple[int, ...], arg: Any) -> Tensor:
    """d(conv2d)/d(weight): the input (channels as batch) convolved with ``g`` as the kernel.

    Per group, gw[o, c, i, j] = sum over n, y, x of g[n, o, y, x] * xpad[n, c, y*s + i*d, ...]:
    a convolution of xpad (C/g, N, H, W) with g (O/g, N, OH, OW) at stride ``dilation`` and
    dilation ``stride``, cropped to (KH, KW). Groups stack the batch inside the channels.
    """
    stride, padding, dilation, groups = arg
    n, _, h, wd = x.shape
    o, cg, kh, kw = w_shape
    _, _, oh, ow = g.shape
    og = o // groups
    xt = x.reshape(n, groups, cg, h, wd).permute(2, 1, 0, 3, 4).reshape(cg, groups * n, h, wd)
    gt = g.reshape(n, groups, og, oh, ow).permute(1, 2, 0, 3, 4).reshape(o, n, oh, ow)
    r = xt.conv2d(gt, None, dilation, padding, stride, groups)  # (C/g, O, >=KH, >=KW)
    r = r._shrink(((0, cg), (0, o), (0, kh), (0, kw)))
    return r.permute(1, 0, 2, 3)


def _conv2d_vjp(g: Tensor, out: Tensor, ins: tuple[Tensor, ...], arg: Any) -> tuple[Any, ...]:
    # The weight gradient is a convolution itself (a backend's native CONV2D runs it); the input
    # gradient is a MATMUL and a col2im fold. Gradients of gradients differentiate these again.
    x, w = ins
    gx = _conv2d_grad_input(g, w, (x.shape[2], x.shape[3]), arg) if x.requires_grad else None
    gw = _conv2d_grad_weight(g, x, tuple(w.shape), arg) if w.requires_grad else None
    return gx, gw


_VJPS: dict[Op, VJP] = {
    Op.NEG: lambda g, out, ins, arg: (-g,),
    Op.EXP: lambda g, out, ins, arg: (g * out,),
    Op.LOG: lambda g, out, ins, arg: (g / ins[0],),
    Op.SIN: lambda g, out, ins, arg: (g * ins[0].cos(),),
    Op.SQRT: lambda g, out, ins, arg: (g / (out * 2.0),),
    Op.RECIPROCAL: lambda g, out, ins, arg: (-g * out * out,),
    Op.TANH: lambda g, out, ins, arg: (g * (1.0 - out * out),),
    Op.EXP2: lambda g, out, ins, arg: (g * out * _LN2,),
    Op.LOG2: lambda g, out, ins, arg: (g / (ins[0] * _LN2),),
    Op.ADD: lambda g, out, ins, arg: (g, g),
    Op.SUB: lambda g, out, ins, arg: (g, -g),
    Op.MUL: lambda g, out, ins, arg: (g * ins[1], g * ins[0]),
    Op.DIV: lambda g, out, ins, arg: (g / ins[1], -g * ins[0] / (ins[1] * ins[1])),
    Op.MAX: _max_vjp,
    Op.POW: _pow_vjp,
    Op.WHERE: lambda g, out, ins, arg: (None, ins[0]._select(g, 0.0), ins[0]._select(0.0, g)),
    Op.CAST: lambda g, out, ins, arg: (g.cast(ins[0].dtype),),
    Op.SUM: lambda g, out, ins, arg: (g.expand(ins[0].shape),),
    Op.REDUCE_MAX: _reduce_max_vjp,
    Op.RESHAPE: lambda g, out, ins, arg: (g.reshape(ins[0].shape),),
    Op.PERMUTE: _permute_vjp,
    Op.EXPAND: _expand_vjp,
    Op.PAD: _pad_vjp,
    Op.SHRINK: _shrink_vjp,
    Op.FLIP: lambda g, out, ins, arg: (g.flip(arg),),
    Op.CONTIGUOUS: lambda g, out, ins, arg: (g,),
    Op.MATMUL: _matmul_vjp,
    # the recorded index is in range (checked when the op was written): no second check
    Op.GATHER: lambda g, out, ins, arg: (ins[0].zeros_like()._scatter_add(arg, ins[1], g), None),
    Op.SCATTER_ADD: lambda g, out, ins, arg: (g, None, g._gather(arg, ins[1])),
    Op.CONV2D: _conv2d_vjp,
    # the gradient of a prefix sum is the suffix sum of g
    Op.CUMSUM: lambda g, out, ins, arg: (g.flip(arg).cumsum(arg).flip(arg),),
}
