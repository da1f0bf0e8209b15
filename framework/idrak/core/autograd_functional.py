"""Higher-order autograd helpers with ``torch.autograd.functional``'s names and signatures:
:func:`vjp`, :func:`jvp`, :func:`jacobian`, :func:`hessian`, :func:`hvp`, :func:`vhp`.

Reachable as ``idrak.autograd.functional`` (torch's path) and ``idrak.func``. All are built on
reverse mode (:func:`idrak.core.autograd.grad`): a Jacobian is one vector-Jacobian product per
output element; a Jacobian-vector product is the "double-vjp" trick -- ``g(u) = J^T u`` is
linear in a dummy cotangent ``u``, so ``J v`` is the gradient of ``<g(u), v>`` with respect to
``u``; Hessian products differentiate a gradient computed with ``create_graph=True``.

``inputs`` is a Tensor or a tuple of Tensors, and results mirror that structure (and the
structure of the function's outputs), as in torch. ``vectorize`` and the ``strategy`` arguments
are accepted for compatibility; only reverse mode is implemented, so ``strategy`` must be
``"reverse-mode"`` (``vectorize`` only changes speed in torch, and is ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idrak.core.autograd import enable_grad, grad
from idrak.core.tensor import Tensor
from idrak.errors import IdrakError

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

Inputs = Tensor | tuple[Tensor, ...]


def _as_tuple(x: Any, what: str, fn: str) -> tuple[tuple[Tensor, ...], bool]:
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{fn}: {what} must be a Tensor or a tuple of Tensors, got "
                f"{type(t).__name__} at position {i}"
            )
    return items, is_tuple


def _grad_inputs(xs: tuple[Tensor, ...], fn: str, create_graph: bool = False) -> tuple[Tensor, ...]:
    """Inputs to differentiate: fresh leaves, or (``create_graph`` and the input already
    requires grad) an alias in its graph, so the result can be differentiated back to it."""
    out = []
    for i, x in enumerate(xs):
        if x.dtype.kind != "f":
            raise TypeError(f"{fn}: input {i} must be floating point, got {x.dtype}")
        if create_graph and x.requires_grad:
            with enable_grad():
                out.append(x + 0.0)
        else:
            out.append(x.detach().requires_grad_())
    return tuple(out)


def _check_v(v: Any, ref: tuple[Tensor, ...], what: str, fn: str) -> tuple[Tensor, ...]:
    vs, _ = _as_tuple(v, what, fn)
    if len(vs) != len(ref):
        raise ValueError(f"{fn}: {what} has {len(vs)} entries, expected {len(ref)}")
    for i, (a, b) in enumerate(zip(vs, ref)):
        if a.shape != b.shape:
            raise ValueError(f"{fn}: {what}[{i}] has shape {a.shape}, expected {b.shape}")
    return vs


def _grads(
    outs: tuple[Tensor, ...],
    ins: tuple[Tensor, ...],
    cts: tuple[Tensor, ...],
    create_graph: bool,
    strict: bool,
    fn: str,
) -> tuple[Tensor, ...]:
    """``sum_k J_k^T cts_k`` for every input; zeros (or an error with ``strict``) where an
    input does not influence the outputs."""
    pairs = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
    if pairs:
        res = grad(
            [o for o, _ in pairs],
            list(ins),
            [c for _, c in pairs],
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
        )
    else:
        res = (None,) * len(ins)
    out = []
    for i, (x, g) in enumerate(zip(ins, res)):
        if g is None:
            if strict:
                raise IdrakError(
                    f"{fn}: the output is independent of input {i} (strict=True); torch raises "
                    "here too"
                )
            g = x.detach().zeros_like()
        out.append(g)
    return tuple(out)


def _call(
    func: Callable[..., Any], xs: tuple[Tensor, ...], fn: str
) -> tuple[tuple[Tensor, ...], bool]:
    with enable_grad():
        res = func(*xs)
    return _as_tuple(res, "the function's output", fn)


def _finish(ts: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    return ts if create_graph else tuple(t.detach() for t in ts)


def vjp(
    func: Callable[..., Any],
    inputs: Inputs,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product (``torch.autograd.functional.vjp``).

    ``v`` matches the outputs (omit it for a single-element output). Raises ValueError for a
    ``v`` of the wrong structure or shape.
    """
    xs, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    xs = _grad_inputs(xs, "vjp", create_graph)
    outs, out_tuple = _call(func, xs, "vjp")
    if v is None:
        if len(outs) != 1 or outs[0].numel() != 1:
            raise ValueError(
                "vjp: v can be omitted only for a function with one single-element output"
            )
        vs: tuple[Tensor, ...] = (outs[0].detach().ones_like(),)
    else:
        vs = _check_v(v, outs, "v", "vjp")
    g = _finish(_grads(outs, xs, vs, create_graph, strict, "vjp"), create_graph)
    o = _finish(outs, create_graph)
    return (o if out_tuple else o[0]), (g if in_tuple else g[0])


