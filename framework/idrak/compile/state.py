"""What ``idrak.jit`` treats as a function's state, its call signature, and side effects.

:class:`State` walks the function's arguments and state objects (lists, tuples, dicts, objects'
attributes) and records every Tensor it reaches, where it lives, and a hashable signature of
everything else it saw (Python numbers, strings, flags, container sizes, types). Two calls with
equal signatures can share one recording; a traced call that changed the signature (a Python
counter, a new attribute) or drew random numbers cannot be replayed (:func:`side_effect`).

*Replay inputs*: an object whose type defines ``_idrak_jit_inputs(self)`` (the optimizers) is
asked, when the walk reaches it, for ``[(dict, {key: steers}), ...]``: Python numbers (or
tuples of numbers) under those keys of those dicts (a parameter group's ``"lr"`` and
``"betas"``) are not in the signature (only their type, and whether they are 0 where
``steers`` says that picks a Python branch), because the object mirrors them into 0-d Tensors
of its own state, made current by that same call, which the recording reads as inputs. A
scheduler that changes the learning rate every step therefore does not retrace.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from idrak.core import autograd as _ag
from idrak.core import random as _random
from idrak.core.tensor import Tensor
from idrak.engine import fusion as _fusion
from idrak.engine.lazy import LazyBuffer
from idrak.errors import IdrakError

__all__ = ["JitError", "State", "auto_state", "side_effect"]

_SKIP = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    threading.Thread,
)
_SCALARS = (bool, int, float, str, bytes, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)
_NONE: dict[Any, bool] = {}


class JitError(IdrakError):
    """A jitted function did something a recording cannot replay (e.g. read a tensor value)."""


# ---------------------------------------------------------------------------------------------
class State:
    """What a walk over the roots found: the state tensors, where they live, and the signature.

    A tensor's *location* is the dict (an object's ``__dict__`` included) or list slot holding
    it, when it is reached exactly once that way; a call that puts a new Tensor object there
    (``state["exp_avg"] = m``) is replayed by putting a new Tensor there again.
    """

    def __init__(
        self,
        roots: Any,
        budget: int = 20_000,
        paths: bool = False,
        record: frozenset[int] | None = None,
    ) -> None:
        self.tensors: list[Tensor] = []
        #: the dict/list slots holding each tensor (None: one is not a slot, so the tensor cannot
        #: be rebound); a tensor shared by several slots (an optimizer's one step counter) is
        #: rebound in all of them
        self.locs: list[list[tuple[Any, Any]] | None] = []
        self.sig: list[Any] = []  # hashable items, in walk order
        self.paths: list[str] = []  # where each item was found (only when asked: slower)
        #: the replay inputs' values (float hex), in walk order: a traced call must not change them
        self.inputs: list[str] = []
        #: with ``record`` (the ids of fresh containers not to record): what
        #: :class:`idrak.compile.snapshot.Snapshot` needs to verify the walk cheaply: every
        #: mutable container walked ``(container, keys or None, values, replay-input keys)``,
        #: every object ``(obj, type, its __dict__)``, every replay-input mirror call
        #: ``(obj, result)``, and how often each tensor was reached
        self.records: list[tuple[Any, list[Any] | None, list[Any], dict[Any, bool]]] = []
        self.objects: list[tuple[Any, type, dict[str, Any]]] = []
        self.mirrors: list[tuple[Any, list[tuple[Any, dict[Any, bool]]]]] = []
        self.reach: list[int] = []
        self._sigt: _Sig | None = None
        self.checked = False  # made by Snapshot.check, not by a walk
        skip = record
        #: id(dict) -> {key: whether 0 steers Python} for the numbers that are replay inputs
        dynamic: dict[int, dict[Any, bool]] = {}
        pos: dict[int, int] = {}
        seen: set[int] = set()
        sig, want_paths = self.sig, paths
        stack: list[tuple[Any, Any, Any, str | None]] = [
            (roots, None, None, "^" if paths else None)
        ]
        while stack:
            o, box, key, path = stack.pop()
            if want_paths:
                self.paths.append(path)  # type: ignore[arg-type]
            t = type(o)
            if t in _SCALAR_TYPES:  # the common case first: cheap type checks
                sig.append(o.hex() if t is float else (t, o))
            elif t is dict or t is list or t is tuple or isinstance(o, (list, tuple, dict)):
                if id(o) in seen:
                    sig.append("@")
                    continue
                seen.add(id(o))
                sig.append((t, len(o)))
                box = o if isinstance(o, (list, dict)) else None
                if isinstance(o, dict):
                    attrs = isinstance(key, _Attrs)
                    live = dynamic.get(id(o), _NONE)
                    if skip is not None and id(o) not in skip:
                        self.records.append((o, list(o), list(o.values()), live))
                    for k, v in reversed(list(o.items())):
                        tv = type(v)
                        if k in live and (tv is float or tv is int):  # a replay input
                            sig.append((tv, "input", live[k] and v == 0))
                            self.inputs.append(float(v).hex())
                            if want_paths:
                                self.paths.append(_sub(path, k, attrs))  # type: ignore[arg-type]
                        elif k in live and _numbers(v):  # betas: a tuple of replay inputs
                            sig.append((tv, len(v), "input"))
                            self.inputs.extend(float(x).hex() for x in v)
                            if want_paths:
                                self.paths.append(_sub(path, k, attrs))  # type: ignore[arg-type]
                        elif tv in _SCALAR_TYPES:  # scalar values: in the signature right away
                            sig.append(v.hex() if tv is float else (tv, v))
                            if want_paths:
                                self.paths.append(_sub(path, k, attrs))  # type: ignore[arg-type]
                        else:
                            stack.append((v, box, k, path and _sub(path, k, attrs)))
                        if type(k) in _SCALAR_TYPES:  # keys: in the signature as they are
                            sig.append(k if type(k) is str else (type(k), k))
                            if want_paths:
                                self.paths.append(_sub(path, "<key>", False))  # type: ignore[arg-type]
                        else:
                            stack.append((k, None, None, path and _sub(path, "<key>", False)))
                else:
                    if skip is not None and box is not None and id(o) not in skip:
                        self.records.append((o, None, list(o), _NONE))
                    stack.extend(
                        (v, box, i, path and _sub(path, i, False))
                        for i, v in reversed(list(enumerate(o)))
                    )
            elif isinstance(o, Tensor):
                p = pos.get(id(o))
                if p is None:
                    pos[id(o)] = len(self.tensors)
                    self.tensors.append(o)
                    self.locs.append([(box, key)] if box is not None else None)
                    self.reach.append(1)
                    sig.append((o.shape, o.dtype, o.device, o.requires_grad))
                else:  # reached again: one more slot, or not rebindable
                    self.reach[p] += 1
                    slots = self.locs[p]
                    if slots is not None and box is not None:
                        slots.append((box, key))
                    else:
                        self.locs[p] = None
                    sig.append(p)
            elif (
                isinstance(o, np.ndarray)
                or isinstance(o, _SKIP)
                or getattr(t, "_idrak_jit_opaque", False)  # a jitted function
                or not hasattr(o, "__dict__")
            ):
                sig.append(_hashable(o))
            elif id(o) not in seen:
                seen.add(id(o))
                sig.append(t)
                mirror = getattr(t, "_idrak_jit_inputs", None)
                if mirror is not None:  # before its attributes are walked: mirrors made current
                    made = mirror(o)
                    for d, keys in made:
                        dynamic[id(d)] = keys
                    if skip is not None:
                        self.mirrors.append((o, [(d, dict(k)) for d, k in made]))
                if skip is not None:
                    self.objects.append((o, t, vars(o)))
                stack.append((vars(o), None, _Attrs(), path))
            if len(seen) > budget:
                raise JitError(
                    f"idrak.jit: more than {budget} objects reachable from the "
                    "function's arguments and state; pass state=[model, optimizer] "
                    "explicitly"
                )

    def holders(self) -> list[LazyBuffer | None]:
        """Each tensor's buffer, then each tensor's gradient's buffer (None: no gradient)."""
        return [t.lazy for t in self.tensors] + [
            t.grad.lazy if t.grad is not None else None for t in self.tensors
        ]

    def key(self) -> tuple[Any, ...]:
        """The signature: the walk, which buffers are shared, and which gradients exist."""
        first: dict[int, int] = {}
        alias = tuple(
            -1 if lb is None else first.setdefault(id(lb), i) for i, lb in enumerate(self.holders())
        )
        grads = tuple(
            None if t.grad is None else (t.grad.shape, t.grad.dtype) for t in self.tensors
        )
        if self._sigt is None:
            self._sigt = _Sig(self.sig)
        return (self._sigt, alias, grads, _ag.is_grad_enabled(), _fusion.enabled())


