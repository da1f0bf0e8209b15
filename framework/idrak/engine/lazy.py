"""The lazy graph: nodes that record a primitive op, and their realization.

Every Tensor op creates a :class:`LazyBuffer` node; nothing runs until a value is needed.
:func:`realize` sorts the unrealized part of the graph topologically with an explicit stack (no
recursion limit), runs each node's op on its device's backend, and then drops the node's sources
so intermediate buffers are freed as soon as nothing else refers to them.

``IDRAK_EAGER=1`` or :func:`eager` realizes every node as soon as it is created, which makes a
failing op fail on the line that wrote it (useful for debugging). The eager switch is per thread.

Bounded graphs: every node records its *depth*, the length of the longest chain of unrealized
nodes ending at it (0 once realized). The frontend realizes a node as soon as its depth passes
:func:`max_depth` (``IDRAK_MAX_LAZY_DEPTH``, default :data:`DEFAULT_MAX_DEPTH`; 0 turns the bound
off), so a loop that never reads a value cannot grow the graph (and memory) without bound.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from idrak.contract.backend import Backend
from idrak.contract.dtypes import DType
from idrak.contract.ops import CREATION, Op
from idrak.engine import debug as _debug

if TYPE_CHECKING:
    from idrak.runtime.devices import Device

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "LazyBuffer",
    "add_guard",
    "eager",
    "execute",
    "is_eager",
    "max_depth",
    "realize",
    "set_max_depth",
]

#: ops whose operand dtype is their own (no array inputs, or a fused kernel's mixed inputs)
_OWN_DTYPE = CREATION | {Op.FUSED}
#: their values: a str hashes in C, an Enum member through Python's Enum.__hash__
_OWN_DTYPE_VALUES = frozenset(op._value_ for op in _OWN_DTYPE)
_EAGER_DEFAULT = os.environ.get("IDRAK_EAGER", "") not in ("", "0")


class _LazyState(threading.local):
    """Per-thread switches of the lazy engine (``eager``), read on every op."""

    eager = _EAGER_DEFAULT

    # the dict interface of the former process-global ``{"eager": ...}``
    def __getitem__(self, key: str) -> bool:
        return bool(getattr(self, key))

    def __setitem__(self, key: str, value: bool) -> None:
        if key == "eager":
            _set_eager(bool(value))
        else:
            setattr(self, key, value)


_state = _LazyState()
#: how many threads have eager mode switched on by :func:`eager` (beyond the default)
_eager_users = [0]

#: the default bound on the depth of an unrealized chain (see benchmarks/lazy_depth.py: at 256
#: the forced realizations cost nothing measurable on a 10,000-op chain, while the depth, and the
#: memory the pending graph holds, stays bounded)
DEFAULT_MAX_DEPTH = 256


def _depth_from_env() -> int:
    raw = os.environ.get("IDRAK_MAX_LAZY_DEPTH", "")
    if not raw:
        return DEFAULT_MAX_DEPTH
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(
            f"IDRAK_MAX_LAZY_DEPTH must be a non-negative integer, got {raw!r}"
        ) from None
    if n < 0:
        raise ValueError(f"IDRAK_MAX_LAZY_DEPTH must be a non-negative integer, got {raw!r}")
    return n


#: the bound (process-wide): a list so the frontend reads ``_max_depth[0]`` without a call
_max_depth = [_depth_from_env()]
#: the depth past which the frontend looks further (``_bound[0]``): 0 while any thread may be
#: eager, else the bound (or "never"). One list read per op instead of a thread-local read.
_bound = [0]


def _refresh_bound() -> None:
    eager_somewhere = _EAGER_DEFAULT or _eager_users[0] > 0
    _bound[0] = 0 if eager_somewhere else (_max_depth[0] or sys.maxsize)


def _set_eager(enabled: bool) -> bool:
    """Set the calling thread's eager switch; returns the previous one."""
    prev = _state.eager
    _state.eager = enabled
    _eager_users[0] += int(enabled) - int(prev)
    _refresh_bound()
    return prev


_refresh_bound()


def max_depth() -> int:
    """The depth past which an unrealized node is realized as soon as it is created (0: never)."""
    return _max_depth[0]


