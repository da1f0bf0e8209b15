"""Reverse-mode automatic differentiation over the recorded Tensor graph.

Each primitive op has one VJP rule here, written with Tensor ops, so running backward with
``create_graph=True`` records a new graph and gradients of gradients work. A rule receives the
output gradient ``g``, the forward output ``out``, the op's inputs and its argument, and returns one
gradient per input (``None`` where there is none). Broadcasting is an explicit EXPAND whose VJP is
a SUM, so un-broadcasting is never special-cased.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from idrak.contract.ops import Op

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor

__all__ = ["enable_grad", "grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

_grad_state = {"enabled": True}


def is_grad_enabled() -> bool:
    """Whether new ops are recorded for autograd."""
    return _grad_state["enabled"]


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator that turns recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self.prev = _grad_state["enabled"]
        _grad_state["enabled"] = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _grad_state["enabled"] = self.prev


class no_grad(contextlib.ContextDecorator):
    """Context manager / decorator: ops inside are not recorded (like ``torch.no_grad``)."""

    def __enter__(self) -> None:
        self.prev = _grad_state["enabled"]
        _grad_state["enabled"] = False

    def __exit__(self, *exc: object) -> None:
        _grad_state["enabled"] = self.prev


class enable_grad(contextlib.ContextDecorator):
    """Context manager / decorator: ops inside are recorded even within :class:`no_grad`."""

    def __enter__(self) -> None:
        self.prev = _grad_state["enabled"]
        _grad_state["enabled"] = True

    def __exit__(self, *exc: object) -> None:
        _grad_state["enabled"] = self.prev


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    prev = _grad_state["enabled"]
    _grad_state["enabled"] = enabled
    try:
        yield
    finally:
        _grad_state["enabled"] = prev


# ---------------------------------------------------------------------------------------------
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
    """The transposed convolution of ``g`` (N, O, OH, OW) with ``w``: d(conv2d)/d(input).

    ``g`` is dilated by the stride (zeros between its elements, by PAD and RESHAPE), padded by
    ``dilation*(k-1) - padding`` (cropped where that is negative), and convolved at stride 1 with
    the spatially flipped weight whose in/out channels are swapped within each group. Rows and
    columns of the input that no window reached ((H + 2p - eff_k) % stride of them) get zeros:
    the dilated ``g`` keeps that many of its trailing zeros on the bottom/right.
    """
    (sh, sw), (ph, pw), (dh, dw), groups = arg
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    h, wd = in_hw
    ext = (
        (h + 2 * ph - dh * (kh - 1) - 1) % sh,  # rows past the last window
        (wd + 2 * pw - dw * (kw - 1) - 1) % sw,
    )
    if sh > 1 or sw > 1:
        gd = g.reshape(n, o, oh, 1, ow, 1)._pad(
            ((0, 0), (0, 0), (0, 0), (0, sh - 1), (0, 0), (0, sw - 1)), 0.0
        )
        gd = gd.reshape(n, o, oh * sh, ow * sw)
        gd = gd._shrink(
            ((0, n), (0, o), (0, (oh - 1) * sh + 1 + ext[0]), (0, (ow - 1) * sw + 1 + ext[1]))
        )
    else:
        gd = g
    # the full correlation needs dilation*(k-1) - padding on each side
    lo = (dh * (kh - 1) - ph, dw * (kw - 1) - pw)
    conv_pad = (max(lo[0], 0), max(lo[1], 0))
    if lo[0] < 0 or lo[1] < 0:  # padding wider than the kernel: crop instead
        ch, cw = max(-lo[0], 0), max(-lo[1], 0)
        gh, gw_ = gd.shape[2], gd.shape[3]
        gd = gd._shrink(((0, n), (0, o), (ch, gh - ch), (cw, gw_ - cw)))
    og = o // groups
    wt = w.reshape(groups, og, cg, kh, kw).permute(0, 2, 1, 3, 4).reshape(groups * cg, og, kh, kw)
    wt = wt.flip(2, 3)
    return gd.conv2d(wt, None, 1, conv_pad, (dh, dw), groups)


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
    # Both gradients are convolutions themselves (so a backend's native CONV2D runs backward
    # too, and gradients of gradients go through this rule again).
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


# ---------------------------------------------------------------------------------------------
def _toposort(roots: Sequence[Tensor]) -> list[Tensor]:
    """Tensors with a recorded op reachable from ``roots``, inputs before outputs."""
    order: list[Tensor] = []
    seen: set[int] = set()
    for root in roots:
        stack: list[tuple[Tensor, bool]] = [(root, False)]
        while stack:
            t, done = stack.pop()
            if done:
                order.append(t)
                continue
            if id(t) in seen:
                continue
            seen.add(id(t))
            stack.append((t, True))
            if t._ctx is not None and t._ctx[1] is not None:
                for p in t._ctx[1]:
                    if p.requires_grad and id(p) not in seen:
                        stack.append((p, False))
    return order


def _freed_error(op: Op) -> Exception:
    from idrak.errors import IdrakError

    return IdrakError(
        f"backward through a graph that was already freed: the inputs of a {op.name} "
        "node were released by an earlier backward() or grad(); pass "
        "retain_graph=True to the first call to backward through the graph again"
    )


def _run_backward(
    outputs: Sequence[Tensor],
    grads: Sequence[Tensor],
    targets: set[int] | None,
    retain_graph: bool,
    create_graph: bool,
) -> dict[int, tuple[Tensor, Tensor]]:
    """Propagate ``grads`` from ``outputs``. Returns gradients of leaves (or of ``targets``)."""
    order = _toposort(outputs)
    # keep only nodes on a path to a target (all requires-grad leaves when targets is None)
    needed: set[int] = set()
    for t in order:
        if (targets is not None and id(t) in targets) or (targets is None and t._ctx is None):
            needed.add(id(t))
        elif (
            t._ctx is not None and t._ctx[1] is not None and any(id(p) in needed for p in t._ctx[1])
        ):
            needed.add(id(t))
    acc: dict[int, Tensor] = {}
    for o, go in zip(outputs, grads):
        acc[id(o)] = acc[id(o)] + go if id(o) in acc else go
    result: dict[int, tuple[Tensor, Tensor]] = {}
    freed: Op | None = None  # a freed node that a gradient reached
    with _grad_mode(create_graph):
        for t in reversed(order):
            ctx = t._ctx
            if ctx is not None and ctx[1] is None and id(t) in acc:
                freed = ctx[0]
                if targets is None:
                    raise _freed_error(freed)
            g = acc.pop(id(t), None)
            if g is None or id(t) not in needed:
                continue
            if targets is not None and id(t) in targets:
                result[id(t)] = (t, g)
            if ctx is None:
                if targets is None:
                    result[id(t)] = (t, g)
                continue
            op, inputs, arg = ctx
            if not any(id(p) in needed for p in inputs):
                continue  # a target whose own history no other target needs
            in_grads = _VJPS[op](g, t, inputs, arg)
            for inp, gi in zip(inputs, in_grads):
                if gi is None or not inp.requires_grad or id(inp) not in needed:
                    continue
                acc[id(inp)] = acc[id(inp)] + gi if id(inp) in acc else gi
            if not retain_graph:
                # free the inputs (and their memory); the op stays so a second pass can say
                # what was freed, and the tensor stays a non-leaf
                t._ctx = (op, None, None)
    if freed is not None and targets is not None and len(result) < len(targets):
        raise _freed_error(freed)
    return result


def backward(
    tensor: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool = False,
    create_graph: bool = False,
) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad``. See :meth:`Tensor.backward`."""
    from idrak.errors import IdrakError

    if not tensor.requires_grad:
        raise IdrakError(
            "backward() on a tensor that does not require grad (it has no graph); "
            "did you call requires_grad_() on its inputs, or run under no_grad()?"
        )
    if gradient is None:
        if tensor.numel() != 1:
            raise IdrakError(
                f"backward() without a gradient needs a single-element output, "
                f"got shape {tensor.shape}; pass gradient="
            )
        gradient = tensor.ones_like()
    elif tuple(gradient.shape) != tuple(tensor.shape):
        raise IdrakError(
            f"gradient shape {tuple(gradient.shape)} does not match output shape "
            f"{tuple(tensor.shape)}"
        )
    leaf_grads = _run_backward(
        [tensor], [gradient], None, retain_graph or create_graph, create_graph
    )
    for leaf, g in leaf_grads.values():
        g = g if create_graph else g.detach()
        leaf.grad = (
            g
            if leaf.grad is None
            else (leaf.grad + g if create_graph else (leaf.grad + g).detach())
        )


