"""Reverse-mode automatic differentiation over the recorded Tensor graph.

The backward engine (a topological walk from the outputs that applies each node's VJP rule,
checks the versions of saved tensors and frees the graph), ``backward``/``grad``, the
post-accumulate-grad hooks and the per-thread grad modes (``no_grad``, ``enable_grad``,
``inference_mode``, ``set_grad_enabled``). The rules themselves, one per differentiable primitive
op, are in :mod:`idrak.core.autograd_rules` (``_VJPS``, re-exported here).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from idrak.contract.ops import Op
from idrak.core.autograd_rules import _VJPS
from idrak.core.methods.base import TensorBase
from idrak.errors import IdrakError

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor

__all__ = [
    "enable_grad",
    "grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
]


class _GradState(threading.local):
    """Per-thread grad mode (as torch's): each thread starts with recording on.

    ``enabled`` is read on every recorded op (an attribute of a ``threading.local``). ``stack``
    holds the modes that the open ``with`` blocks of this thread restore on exit, so nested and
    recursive uses of one context-manager instance restore correctly.
    """

    enabled = True
    inference = False

    def __init__(self) -> None:
        self.stack: list[tuple[bool, bool]] = []

    # the dict interface of the former process-global ``{"enabled": ...}``
    def __getitem__(self, key: str) -> bool:
        return bool(getattr(self, key))

    def __setitem__(self, key: str, value: bool) -> None:
        setattr(self, key, value)


_grad_state = _GradState()


def is_grad_enabled() -> bool:
    """Whether new ops are recorded for autograd in the calling thread."""
    return _grad_state.enabled


def is_inference_mode_enabled() -> bool:
    """Whether the calling thread is inside :class:`inference_mode` (``torch`` name)."""
    return _grad_state.inference


class _GradModeContext(contextlib.ContextDecorator):
    """Base of the grad-mode context managers / decorators.

    Entering pushes the calling thread's current mode on a per-thread stack and sets
    :meth:`_mode`; leaving pops it. Each decorated call gets its own instance
    (``_recreate_cm``), so recursion and calls from several threads restore correctly, and one
    instance can be nested in itself (``with ng: with ng: ...``).
    """

    def _mode(self) -> tuple[bool, bool]:
        raise NotImplementedError

    def _recreate_cm(self) -> _GradModeContext:
        return self._clone()

    def _clone(self) -> _GradModeContext:
        return type(self)()

    def __enter__(self) -> None:
        st = _grad_state
        st.stack.append((st.enabled, st.inference))
        st.enabled, st.inference = self._mode()

    def __exit__(self, *exc: object) -> None:
        st = _grad_state
        st.enabled, st.inference = st.stack.pop()


class _NoParam(_GradModeContext):
    """Also usable as a bare decorator, ``@no_grad`` (as torch allows)."""

    def __new__(cls, orig_func: Callable[..., Any] | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(
                f"{cls.__name__}() takes no positional argument except a function to "
                f"decorate, got {orig_func!r}"
            )
        return cls()(orig_func)


class no_grad(_NoParam):
    """Context manager / decorator: ops inside are not recorded (``torch.no_grad``).

    Per thread and re-entrant: ``with no_grad():`` in one thread leaves recording on in the
    others; nesting and recursive decorated calls restore the mode that was current on entry.
    Usable as ``with no_grad():``, ``@no_grad()`` and ``@no_grad``.
    """

    def _mode(self) -> tuple[bool, bool]:
        return False, _grad_state.inference


class enable_grad(_NoParam):
    """Context manager / decorator: ops inside are recorded even within :class:`no_grad`
    (``torch.enable_grad``; per thread, re-entrant)."""

    def _mode(self) -> tuple[bool, bool]:
        return True, _grad_state.inference


class inference_mode(_GradModeContext):
    """``torch.inference_mode(mode=True)``: in idrak the same as :class:`no_grad` (``mode=True``)
    or :class:`enable_grad` (``mode=False``), as torch sets grad mode to ``not mode``.

    torch's inference mode also skips version counting and view tracking for speed and makes
    the tensors created inside unusable in autograd later; idrak has no such fast path, so
    tensors created inside are ordinary tensors that do not require grad. Usable as a context
    manager and as a decorator, with or without parentheses.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # bare @inference_mode
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be a bool, got {mode!r}")
        self.mode = mode

    def _clone(self) -> _GradModeContext:
        return inference_mode(self.mode)

    def _mode(self) -> tuple[bool, bool]:
        return not self.mode, self.mode


class set_grad_enabled(_GradModeContext):
    """``torch.set_grad_enabled(mode)``: sets the calling thread's grad mode on construction (so
    the plain call ``set_grad_enabled(False)`` works); as a context manager it restores the mode
    that was current before construction; as a decorator it sets ``mode`` for each call only.

    Raises:
        TypeError: ``mode`` is not a bool.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self.mode = mode
        self._prev: bool | None = _grad_state.enabled
        _grad_state.enabled = mode

    def __call__(self, func: Callable[..., Any]) -> Any:
        # as a decorator the construction must not change the mode: restore it
        if self._prev is not None:
            _grad_state.enabled = self._prev
            self._prev = None
        return super().__call__(func)

    def _clone(self) -> _GradModeContext:
        new = set_grad_enabled.__new__(set_grad_enabled)
        new.mode, new._prev = self.mode, None
        return new

    def __enter__(self) -> None:
        st = _grad_state
        prev = st.enabled if self._prev is None else self._prev
        self._prev = None  # a second entry of the same instance saves the then-current mode
        st.stack.append((prev, st.inference))
        st.enabled = self.mode

    def _mode(self) -> tuple[bool, bool]:
        return self.mode, _grad_state.inference


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    st = _grad_state
    prev = st.enabled
    st.enabled = enabled
    try:
        yield
    finally:
        st.enabled = prev


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


#: ops whose VJP reads the forward output ``out``: modifying it in place afterwards is an error
_USES_OUT = frozenset({Op.EXP, Op.SQRT, Op.RECIPROCAL, Op.TANH, Op.EXP2, Op.REDUCE_MAX})
_USES_OUT_IDS = frozenset(id(op) for op in _USES_OUT)  # Enum.__hash__ is Python-level: slow


def version_of(t: Tensor) -> int:
    """The version counter of ``t``'s storage (:func:`idrak.core.methods.inplace.version_of`)."""
    if t._base is None:
        return t._vers
    from idrak.core.methods.inplace import version_of as _version_of

    return _version_of(t)


def _backward_name(op: Op) -> str:
    return "".join(w.capitalize() for w in op.name.split("_")) + "Backward0"


def _check_versions(t: Tensor, ctx: tuple[Any, ...]) -> None:
    """Raise torch's error when a tensor saved by the node ``t`` was modified in place since.

    Every input is checked (idrak's graph edges are the tensor objects themselves, so an input
    rebound by an in-place op would also redirect the gradient), and the output where the
    node's VJP reads it (:data:`_USES_OUT`).
    """
    op, inputs, vers = ctx[0], ctx[1], ctx[3]
    for i, (p, expected) in enumerate(zip(inputs, vers)):
        now = p._vers if p._base is None else version_of(p)
        if now != expected:
            raise _version_error(op, p, f"input {i}", now, expected)
    if len(ctx) > 4 and id(op) in _USES_OUT_IDS:
        now = version_of(t)
        if now != ctx[4]:
            raise _version_error(op, t, "output 0", now, ctx[4])


def _version_error(op: Op, p: Tensor, which: str, now: int, expected: int) -> Exception:
    from idrak.errors import IdrakError

    return IdrakError(
        "one of the variables needed for gradient computation has been modified by "
        f"an inplace operation: [{p.dtype.name} tensor of shape {tuple(p.shape)}], "
        f"which is {which} of {_backward_name(op)}, is at version {now}; expected "
        f"version {expected} instead. Hint: compute the value again (or .clone() it) "
        "instead of modifying it in place before backward()"
    )


def _freed_error(op: Op) -> Exception:
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
            if targets is None and id(t) in _RETAINED and _RETAINED[id(t)]() is t:
                result[id(t)] = (t, g)  # a non-leaf that asked for its .grad (retain_grad)
            op, inputs, arg = ctx[0], ctx[1], ctx[2]
            if not any(id(p) in needed for p in inputs):
                continue  # a target whose own history no other target needs
            if len(ctx) > 3:
                _check_versions(t, ctx)
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


# non-leaf id -> weak reference, for the tensors whose .grad backward fills (retain_grad)
_RETAINED: dict[int, Any] = {}


def retain_grad(tensor: Any) -> None:
    """Have :func:`backward` accumulate into the non-leaf ``tensor``'s ``.grad`` too (see
    :meth:`Tensor.retain_grad`). The entry goes when the tensor dies."""
    import weakref

    key = id(tensor)
    table = _RETAINED

    def forget(_ref: Any) -> None:
        table.pop(key, None)

    table[key] = weakref.ref(tensor, forget)


# leaf id -> (weak reference to the leaf, {handle id: hook}); see register_post_accumulate_grad_hook
_POST_ACCUMULATE: dict[int, tuple[Any, dict[int, Callable[[Tensor], None]]]] = {}
_HOOK_IDS = iter(range(1, 1 << 62))


class RemovableHandle:
    """What :func:`register_post_accumulate_grad_hook` returns: ``remove()`` drops the hook."""

    def __init__(self, leaf_id: int, hook_id: int) -> None:
        self.leaf_id, self.id = leaf_id, hook_id

    def remove(self) -> None:
        """Unregister the hook (a no-op when it is gone already)."""
        entry = _POST_ACCUMULATE.get(self.leaf_id)
        if entry is not None:
            entry[1].pop(self.id, None)
            if not entry[1]:
                _POST_ACCUMULATE.pop(self.leaf_id, None)


def _forget_hooks(key: int) -> Callable[[Any], None]:
    """The weakref callback that drops a dead leaf's hooks (binds the dict: safe at exit)."""
    table = _POST_ACCUMULATE

    def forget(_ref: Any) -> None:
        table.pop(key, None)

    return forget


def register_post_accumulate_grad_hook(
    tensor: Tensor, hook: Callable[[Tensor], None]
) -> RemovableHandle:
    """Call ``hook(tensor)`` each time :func:`backward` has accumulated a gradient into the
    leaf ``tensor``'s ``.grad`` (as ``torch.Tensor.register_post_accumulate_grad_hook``).

    Leaves get their gradients in the order backward finishes them (reverse topological
    order: the last layers first). :func:`grad` does not touch ``.grad`` and calls no hook.
    DistributedDataParallel all-reduces its gradient buckets from these hooks.

    Raises:
        IdrakError: ``tensor`` is not a leaf that requires grad, or ``hook`` is not callable.
    """
    import weakref

    from idrak.errors import IdrakError

    if not callable(hook):
        raise IdrakError(f"hook must be callable(tensor), got {type(hook).__name__}")
    if tensor._ctx is not None or not tensor.requires_grad:
        raise IdrakError(
            "register_post_accumulate_grad_hook needs a leaf that requires grad, got a "
            + ("non-leaf" if tensor._ctx is not None else "tensor with requires_grad=False")
        )
    key = id(tensor)
    entry = _POST_ACCUMULATE.get(key)
    if entry is None or entry[0]() is not tensor:
        entry = (weakref.ref(tensor, _forget_hooks(key)), {})
        _POST_ACCUMULATE[key] = entry
    hook_id = next(_HOOK_IDS)
    entry[1][hook_id] = hook
    return RemovableHandle(key, hook_id)


def backward(
    tensor: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool = False,
    create_graph: bool = False,
) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad``. See :meth:`Tensor.backward`."""
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
        hooks = _POST_ACCUMULATE.get(id(leaf))
        if hooks is not None and hooks[0]() is leaf:
            for hook in list(hooks[1].values()):
                hook(leaf)


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
    outs = [outputs] if isinstance(outputs, TensorBase) else list(outputs)
    ins = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
    if grad_outputs is None:
        gos: list[Tensor | None] = [None] * len(outs)
    elif isinstance(grad_outputs, TensorBase):
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


def __getattr__(name: str) -> Any:
    """``idrak.autograd.functional`` (torch's module path for jacobian/hessian/vjp/jvp/...),
    imported on first use: it builds on this module."""
    if name == "functional":
        import importlib

        return importlib.import_module("idrak.core.autograd_functional")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