def set_max_depth(depth: int) -> int:
    """Set the bound of :func:`max_depth` (0 turns it off); returns the previous value.

    Raises:
        ValueError: ``depth`` is not a non-negative integer.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"set_max_depth: depth must be a non-negative integer, got {depth!r}")
    prev = _max_depth[0]
    _max_depth[0] = depth
    _refresh_bound()
    return prev


#: hooks the scheduler calls with the list of nodes about to run (used by fusion/debugging)
schedule_hooks: list[Any] = []
#: a hook that returns a schedule of one node unchanged while :mod:`idrak.engine.debug` reports
#: nothing (the fusion pass registers its hook here when it installs it): when it is the only
#: hook, :func:`realize` runs a lone node on realized inputs without calling it
one_node_noop: list[Any] = [None]


class LazyBuffer:
    """One node of the lazy graph.

    Attributes:
        op: the primitive op, or ``None`` for a buffer loaded from host memory.
        srcs: input nodes (emptied once this node is realized).
        arg: the op's plain-Python argument (shape, axes, dtype, ...).
        shape, dtype, device: the output's metadata, known before realization.
        buf: the backend's array once realized, else ``None``.
        depth: the longest chain of unrealized nodes ending here (set by the frontend; a
            realized node counts 0 whatever it holds).
    """

    __slots__ = ("__weakref__", "arg", "buf", "depth", "device", "dtype", "op", "shape", "srcs")

    def __init__(
        self,
        op: Op | None,
        srcs: tuple[LazyBuffer, ...],
        arg: Any,
        shape: tuple[int, ...],
        dtype: DType,
        device: Device,
        buf: Any = None,
    ) -> None:
        self.op, self.srcs, self.arg = op, srcs, arg
        self.shape, self.dtype, self.device, self.buf = shape, dtype, device, buf
        self.depth = 0

    @property
    def realized(self) -> bool:
        return self.buf is not None

    def __repr__(self) -> str:
        state = "realized" if self.buf is not None else f"{self.op.name if self.op else 'load'}"
        return f"<LazyBuffer {state} {self.shape} {self.dtype.name} {self.device}>"


def schedule(nodes: list[LazyBuffer]) -> list[LazyBuffer]:
    """Unrealized nodes reachable from ``nodes`` in dependency order (sources first)."""
    if len(nodes) == 1:  # the common case of one op on realized inputs: no graph walk
        node = nodes[0]
        if node.buf is not None:
            return []
        for s in node.srcs:
            if s.buf is None:
                break
        else:
            return [node]
    order: list[LazyBuffer] = []
    # the nodes themselves (identity hash and equality, in C), not their id(): no call per test
    seen: set[LazyBuffer] = set()
    for root in nodes:
        if root.buf is not None or root in seen:
            continue
        stack: list[tuple[LazyBuffer, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            for s in node.srcs:
                if s.buf is None and s not in seen:
                    stack.append((s, False))
    return order


_WHERE = Op.WHERE  # bound once: enum attribute lookups cost ~0.1 us
_NO_CONTEXT = Backend.device_context


def execute(nodes: Sequence[Any], release: bool = True) -> None:
    """Run every node whose ``buf`` is None, in order, on its device's backend: THE place where
    idrak executes ops (realization and :func:`idrak.jit` replay both come here).

    The operand dtype passed to ``Backend.run`` is the sources' (the second one's for WHERE),
    or the node's own for creation ops and FUSED.

    A node is a :class:`LazyBuffer` or anything with its attributes (``device``, ``op``,
    ``srcs``, ``arg``, ``dtype``, ``buf``). Each run of consecutive nodes on one device runs
    inside one device context. With ``release`` (realization) a node's sources are dropped once
    it ran, so their memory can be freed; without it (a replay, whose nodes run again) each node
    has ``frees``, the nodes whose buffers are dead once it ran, and those are cleared instead.
    """
    dev: Any = None
    ctx: Any = None
    be: Any = None
    index = 0
    try:
        for node in nodes:
            if node.buf is not None:
                continue
            if node.device is not dev:
                if ctx is not None:
                    ctx.__exit__(None, None, None)
                    ctx = None
                dev = node.device
                be, index = dev.backend, dev.index
                if type(be).device_context is not _NO_CONTEXT:  # the base one does nothing
                    ctx = be.device_context(index)
                    ctx.__enter__()
            op = node.op
            srcs = node.srcs
            n_srcs = len(srcs)  # one and two sources without a comprehension's frame
            node.buf = be.run(
                op,
                (srcs[0].buf, srcs[1].buf)
                if n_srcs == 2
                else (srcs[0].buf,)
                if n_srcs == 1
                else tuple([s.buf for s in srcs])
                if n_srcs
                else (),
                node.arg,
                node.dtype
                if not srcs or op._value_ in _OWN_DTYPE_VALUES
                else srcs[1].dtype
                if op is _WHERE
                else srcs[0].dtype,
                index,
            )
            if release:
                node.srcs = ()
            else:
                for f in node.frees:
                    f.buf = None
    except BaseException as e:
        if ctx is not None:
            ctx.__exit__(type(e), e, e.__traceback__)
        raise
    if ctx is not None:
        ctx.__exit__(None, None, None)


class _Guard:
    """A check that travels with a node: ``flag`` (a 0-d bool node) is realized with it, and
    ``fail()`` builds the exception to raise when the flag is true."""

    __slots__ = ("fail", "flag")

    def __init__(self, flag: LazyBuffer, fail: Callable[[], BaseException]) -> None:
        self.flag, self.fail = flag, fail


#: pending guards by the node they protect; an entry dies with its node if never realized
_guards: weakref.WeakKeyDictionary[LazyBuffer, list[_Guard]] = weakref.WeakKeyDictionary()
#: its underlying dict (weak reference -> guards; never replaced): its truth value and keys are
#: read in C, where ``len(_guards)`` and ``node in _guards`` run Python code
_guard_refs: dict[Any, list[_Guard]] = _guards.data  # type: ignore[attr-defined]


def add_guard(node: LazyBuffer, flag: LazyBuffer, fail: Callable[[], BaseException]) -> None:
    """Check ``flag`` (a 0-d bool node) whenever ``node`` is realized: the flag is computed in
    the same schedule (so the fusion pass sees it), read back once the schedule ran, and
    ``fail()`` is raised when it is true. Used for device-side index bounds checks
    (docs/semantics.md). :func:`idrak.jit` replays run without the guards of their trace."""
    _guards.setdefault(node, []).append(_Guard(flag, fail))


def _with_guards(order: list[LazyBuffer]) -> tuple[list[LazyBuffer], list[_Guard]]:
    """``order`` extended by the flags of the guards on its nodes (transitively)."""
    checks: list[_Guard] = []
    while True:
        # the guarded nodes of this schedule, found from the (few) guards: a test of every node
        # with ``in _guards`` makes a weak reference per node, in Python
        in_order = set(order)
        hit = {n for n in (r() for r in list(_guard_refs)) if n is not None and n in in_order}
        new = [g for n in order if n in hit for g in _guards.pop(n)]
        if not new:
            return order, checks
        checks += new
        # the flags and what they need that is not scheduled yet, after the rest: still sources
        # first, without walking the whole graph again
        order = order + [n for n in schedule([g.flag for g in new]) if n not in in_order]


def realize(*nodes: LazyBuffer) -> None:
    """Compute every given node (and what it depends on) on its backend.

    Raises:
        whatever a guard on a realized node reports (see :func:`add_guard`).
    """
    if len(nodes) == 1 and not _guard_refs:
        # the common case of one op on realized inputs and no guards: no graph walk
        node = nodes[0]
        if node.buf is not None:
            return
        for s in node.srcs:
            if s.buf is None:
                break
        else:
            hooks = schedule_hooks
            if hooks and (
                len(hooks) > 1
                or hooks[0] is not one_node_noop[0]
                or _debug._topics  # debug.any_enabled(), without the call
                or _debug._sinks
            ):
                order = [node]
                for hook in hooks:
                    order = hook(order)
                execute(order)
                return
            dev = node.device
            be = dev.backend
            if type(be).device_context is not _NO_CONTEXT:
                execute([node])
                return
            # execute's loop body for this one node, inlined (one frame less per op)
            op: Op = node.op  # type: ignore[assignment]  # (unrealized: an op)
            srcs = node.srcs
            n_srcs = len(srcs)
            node.buf = be.run(
                op,
                (srcs[0].buf, srcs[1].buf)
                if n_srcs == 2
                else (srcs[0].buf,)
                if n_srcs == 1
                else tuple([s.buf for s in srcs])
                if n_srcs
                else (),
                node.arg,
                node.dtype
                if not srcs or op._value_ in _OWN_DTYPE_VALUES
                else srcs[1].dtype
                if op is _WHERE
                else srcs[0].dtype,
                dev.index,
            )
            node.srcs = ()
            return
        del s, node  # the fusion pass counts references to nodes: hold none here
    order = schedule(list(nodes))
    if not order:
        return
    checks: list[_Guard] = []
    if _guard_refs:
        order, checks = _with_guards(order)
    for hook in schedule_hooks:
        order = hook(order)
    execute(order)
    for g in checks:
        if bool(g.flag.device.backend.to_numpy(g.flag.buf)):
            raise g.fail()


def is_eager() -> bool:
    """Whether ops run as soon as they are written (``IDRAK_EAGER=1`` or :func:`eager`)."""
    return _state.eager


@contextlib.contextmanager
def eager(enabled: bool = True) -> Iterator[None]:
    """Context manager: realize every op as soon as it is created (for debugging). Per thread."""
    prev = _set_eager(bool(enabled))
    try:
        yield
    finally:
        _set_eager(prev)
