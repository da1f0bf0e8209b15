"""Kernel fusion: the scheduler pass that builds FUSED kernels.

When :func:`idrak.engine.lazy.realize` is about to run a list of nodes, :func:`fuse` (the first
of :data:`idrak.engine.lazy.schedule_hooks` once :func:`install` ran) replaces every tree of
elementwise nodes whose intermediate values nobody else needs by ONE node with op
:attr:`~idrak.contract.ops.Op.FUSED`. Its ``arg`` is a :class:`~idrak.contract.fused.FusedKernel`:
a small, backend-neutral, hashable description of the work (the inputs' shapes and dtypes, the op
list, an optional trailing reduction). A backend compiles it once per structure and runs it in
one pass over memory instead of one pass per op.

Only backends that opt in are touched: a backend whose
:meth:`~idrak.contract.backend.Backend.fusion_support` returns a
:class:`~idrak.contract.fused.FusionSupport` gets FUSED nodes, which run through
:meth:`~idrak.contract.backend.Backend.run` like every other op; every other backend runs op by
op, unchanged. ``IDRAK_DISABLE_FUSION=1`` or :func:`set_enabled` turns the pass off. Autograd is
unaffected: it is recorded on Tensors; fusion only changes how a schedule runs. See
``docs/fusion.md``.

What a group may hold (all on one device, every value's dtype declared by the backend):

* unary, binary, WHERE and CAST nodes (the backend's ``FusionSupport.ops``);
* FULL nodes, absorbed as scalar constants (their values are runtime arguments, not structure);
* RESHAPE/EXPAND chains feeding the group, absorbed as broadcast input views;
* one trailing SUM or REDUCE_MAX at the root (``FusionSupport.reduce_ops``).

A node stays materialized (a group root, or outside any group) when anything else needs its
value: another node of the schedule outside the group, an unrealized node outside the schedule,
or a live Tensor. The last two are found by reference counting (see :func:`_refcounts`); when in
doubt the pass does not fuse.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from idrak.contract.dtypes import DType
from idrak.contract.fused import FusedKernel, FusedOp, FusionSupport, InputSpec, Scalar
from idrak.contract.ops import ELEMENTWISE, OPS, Op
from idrak.engine import debug as _debug
from idrak.engine import lazy as _lazy

if TYPE_CHECKING:
    from idrak.engine.lazy import LazyBuffer

__all__ = ["any_size", "enabled", "fuse", "install", "set_enabled", "uninstall"]

_REDUCE = frozenset(op for op, d in OPS.items() if d.group == "reduce")
_REDUCE_VALUES = frozenset(op._value_ for op in _REDUCE)
_ELEMENTWISE_VALUES = frozenset(op._value_ for op in ELEMENTWISE)
#: ops whose result a backend returns as a newly allocated array (never a view of an input), so
#: a fused kernel may write its output over it once it is dead (``FusedKernel.reuse``)
_FRESH = ELEMENTWISE | {Op.MATMUL, Op.FUSED}


# ---------------------------------------------------------------------------------------------
# switches
_ENABLED_DEFAULT = os.environ.get("IDRAK_DISABLE_FUSION", "") in ("", "0")


class _FusionState(threading.local):
    """The switches, per thread (as torch's grad mode): ``enabled`` (:func:`set_enabled`) and
    ``any_size`` (:func:`any_size`: ignore every backend's ``FusionSupport.min_numel``)."""

    enabled = _ENABLED_DEFAULT
    any_size = False

    def __getitem__(self, key: str) -> bool:
        return bool(getattr(self, key))

    def __setitem__(self, key: str, value: bool) -> None:
        setattr(self, key, value)


_state = _FusionState()


def enabled() -> bool:
    """Whether the fusion pass runs (off with ``IDRAK_DISABLE_FUSION=1``)."""
    return _state.enabled


def set_enabled(on: bool) -> bool:
    """Turn the fusion pass on or off in the calling thread; returns the previous setting."""
    prev = _state.enabled
    _state.enabled = bool(on)
    return prev


@contextlib.contextmanager
def any_size() -> Iterator[None]:
    """Inside, groups of any size fuse (every backend's ``FusionSupport.min_numel`` is ignored):
    for checks and tests that use small arrays."""
    prev = _state.any_size
    _state.any_size = True
    try:
        yield
    finally:
        _state.any_size = prev


def _min_numel(sup: FusionSupport) -> int:
    return 0 if _state.any_size else sup.min_numel


# ---------------------------------------------------------------------------------------------
# the pass
def _refcounts(nodes: list[Any]) -> list[int]:
    """``sys.getrefcount`` of every item, read in exactly the way :data:`_BASE_REFS` was."""
    return [sys.getrefcount(n) for n in nodes]


#: references an object has only from being an item of the list given to :func:`_refcounts`
#: (measured, not assumed, so a Python version that counts differently stays correct)
_BASE_REFS = _refcounts([object()])[0]


#: answers of :func:`_check_elementwise` by backend support (``id``; the support is kept alive
#: with its answers) and by a key of strings, which hash in C where Op and DType hash in Python
_ok_cache: dict[int, tuple[FusionSupport, dict[tuple[Any, ...], bool]]] = {}


def _elementwise_ok(n: LazyBuffer, sup: FusionSupport) -> bool:
    """Whether ``sup`` fuses the elementwise node ``n`` (op, dtypes, cast pair): memoized."""
    entry = _ok_cache.get(id(sup))
    if entry is None or entry[0] is not sup:
        entry = _ok_cache[id(sup)] = (sup, {})
    srcs = n.srcs
    arg = n.arg
    n_srcs = len(srcs)
    key = (
        n.op._value_,  # type: ignore[union-attr]  # (unrealized: an op)
        n.dtype.name,
        (srcs[0].dtype.name, srcs[1].dtype.name)
        if n_srcs == 2
        else srcs[0].dtype.name
        if n_srcs == 1
        else tuple([s.dtype.name for s in srcs]),
        arg.name if isinstance(arg, DType) else None,
    )
    ok = entry[1].get(key)
    if ok is None:
        ok = entry[1][key] = _check_elementwise(n, sup)
    return ok


def _check_elementwise(n: LazyBuffer, sup: FusionSupport) -> bool:
    op = n.op
    if op not in sup.ops:
        return False
    od = n.srcs[1].dtype if op is Op.WHERE else n.srcs[0].dtype
    if n.dtype not in sup.dtypes or od not in sup.op_dtypes.get(op, sup.dtypes):
        return False
    if op is Op.WHERE and n.srcs[0].dtype not in sup.dtypes:  # the condition (bool)
        return False
    if op is Op.CAST:
        return sup.casts is None or (od, n.arg) in sup.casts
    return True


class _Builder:
    """Collects one group's inputs, constants and ops while walking it from the root."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.inputs: list[LazyBuffer] = []
        self.specs: list[InputSpec] = []
        self.input_key: dict[tuple[int, tuple[int, ...]], int] = {}
        self.consts: list[Scalar] = []
        self.const_key: dict[tuple[Any, ...], int] = {}
        self.ops: list[tuple[Op, tuple[tuple[str, int], ...], Any, DType]] = []
        self.drops: list[int] = []  # absorbed RESHAPE/EXPAND nodes (schedule indices)
        self.absorbed: list[int] = []  # FULL nodes absorbed as constants, once per use

    def add_input(self, node: LazyBuffer, view: tuple[int, ...]) -> tuple[str, int]:
        key = (id(node), view)
        i = self.input_key.get(key)
        if i is None:
            i = self.input_key[key] = len(self.inputs)
            self.inputs.append(node)
            self.specs.append(InputSpec(view, node.dtype))
        return ("in", i)

    def add_const(self, value: Scalar, dtype: DType) -> tuple[str, int]:
        bits = value.hex() if isinstance(value, float) else value
        key = (dtype.name, type(value), bits)  # (a DType hashes in Python, its name in C)
        j = self.const_key.get(key)
        if j is None:
            self.consts.append(value)
            self.ops.append((Op.FULL, (), len(self.consts) - 1, dtype))
            j = self.const_key[key] = len(self.ops) - 1
        return ("op", j)

    def kernel(self, reduce: tuple[Op, tuple[int, ...]] | None) -> FusedKernel:
        n_in = len(self.inputs)

        ops = []
        for op, srcs, arg, dt in self.ops:  # (loops: a generator resumes once per item)
            nums = [r[1] if r[0] == "in" else n_in + r[1] for r in srcs]
            ops.append(FusedOp(op, tuple(nums), arg, dt))
        return FusedKernel(
            self.shape, tuple(self.specs), tuple(ops), reduce, None, tuple(self.consts)
        )


def fuse(order: list[LazyBuffer]) -> list[LazyBuffer]:
    """The fusion pass: ``order`` (unrealized nodes, sources first) with groups replaced.

    The root of each group becomes a FUSED node (its op, arg and srcs are rewritten in place);
    the group's other nodes are left out of the returned list and are freed with it.
    """
    if len(order) < 2 or not _worth_fusing(order):
        return order
    rc = _refcounts(order)  # first: nothing below may hold a node before this
    n_nodes = len(order)
    index = {id(n): i for i, n in enumerate(order)}
    uses, consumers = _consumers(order, index)
    # references from outside the schedule: live Tensors, unrealized nodes not being run
    ext = [rc[i] - _BASE_REFS - uses[i] for i in range(n_nodes)]
    sups: dict[int, FusionSupport | None] = {}
    min_numels: dict[int, int] = {}  # (read once per device, not per node)
    for n in order:
        if id(n.device) not in sups:
            sup = sups[id(n.device)] = n.device.backend.fusion
            min_numels[id(n.device)] = _min_numel(sup) if sup is not None else 0
    if _fold_transposes(order, index, uses, ext, sups):
        uses, consumers = _consumers(order, index)
    member = [-1] * n_nodes  # index of the group root each fusable node belongs to
    for i in range(n_nodes - 1, -1, -1):
        n = order[i]
        sup = sups[id(n.device)]
        if sup is None:
            continue
        # ops tested by their string value: a str hashes in C, an Enum member in Python
        op_value = n.op._value_  # type: ignore[union-attr]  # (unrealized: an op)
        is_reduce = op_value in _REDUCE_VALUES
        min_numel = min_numels[id(n.device)]
        if min_numel and math.prod(n.srcs[0].shape if is_reduce else n.shape) < min_numel:
            continue
        if is_reduce:
            if (
                n.op in sup.reduce_ops
                and n.dtype in sup.op_dtypes.get(n.op, sup.dtypes)
                and n.srcs[0].buf is None
            ):
                member[i] = i
            continue
        if op_value not in _ELEMENTWISE_VALUES or not _elementwise_ok(n, sup):
            continue
        # inside a group when every consumer is in that one group and nothing else needs it
        g = member[consumers[i][0]] if consumers[i] and ext[i] == 0 else -1
        inner = g >= 0 and all(member[j] == g for j in consumers[i])
        member[i] = g if inner and order[g].device == n.device else i
    dropped = [uses[i] == 0 and ext[i] == 0 for i in range(n_nodes)]  # views a fold left unused
    absorbed = [0] * n_nodes
    for r in range(n_nodes):
        if member[r] == r:
            _build_group(order, r, member, index, uses, ext, dropped, absorbed)
    for i in range(n_nodes):  # constants every consumer absorbed
        if absorbed[i] and absorbed[i] == uses[i] and ext[i] == 0:
            dropped[i] = True
    return [n for i, n in enumerate(order) if not dropped[i]]


def _worth_fusing(order: list[LazyBuffer]) -> bool:
    """Whether any node runs on a fusing backend at a size that backend fuses (a cheap pre-check;
    a function of its own so no local reference to a node outlives it)."""
    dev: Any = None
    min_numel = -1  # -1: the device does not fuse
    for n in order:
        if n.device is not dev:  # (the backend's fusion support is read once per device run)
            dev = n.device
            sup = dev.backend.fusion
            min_numel = -1 if sup is None else _min_numel(sup)
        if min_numel >= 0 and math.prod(n.shape) >= min_numel:
            return True
    return False


def _consumers(order: list[LazyBuffer], index: dict[int, int]) -> tuple[list[int], list[list[int]]]:
    """How often each node is a source in the schedule, and which nodes use it."""
    uses = [0] * len(order)
    consumers: list[list[int]] = [[] for _ in order]
    for j, n in enumerate(order):
        for s in n.srcs:
            i = index.get(id(s))
            if i is not None:
                uses[i] += 1
                consumers[i].append(j)
    return uses, consumers


def _fold_transposes(
    order: list[LazyBuffer],
    index: dict[int, int],
    uses: list[int],
    ext: list[int],
    sups: dict[int, FusionSupport | None],
) -> bool:
    """Rewrite ``transpose(a @ transpose(x))`` as ``transpose(a)... `` so the result is contiguous.

    A 2-D ``PERMUTE((1, 0))`` of a ``MATMUL`` nobody else uses, one of whose operands is itself a
    transpose, becomes ``MATMUL(b.T, x)`` (or ``MATMUL(y, a.T)``): the same values, written in
    the layout the consumers read. (The weight gradient of ``x @ w.T`` comes out transposed
    otherwise, and every optimizer kernel would read it with a large stride.) The dead MATMUL
    node is reused as the new transpose view. Returns whether anything changed.
    """
    changed = False
    for p in order:
        if p.op is not Op.PERMUTE or p.arg != (1, 0) or sups[id(p.device)] is None:
            continue
        m = p.srcs[0]
        k = index.get(id(m))
        if k is None or m.op is not Op.MATMUL or uses[k] != 1 or ext[k] != 0:
            continue
        a, b = m.srcs
        if _is_transpose(a):  # (x.T @ b).T = b.T @ x
            m.op, m.srcs, m.arg, m.shape = Op.PERMUTE, (b,), (1, 0), b.shape[::-1]
            p.op, p.srcs, p.arg = Op.MATMUL, (m, a.srcs[0]), None
        elif _is_transpose(b):  # (a @ y.T).T = y @ a.T
            m.op, m.srcs, m.arg, m.shape = Op.PERMUTE, (a,), (1, 0), a.shape[::-1]
            p.op, p.srcs, p.arg = Op.MATMUL, (b.srcs[0], m), None
        else:
            continue
        changed = True
    return changed


def _is_transpose(n: LazyBuffer) -> bool:
    return n.buf is None and n.op is Op.PERMUTE and n.arg == (1, 0) and len(n.shape) == 2


def _build_group(
    order: list[LazyBuffer],
    r: int,
    member: list[int],
    index: dict[int, int],
    uses: list[int],
    ext: list[int],
    dropped: list[bool],
    absorbed: list[int],
) -> None:
    """Build the kernel of the group rooted at ``order[r]`` and rewrite the root in place."""
    root = order[r]
    reduce = None
    top = root
    if root.op in _REDUCE:
        reduce = (root.op, tuple(root.arg))
        top = root.srcs[0]
        t = index.get(id(top))
        if t is None or member[t] != r:
            return  # a reduction of something that does not fuse: leave it alone
    b = _Builder(top.shape)
    inside: list[int] = []  # group members other than the root
    group_uses: dict[int, int] = {}  # uses of each input node by the group's members
    sup = root.device.backend.fusion
    assert sup is not None

    def leaf(s: LazyBuffer) -> tuple[str, int]:
        """An operand outside the group: a constant, a broadcast view, or a plain input."""
        view, can_expand = b.shape, True
        chain: list[int] = []
        while s.buf is None:
            k = index.get(id(s))
            if k is None:
                break
            if s.op is Op.FULL:
                b.absorbed.append(k)
                b.drops += chain
                return b.add_const(s.arg[1], s.arg[2])
            if uses[k] != 1 or ext[k] != 0:
                break
            if s.op is Op.EXPAND and can_expand:
                view = s.srcs[0].shape
            elif s.op is Op.RESHAPE:
                can_expand = False
            else:
                break
            chain.append(k)
            s = s.srcs[0]
        b.drops += chain
        group_uses[id(s)] = group_uses.get(id(s), 0) + 1
        return b.add_input(s, view)

    # post-order walk of the group (a DAG) with an explicit stack: no recursion limit
    refs: dict[int, tuple[str, int]] = {}
    seen: set[int] = set()
    stack: list[tuple[LazyBuffer, bool]] = [(top, False)]
    while stack:
        n, done = stack.pop()
        if done:
            refs_of = []
            for s in n.srcs:
                ref = refs.get(id(s))
                refs_of.append(leaf(s) if ref is None else ref)
            srcs = tuple(refs_of)
            b.ops.append((n.op, srcs, n.arg, n.dtype))  # type: ignore[arg-type]
            refs[id(n)] = ("op", len(b.ops) - 1)
            continue
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n is not root:
            inside.append(index[id(n)])
        stack.append((n, True))
        for s in reversed(n.srcs):
            k = index.get(id(s))
            if k is not None and member[k] == r and k != r and id(s) not in seen:
                stack.append((s, False))
    if len(b.inputs) + len(b.consts) > sup.max_inputs or not b.inputs:
        return  # too big for the backend, or only constants: the group runs op by op
    n_ops = sum(1 for o in b.ops if o[0] is not Op.FULL)
    if n_ops + (reduce is not None) < 2 and not b.consts and not b.drops:
        return  # one op with nothing absorbed: fusing would gain nothing
    kernel = b.kernel(reduce)
    if reduce is None:
        kernel = _with_reuse(kernel, b, index, uses, ext, group_uses)
    for k in inside + b.drops:
        dropped[k] = True
    for k in b.absorbed:
        absorbed[k] += 1
    root.op, root.arg, root.srcs = Op.FUSED, kernel, tuple(b.inputs)


def _with_reuse(
    kernel: FusedKernel,
    b: _Builder,
    index: dict[int, int],
    uses: list[int],
    ext: list[int],
    group_uses: dict[int, int],
) -> FusedKernel:
    """Mark one input whose buffer dies here and matches the output (see ``FusedKernel.reuse``)."""
    for m, node in enumerate(b.inputs):
        k = index.get(id(node))
        if (
            k is None
            or sum(1 for x in b.inputs if x is node) != 1
            or ext[k] != 0
            or uses[k] != group_uses.get(id(node), 0)
            or node.op not in _FRESH
            or node.shape != kernel.shape
            or b.specs[m].shape != kernel.shape
            or node.dtype != kernel.dtype
        ):
            continue
        return FusedKernel(kernel.shape, kernel.inputs, kernel.ops, None, m, kernel.consts)
    return kernel


# ---------------------------------------------------------------------------------------------
def _schedule_hook(order: list[LazyBuffer]) -> list[LazyBuffer]:
    """The scheduler hook: fuse, then report the schedule when ``idrak.engine.debug`` asks for
    it."""
    if len(order) < 2 and not _debug.any_enabled():
        return order  # one node: nothing to fuse, nothing to report
    if not _debug.is_enabled("schedule"):
        return fuse(order) if _state.enabled else order
    before = _debug.summarize(order)
    if _state.enabled:
        order = fuse(order)
    _debug.report_schedule(order, before)
    return order


def install() -> None:
    """Make the pass the first scheduler stage of :func:`idrak.engine.lazy.realize` (the frontend
    does this once, when :mod:`idrak.core.tensor` loads). Idempotent."""
    if _schedule_hook not in _lazy.schedule_hooks:
        _lazy.schedule_hooks.insert(0, _schedule_hook)
    _lazy.one_node_noop[0] = _schedule_hook  # (see the first line of _schedule_hook)


def uninstall() -> None:
    """Remove the pass from the scheduler (realization then runs op by op)."""
    while _schedule_hook in _lazy.schedule_hooks:
        _lazy.schedule_hooks.remove(_schedule_hook)