class _Sig(tuple[Any, ...]):
    """A walk's items as a tuple that hashes once (a cache key is looked up on every call)."""

    def __hash__(self) -> int:
        h: int | None = self.__dict__.get("hash")
        if h is None:
            h = self.__dict__["hash"] = tuple.__hash__(self)
        return h


def _numbers(v: Any) -> bool:
    """A tuple or list of ints and floats (no bools)."""
    return type(v) in (tuple, list) and all(type(x) in (int, float) for x in v)


class _Attrs:
    """Marks an object's ``__dict__`` in the walk, so paths read ``obj.name``."""


def _sub(path: str | None, key: Any, attr: bool) -> str | None:
    if path is None:
        return None
    k = f"<tensor {tuple(key.shape)}>" if isinstance(key, Tensor) else repr(key)
    return f"{path}.{key}" if attr else f"{path}[{k}]"


def _hashable(o: Any) -> Any:
    try:
        hash(o)
        return o
    except TypeError:
        return type(o)


def auto_state(fn: Callable[..., Any]) -> list[Any]:
    """The default state: closure variables, globals the code names, a bound method's object."""
    out: list[Any] = []
    target = fn
    if isinstance(fn, types.MethodType):
        out.append(fn.__self__)
        target = fn.__func__
    code = getattr(target, "__code__", None)
    for cell in getattr(target, "__closure__", None) or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    g = getattr(target, "__globals__", {})
    for name in code.co_names if code is not None else ():
        v = g.get(name)
        if v is not None and not isinstance(v, _SKIP):
            out.append(v)
    return out