def jvp(
    func: Callable[..., Any],
    inputs: Inputs,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the Jacobian-vector product (``torch.autograd.functional.jvp``),
    by the double-vjp trick. ``v`` matches the inputs (omit it for a single-element input)."""
    xs, _ = _as_tuple(inputs, "inputs", "jvp")
    xs = _grad_inputs(xs, "jvp", create_graph)
    vs = _v_for_inputs(v, xs, "jvp")
    outs, out_tuple = _call(func, xs, "jvp")
    with enable_grad():
        us = tuple(o.detach().zeros_like().requires_grad_() for o in outs)
        g = _grads(outs, xs, us, True, strict, "jvp")
    # the second vjp, through the dummy cotangents ``us``: J v (zeros where J v does not depend on
    # them; strictness was checked by the first)
    jv = _finish(_grads(g, us, vs, create_graph, False, "jvp"), create_graph)
    o = _finish(outs, create_graph)
    return (o if out_tuple else o[0]), (jv if out_tuple else jv[0])


def jacobian(
    func: Callable[..., Any],
    inputs: Inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs`` (``torch.autograd.functional.jacobian``): for one
    output and one input a Tensor of shape ``output.shape + input.shape``; with tuples,
    ``J[i][j]`` for output ``i`` and input ``j`` (a tuple level is dropped where that side was
    a single Tensor). One reverse pass per output element.

    Raises:
        NotImplementedError: ``strategy="forward-mode"``.
    """
    if strategy != "reverse-mode":
        raise NotImplementedError(
            f"jacobian: strategy {strategy!r}; idrak implements only 'reverse-mode'"
        )
    xs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    xs = _grad_inputs(xs, "jacobian", create_graph)
    outs, out_tuple = _call(func, xs, "jacobian")
    from idrak.core.methods.movement import stack

    rows: list[Any] = []
    for o in outs:
        flat = o.reshape(-1)
        per_in: list[list[Tensor]] = [[] for _ in xs]
        for j in range(flat.shape[0]):
            ct = flat.detach().zeros_like()
            e = _onehot(ct, j)
            gs = _grads((flat,), xs, (e,), create_graph, strict, "jacobian")
            for k, gk in enumerate(gs):
                per_in[k].append(gk)
        blocks = []
        for k, x in enumerate(xs):
            if per_in[k]:
                blk = stack(per_in[k], 0).reshape(o.shape + x.shape)
            else:
                blk = x.detach()._full_like_shape(0, o.shape + x.shape)
            blocks.append(blk if create_graph else blk.detach())
        rows.append(tuple(blocks) if in_tuple else blocks[0])
    return tuple(rows) if out_tuple else rows[0]


def _onehot(zeros: Tensor, j: int) -> Tensor:
    n = zeros.shape[0]
    widths = ((j, n - j - 1),)
    return zeros._full_like_shape(1, (1,))._pad(widths, 0)


def hessian(
    func: Callable[..., Any],
    inputs: Inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func`` (``torch.autograd.functional.hessian``): shape
    ``input.shape + input.shape``, or ``H[i][j]`` for tuple inputs.

    Raises:
        ValueError: ``func`` does not return a single-element Tensor.
    """
    xs, in_tuple = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args: Tensor) -> tuple[Tensor, ...]:
        out, _ = _as_tuple(func(*args), "the function's output", "hessian")
        if len(out) != 1 or out[0].numel() != 1:
            raise ValueError("hessian: the function must return a single-element Tensor")
        return _grads(
            (out[0].reshape(()),),
            args,
            (out[0].detach().ones_like().reshape(()),),
            True,
            strict,
            "hessian",
        )

    h = jacobian(gradient, xs, create_graph, strict, vectorize, outer_jacobian_strategy)
    return h if in_tuple else h[0][0]


def _scalar_out(func: Callable[..., Any], xs: tuple[Tensor, ...], fn: str) -> Tensor:
    outs, _ = _call(func, xs, fn)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise ValueError(f"{fn}: the function must return a single-element Tensor")
    return outs[0]


def vhp(
    func: Callable[..., Any],
    inputs: Inputs,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensor, Any]:
    """``(func(inputs), v^T H)`` for a scalar ``func`` (``torch.autograd.functional.vhp``)."""
    xs, in_tuple = _as_tuple(inputs, "inputs", "vhp")
    xs = _grad_inputs(xs, "vhp", create_graph)
    vs = _v_for_inputs(v, xs, "vhp")
    out = _scalar_out(func, xs, "vhp")
    with enable_grad():
        g = _grads((out,), xs, (out.detach().ones_like(),), True, strict, "vhp")
    res = _grads(g, xs, vs, create_graph, strict, "vhp")
    res = _finish(res, create_graph)
    return _finish((out,), create_graph)[0], (res if in_tuple else res[0])


def hvp(
    func: Callable[..., Any],
    inputs: Inputs,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensor, Any]:
    """``(func(inputs), H v)`` for a scalar ``func`` (``torch.autograd.functional.hvp``), by
    double backward: the gradient of ``<grad f(x), u>`` in ``x`` is ``H^T u``, linear in ``u``,
    and its vjp with ``v`` in ``u`` is ``H v``."""
    xs, in_tuple = _as_tuple(inputs, "inputs", "hvp")
    xs = _grad_inputs(xs, "hvp", create_graph)
    vs = _v_for_inputs(v, xs, "hvp")
    out = _scalar_out(func, xs, "hvp")
    with enable_grad():
        g = _grads((out,), xs, (out.detach().ones_like(),), True, strict, "hvp")
        us = tuple(x.detach().zeros_like().requires_grad_() for x in xs)
        back = _grads(g, xs, us, True, strict, "hvp")
    res = _grads(back, us, vs, create_graph, strict, "hvp")
    res = _finish(res, create_graph)
    return _finish((out,), create_graph)[0], (res if in_tuple else res[0])


def _v_for_inputs(v: Any, xs: tuple[Tensor, ...], fn: str) -> tuple[Tensor, ...]:
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise ValueError(f"{fn}: v can be omitted only for one single-element input")
        return (xs[0].detach().ones_like(),)
    return _check_v(v, xs, "v", fn)
