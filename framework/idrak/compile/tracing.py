"""``idrak.jit``: trace a function once per input signature, then replay its recorded schedule.

::

    @idrak.jit                      # or idrak.jit(step, state=[model, optimizer])
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

The first call with a new *signature* runs ``step`` normally while recording every node that
realization executes (after fusion, so the recording holds FUSED kernels). Later calls with the
same signature skip Python entirely: the recorded nodes run on the current input buffers and the
results are bound back (parameters, optimizer state, ``.grad``, returned tensors).

*State* is every Tensor reachable from the arguments and from ``state`` (default: the function's
closure variables and the globals it names), through lists, tuples, dicts and objects' attributes
(Modules, Optimizers). The *signature* is the shape, dtype, device, ``requires_grad`` and gradient
of each state tensor, every Python number, string and flag found on the way, grad mode, and
whether fusion is on; an optimizer's learning rate, betas and momentum are replay inputs instead
(see :mod:`idrak.compile.state`). A new signature (a new batch size, a changed weight decay)
retraces.

Limits (see ``docs/fusion.md``):

* Reading a value the function computed (``.item()``, ``.numpy()``, ``bool(t)``, printing,
  ``if t:``, moving to another device) raises :class:`JitError`: the replay cannot repeat Python
  decisions taken on values. Reading an input's value (validation) is allowed. Python control
  flow on shapes and on Python numbers is fine (it is traced).
* A call that changes Python state (a counter kept as an int, a new attribute, an optimizer
  creating its state on the first step) is not replayable: that signature runs without jit
  (with a warning). Keep such counters in Tensors.
* Random numbers (``rand``, ``randn``, Dropout, ...) are inputs of the recording: a replay draws
  the next words of the same counter-based stream, so it gives exactly the numbers the plain
  calls would have drawn. (While tracing, the words are computed on the host and copied in, also
  on a backend with native RANDOM_BITS.)
* Tensors the function creates from host data, and tensors it reaches that are not state, are
  frozen into the recording as constants. Returned tensors are plain values (no graph).
* Only the tracing thread's realizations are recorded; a jitted function called while another
  is being traced runs inline (its work is part of the outer recording).
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from idrak.compile.replay import compile_steps
from idrak.compile.snapshot import Snapshot
from idrak.compile.state import JitError, State, auto_state, side_effect
from idrak.contract.ops import VIEWS, Op
from idrak.core import random as _random
from idrak.core.tensor import Tensor
from idrak.engine import lazy as _lazy
from idrak.engine.lazy import LazyBuffer

__all__ = ["JitError", "Jitted", "jit"]

_READS = (
    "numpy",
    "item",
    "tolist",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__repr__",
    "__format__",
)
_tracing = threading.local()


# ---------------------------------------------------------------------------------------------
class _Recorder:
    """A schedule hook that records every node realization runs, as slot-numbered steps."""

    def __init__(self, inputs: list[LazyBuffer]) -> None:
        self.inputs = inputs  # kept alive: their ids must not be reused while recording
        self.slot: dict[int, int] = {id(lb): i for i, lb in enumerate(inputs)}
        self.dtypes: list[Any] = [lb.dtype for lb in inputs]  # the dtype of every slot
        self.n = len(inputs)
        self.consts: list[tuple[int, Any]] = []
        self.steps: list[tuple[Any, ...]] = []
        self.computed: set[int] = set()  # slots of values the traced call computed
        #: random draws of the traced call, in order: (generator, n words, the words' buffer,
        #: its slot or None); a replay draws fresh words for each
        self.draws: list[list[Any]] = []
        self._draw_of: dict[int, int] = {}
        self.rng_after: Any = None  # the default generator's state after its last draw
        self._watch: list[Any] = []
        self._thread = threading.get_ident()  # realizations on other threads are not ours

    def _new_slot(self, lb: LazyBuffer) -> int:
        k = self.n
        self.n += 1
        self.dtypes.append(lb.dtype)
        self.slot[id(lb)] = k
        key = id(lb)

        def forget(_: Any, key: int = key, k: int = k) -> None:  # the id may be reused now
            if self.slot.get(key) == k:
                del self.slot[key]

        self._watch.append(weakref.ref(lb, forget))
        return k

    def draw(self, gen: Any, n: int, lb: LazyBuffer) -> None:
        """The draw hook (:func:`idrak.core.random.set_draw_hook`) while tracing."""
        if threading.get_ident() != self._thread:
            return
        self._draw_of[id(lb)] = len(self.draws)
        self.draws.append([gen, n, lb, None])
        if gen is _random.default_generator:
            self.rng_after = gen.get_state()

    def src(self, lb: LazyBuffer) -> int:
        k = self.slot.get(id(lb))
        if k is None:
            k = self._new_slot(lb)
            d = self._draw_of.get(id(lb))
            if d is not None:  # random words: a fresh draw on every replay
                self.draws[d][3] = k
            else:  # realized before the call and not state: frozen as a constant
                self.consts.append((k, lb.buf))
        return k

    def hook(self, order: list[LazyBuffer]) -> list[LazyBuffer]:
        if threading.get_ident() != self._thread:
            return order
        for n in order:
            srcs = tuple(self.src(s) for s in n.srcs)
            k = self._new_slot(n)
            self.computed.add(k)
            self.steps.append((n.device, n.op, srcs, n.arg, k))
        return order

    def traced(self, lb: LazyBuffer) -> bool:
        """Whether ``lb`` is a value of the traced call (not an input or older constant)."""
        return lb.buf is None or self.slot.get(id(lb), -1) in self.computed


class _Slot:
    """One value of a program: an input, a constant, or the output of the step computing it (a
    node :func:`idrak.engine.lazy.execute` runs, like a LazyBuffer)."""

    __slots__ = ("arg", "buf", "device", "dtype", "frees", "op", "srcs")

    def __init__(self, dtype: Any) -> None:
        self.dtype, self.buf, self.op, self.srcs, self.arg, self.device = (
            dtype,
            None,
            None,
            (),
            None,
            None,
        )
        self.frees: tuple[_Slot, ...] = ()


class _Program:
    """A recorded call: steps over numbered value slots, and where the results go."""

    def __init__(self, rec: _Recorder, n_inputs: int, outputs: list[int]) -> None:
        self.n_inputs, self.outputs = n_inputs, outputs
        self.slots = [_Slot(rec.dtypes[k]) for k in range(rec.n)]
        self.consts = [(self.slots[k], b) for k, b in rec.consts]
        self.draws = [
            (gen, n, lb.device, None if k is None else self.slots[k]) for gen, n, lb, k in rec.draws
        ]
        live = set(outputs)
        steps: list[_Slot] = []
        for dev, op, srcs, arg, out in reversed(_shared_views(rec.steps, live)):  # drop dead
            if out not in live:
                continue
            frees = [s for s in set(srcs) if s not in live and s >= n_inputs]
            live.update(srcs)
            st = self.slots[out]
            st.device, st.op, st.arg = dev, op, arg
            st.srcs = tuple(self.slots[s] for s in srcs)
            st.frees = tuple(self.slots[f] for f in frees)
            steps.append(st)
        self.steps, self.hoisted = _hoist(steps[::-1], self.slots[:n_inputs], self.draws)
        self._compiled: Callable[..., list[Any]] | None = None  # made by the first run
        self.n_kernels = len(self.steps)

    def run(self, inputs: list[Any]) -> list[Any]:
        """Execute on ``inputs`` (one backend buffer per input slot); the output buffers.

        The first run computes the hoisted steps and compiles the others
        (:func:`idrak.compile.replay.compile_steps`); every run calls the compiled function.
        """
        words = []
        for gen, n, dev, into in self.draws:  # in the traced order: the same stream positions
            key = gen.take(n)
            if into is not None:
                w = _random.threefry2x32(n, *key)
                words.append(dev.backend.from_numpy(w, dev.index))
        if self._compiled is None:
            self._compile(inputs)
        assert self._compiled is not None
        return self._compiled(*inputs, *words)

    def _compile(self, inputs: list[Any]) -> None:
        """Compute the hoisted steps (kept from now on) and compile the varying ones."""
        slots = self.slots
        for slot, b in zip(slots, inputs):
            slot.buf = b
        for slot, b in self.consts:
            slot.buf = b
        try:
            for st in self.hoisted:
                st.buf = None
            _lazy.execute(self.hoisted, release=False)
            kept = [*self.consts, *((st, st.buf) for st in self.hoisted)]
        finally:
            for slot in slots:  # hold no buffer in the slots: the compiled function keeps them
                slot.buf = None
        params = slots[: self.n_inputs] + [into for *_, into in self.draws if into is not None]
        outs = [slots[o] for o in self.outputs]
        self._compiled = compile_steps(self.steps, params, kept, outs)


def _shared_views(steps: list[tuple[Any, ...]], keep: set[int]) -> list[tuple[Any, ...]]:
    """``steps`` with repeated views computed once: a view step (RESHAPE, EXPAND, PERMUTE...)
    with the same device, op, source and argument as an earlier one is dropped and its readers
    read the earlier one (the optimizer reshapes one 0-d bias correction for every parameter of
    the same rank). Views are never overwritten in place (a fused kernel only reuses a buffer
    that owns its memory), so sharing one is safe; slots in ``keep`` (the program's outputs) are
    not merged."""
    alias: dict[int, int] = {}
    first: dict[Any, int] = {}
    out_steps = []
    for dev, op, srcs, arg, out in steps:
        if alias:
            srcs = tuple(alias.get(s, s) for s in srcs)
        if op in VIEWS and out not in keep:
            try:
                k = first.setdefault((id(dev), op, srcs, arg), out)
            except TypeError:  # an unhashable argument: keep the step
                k = out
            if k != out:
                alias[out] = k
                continue
        out_steps.append((dev, op, srcs, arg, out))
    return out_steps


def _hoist(
    steps: list[_Slot], inputs: list[_Slot], draws: list[tuple[Any, ...]]
) -> tuple[list[_Slot], list[_Slot]]:
    """``steps`` split into those that depend on an input or a random draw, and the others:
    constants (FULL, ARANGE) and what is computed from constants alone (their views, casts...),
    which a replay computes once and keeps instead of recomputing every call.

    A hoisted step's buffer is never freed by the replay's ``frees`` for good: the kept list
    holds it, and each run puts it back in its slot.
    """
    varying = {id(s) for s in inputs} | {id(d[3]) for d in draws if d[3] is not None}
    kept, hoisted = [], []
    for st in steps:
        if st.op in _HOISTABLE_SOURCES or (st.srcs and all(id(x) not in varying for x in st.srcs)):
            hoisted.append(st)
        else:
            varying.add(id(st))
            kept.append(st)
    # a hoisted step must not free a slot another hoisted step reads later in a replay: the
    # frees lists were computed over all steps, so only the varying steps keep theirs
    for st in hoisted:
        st.frees = ()
    hoisted_ids = {id(st) for st in hoisted}
    for st in kept:
        st.frees = tuple(f for f in st.frees if id(f) not in hoisted_ids)
    return kept, hoisted


#: creation ops whose result depends only on their argument (RANDOM_BITS does not qualify: a
#: replay must draw again)
_HOISTABLE_SOURCES = frozenset({Op.FULL, Op.ARANGE})


# ---------------------------------------------------------------------------------------------
class Jitted:
    """A function wrapped by :func:`jit`. Call it like the function.

    Attributes:
        fn: the wrapped function.
        stats: counters: ``traces``, ``replays``, ``plain`` (calls run without jit).
    """

    _idrak_jit_opaque = True  # the state walk does not look inside jitted functions

    def __init__(self, fn: Callable[..., Any], state: Any = None, max_cache: int = 16) -> None:
        self.fn, self.state, self.max_cache = fn, state, max_cache
        self.stats = {"traces": 0, "replays": 0, "plain": 0}
        self._cache: OrderedDict[Any, _Entry | str] = OrderedDict()
        self._plain_streak = 0
        self._disabled = ""
        self._warned = False
        self._snap: Snapshot | None = None  # the last full walk, to re-check cheaply
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)

    def clear(self) -> None:
        """Forget every recording (the next call traces again)."""
        self._cache.clear()
        self._disabled, self._plain_streak = "", 0
        self._snap = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._disabled or getattr(_tracing, "active", False):
            self.stats["plain"] += 1
            return self.fn(*args, **kwargs)
        for a in (*args, *kwargs.values()):
            if isinstance(a, np.ndarray):
                raise JitError(
                    "idrak.jit: an argument is a NumPy array; pass an idrak Tensor "
                    "(host data converted inside a jitted function would be frozen "
                    "into the recording)"
                )
        fresh = self.state is None
        roots = (args, kwargs, auto_state(self.fn) if fresh else self.state)
        snap = self._snap
        st = snap.check(roots) if snap is not None else None
        if st is None:  # a full walk, remembered for the next call's check
            snap = None
            st = State(roots, record=frozenset((id(kwargs), id(roots[2]) if fresh else 0)))
        key = st.key()
        entry = self._cache.get(key)
        if entry is None and st.checked:  # a trace needs a full walk (paths, inputs)
            st = State(roots)
            key = st.key()
        if entry is None:
            self._snap = None
            entry, result = self._trace(args, kwargs, roots, st)
            self._cache[key] = entry
            if len(self._cache) > self.max_cache:
                self._cache.popitem(last=False)
            return result
        self._cache.move_to_end(key)
        if isinstance(entry, str):  # this signature is not replayable: run it as it is
            self.stats["plain"] += 1
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"idrak.jit({_name(self.fn)}): not replayable ({entry}); these "
                    "calls run without jit",
                    stacklevel=2,
                )
            return self.fn(*args, **kwargs)
        self.stats["replays"] += 1
        if snap is None:
            snap = self._snap = Snapshot(st, roots, fresh)
        result = entry.replay(st)
        if entry.moved:
            snap.rebound(st, entry.moved_positions)
        return result

    def _trace(self, args: Any, kwargs: Any, roots: Any, st: State) -> tuple[_Entry | str, Any]:
        """Run the function once, recording; returns the recording (or why not) and the result."""
        self.stats["traces"] += 1
        todo = [lb for lb in st.holders() if lb is not None and lb.buf is None]
        if todo:
            _lazy.realize(*todo)
        holders = st.holders()
        grads0: list[Tensor | None] = [t.grad for t in st.tensors]
        seen: set[int] = set()
        in_holders: list[int] = []  # the first holder of each distinct buffer: the inputs
        inputs: list[LazyBuffer] = []
        for h, lb in enumerate(holders):
            if lb is not None and id(lb) not in seen:
                seen.add(id(lb))
                in_holders.append(h)
                inputs.append(lb)
        rec = _Recorder(inputs)
        rng = _random.default_generator.get_state()
        saved = {n: Tensor.__dict__.get(n) for n in _READS}
        _tracing.active, _tracing.recorder = True, rec
        prev_draw = _random.set_draw_hook(rec.draw)
        _lazy.schedule_hooks.append(rec.hook)
        for n, f in saved.items():
            setattr(Tensor, n, _guard(n, f if f is not None else getattr(Tensor, n)))
        try:
            result = self.fn(*args, **kwargs)
            after = State(roots)
            finals = [t.lazy for t in after.tensors]
            finals += [_grad(t).lazy for t in after.tensors if t.grad is not None]
            finals += [t.lazy for t in State(result).tensors]
            todo = [lb for lb in finals if lb.buf is None]
            if todo:
                _lazy.realize(*todo)
        finally:
            _random.set_draw_hook(prev_draw)
            _lazy.schedule_hooks.remove(rec.hook)
            for n, f in saved.items():
                if f is None:
                    delattr(Tensor, n)
                else:
                    setattr(Tensor, n, f)
            _tracing.active, _tracing.recorder = False, None
        # random draws the recording replays leave the generator where they left it
        reason = side_effect(st, after, rec.rng_after or rng, roots)
        if reason:
            self._plain_streak += 1
            self.stats["plain"] += 1
            if self._plain_streak >= 3:
                self._disabled = reason
                warnings.warn(
                    f"idrak.jit({_name(self.fn)}): not replayable three calls in a row "
                    f"({reason}); it runs without jit from now on",
                    stacklevel=3,
                )
            return reason, result
        self._plain_streak = 0
        return _Entry(rec, st, after, holders, in_holders, grads0, result), result


def _grad(t: Tensor) -> Tensor:
    g: Any = t.grad
    return g


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", type(fn).__name__)


def _guard(name: str, orig: Any) -> Any:
    """``Tensor.<name>`` while tracing: reading a value the call computed raises JitError."""

    def read(self: Tensor, *a: Any, **k: Any) -> Any:
        rec = getattr(_tracing, "recorder", None)
        if rec is None or not rec.traced(self.lazy):  # an input's value: it is what it is
            return orig(self, *a, **k)
        raise JitError(
            f"idrak.jit: Tensor.{name}() reads a value computed inside a traced "
            f"function (shape {tuple(self.shape)}); a replay cannot repeat Python "
            "decisions taken on values. Return the tensor and read it outside the "
            "jitted function, or call the function without idrak.jit"
        )

    return read


def _template(obj: Any, pos: dict[int, int], out: Callable[[LazyBuffer], int]) -> Any:
    """``obj`` with its tensors replaced by markers: ("state", p) or ("out", o)."""
    if isinstance(obj, Tensor):
        p = pos.get(id(obj))
        return _Mark("state", p) if p is not None else _Mark("out", out(obj.lazy))
    if isinstance(obj, (list, tuple)):
        items = [_template(x, pos, out) for x in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)((k, _template(v, pos, out)) for k, v in obj.items())
    return obj


class _Mark:
    __slots__ = ("i", "kind")

    def __init__(self, kind: str, i: int) -> None:
        self.kind, self.i = kind, i


def _build(tpl: Any, tensors: list[Tensor], lbs: list[LazyBuffer]) -> Any:
    if isinstance(tpl, _Mark):
        return tensors[tpl.i] if tpl.kind == "state" else Tensor._from_lazy(lbs[tpl.i])
    if isinstance(tpl, (list, tuple)):
        items = [_build(x, tensors, lbs) for x in tpl]
        return type(tpl)(*items) if hasattr(tpl, "_fields") else type(tpl)(items)
    if isinstance(tpl, dict):
        return type(tpl)((k, _build(v, tensors, lbs)) for k, v in tpl.items())
    return tpl


class _Entry:
    """One signature's recording, and how its results are bound back."""

    def __init__(
        self,
        rec: _Recorder,
        st: State,
        after: State,
        holders: list[LazyBuffer | None],
        in_holders: list[int],
        grads0: list[Tensor | None],
        result: Any,
    ) -> None:
        self.in_holders = in_holders
        outs: list[int] = []
        self.meta: list[tuple[Any, ...]] = []
        slot_out: dict[int, int] = {}

        def out(lb: LazyBuffer) -> int:
            k = rec.src(lb)
            if k not in slot_out:
                slot_out[k] = len(outs)
                outs.append(k)
                self.meta.append((lb.shape, lb.dtype, lb.device))
            return slot_out[k]

        n = len(st.tensors)
        # tensors the call replaced with new Tensor objects: a new Tensor goes in their slot
        self.moved = [
            (p, out(t1.lazy), t1.requires_grad)
            for p, (t0, t1) in enumerate(zip(st.tensors, after.tensors))
            if t1 is not t0
        ]
        moved = {p for p, _, _ in self.moved}
        self.moved_positions = sorted(moved)
        self.values = [
            (p, out(t.lazy))
            for p, t in enumerate(st.tensors)
            if p not in moved and t.lazy is not holders[p]
        ]
        self.grads: list[tuple[int, int | None, bool]] = []
        for p, t1 in enumerate(after.tensors):
            g0, g = holders[n + p], t1.grad
            if g is None:
                if g0 is not None or p in moved:
                    self.grads.append((p, None, False))
            elif g.lazy is not g0 or g is not grads0[p] or p in moved:
                self.grads.append((p, out(g.lazy), g is grads0[p] and p not in moved))
        self.template = _template(result, {id(t): p for p, t in enumerate(after.tensors)}, out)
        self.program = _Program(rec, len(in_holders), outs)

    def replay(self, st: State) -> Any:
        """Run the recording on the current state and bind the results back."""
        holders = st.holders()
        inputs = [holders[h] for h in self.in_holders]
        todo = [lb for lb in inputs if lb is not None and lb.buf is None]
        if todo:  # state left lazy between calls (``p.assign(p * 0.5)`` outside): compute it
            _lazy.realize(*todo)
        bufs = self.program.run([lb.buf for lb in inputs])  # type: ignore[union-attr]
        lbs = [
            LazyBuffer(None, (), None, sh, dt, dev, b) for (sh, dt, dev), b in zip(self.meta, bufs)
        ]
        ts = list(st.tensors)
        for p, o, rg in self.moved:
            t = ts[p] = Tensor._from_lazy(lbs[o], rg)
            for box, key in st.locs[p]:  # type: ignore[union-attr]
                box[key] = t
        for p, o in self.values:
            ts[p].lazy = lbs[o]
        for p, oi, same in self.grads:
            t = ts[p]
            if oi is None:
                t.grad = None
            elif same and t.grad is not None:
                _grad(t).lazy = lbs[oi]
            else:
                t.grad = Tensor._from_lazy(lbs[oi])
        st.tensors = ts
        return _build(self.template, ts, lbs)


def jit(fn: Callable[..., Any] | None = None, *, state: Any = None, max_cache: int = 16) -> Any:
    """Trace ``fn`` once per input signature and replay the recorded, fused schedule.

    Use as ``@idrak.jit``, ``@idrak.jit(state=[model, opt])`` or ``idrak.jit(fn, state=...)``.

    Args:
        fn: the function (e.g. a whole training step: forward, backward, optimizer update).
        state: objects holding the tensors the function reads and updates (Modules,
            Optimizers, tensors, lists of them). Default: the function's closure variables and
            the globals it names. Arguments are always state.
        max_cache: recordings kept (one per signature, least recently used dropped).

    Returns:
        a :class:`Jitted` callable.

    Raises (from the call):
        JitError: the function reads a tensor value while traced, or is given NumPy arrays.
    """
    if fn is None:
        return lambda f: Jitted(f, state, max_cache)
    return Jitted(fn, state, max_cache)