def grad(
    outputs: Sequence[Tensor] | Tensor,
    inputs: Sequence[Tensor] | Tensor,
    grad_outputs: Sequence[Tensor | None] | Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs`` (like ``torch.autograd.grad``).

    Does not touch ``.grad``. With ``create_graph=True`` the returned gradients are themselves
    differentiable (higher-order derivatives).

    Raises:
        IdrakError: an input is not part of the graph (unless ``allow_unused``), or a non-scalar
            output is given without its ``grad_outputs``.
    """
    from idrak.core.tensor import Tensor
    from idrak.errors import IdrakError

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gos: list[Tensor | None] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    gs: list[Tensor] = []
    for o, go in zip(outs, gos):
        if go is None:
            if o.numel() != 1:
                raise IdrakError(f"grad: output of shape {o.shape} needs grad_outputs")
            go = o.ones_like()
        gs.append(go)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise IdrakError(f"grad: input {i} (shape {t.shape}) does not require grad")
    keep = create_graph if retain_graph is None else retain_graph
    res = _run_backward(outs, gs, {id(t) for t in ins}, keep, create_graph)
    out: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = res[id(t)][1] if id(t) in res else None
        if g is None and not allow_unused:
            raise IdrakError(
                f"grad: input {i} (shape {t.shape}) is not used by the outputs; "
                "pass allow_unused=True"
            )
        out.append(g if g is None or create_graph else g.detach())
    return tuple(out)