def _pretty(path: str) -> str:
    """``[2][0].lr`` (roots are (args, kwargs, state)) as ``state[0].lr``."""
    path = path.lstrip("^")
    for i, name in enumerate(("args", "kwargs", "state")):
        if path.startswith(f"[{i}]"):
            return name + path[len(f"[{i}]") :]
    return path or "the top"


def _item(sig: list[Any], i: int) -> str:
    if i >= len(sig):
        return "(nothing)"
    x = sig[i]
    if isinstance(x, str) and x.startswith(("0x", "-0x", "inf", "-inf", "nan")):
        return repr(float.fromhex(x))
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], type):
        return f"{x[0].__name__} {x[1]!r}" if x[0] in _SCALARS else f"{x[0].__name__} of {x[1]}"
    return repr(x)


def side_effect(before: State, after: State, rng: Any, roots: Any) -> str:
    """Why the traced call cannot be replayed ('' when it can)."""
    if _random.default_generator.get_state() != rng:
        return "it draws random numbers, which a replay would repeat"
    if before.inputs != after.inputs:
        return (
            "it changes a hyperparameter that replays read as an input (e.g. a learning "
            "rate set inside the function); change it outside the jitted function"
        )
    if before.sig != after.sig:
        i = next(
            (i for i, (a, b) in enumerate(zip(before.sig, after.sig)) if a != b),
            min(len(before.sig), len(after.sig)),
        )
        where = State(roots, paths=True).paths
        at = where[i] if i < len(where) else "the end"
        return (
            f"it changes Python values or structure in its state at {_pretty(at)}: "
            f"{_item(before.sig, i)} -> {_item(after.sig, i)}"
        )
    for t0, t1, loc in zip(before.tensors, after.tensors, before.locs):
        if t0 is not t1 and loc is None:
            return (
                "it replaces a tensor that is not held only in dict or list slots "
                f"(shape {tuple(t0.shape)})"
            )
    return ""
