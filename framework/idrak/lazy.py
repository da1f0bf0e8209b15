"""The lazy graph: nodes that record a primitive op, and their realization.

Every Tensor op creates a :class:`LazyBuffer` node; nothing runs until a value is needed.
:func:`realize` sorts the unrealized part of the graph topologically with an explicit stack (no
recursion limit), runs each node's op on its device's backend, and then drops the node's sources
so intermediate buffers are freed as soon as nothing else refers to them.

``IDRAK_EAGER=1`` or :func:`eager` realizes every node as soon as it is created, which makes a
failing op fail on the line that wrote it (useful for debugging).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .dtypes import DType
from .ops import Op

if TYPE_CHECKING:
    from .device import Device

__all__ = ["LazyBuffer", "eager", "is_eager", "realize"]

_CREATION = (Op.FULL, Op.ARANGE, Op.RANDOM_BITS)
_state = {"eager": os.environ.get("IDRAK_EAGER", "") not in ("", "0")}
#: hooks the scheduler calls with the list of nodes about to run (used by fusion/debugging)
schedule_hooks: list[Any] = []


class LazyBuffer:
    """One node of the lazy graph.

    Attributes:
        op: the primitive op, or ``None`` for a buffer loaded from host memory.
        srcs: input nodes (emptied once this node is realized).
        arg: the op's plain-Python argument (shape, axes, dtype, ...).
        shape, dtype, device: the output's metadata, known before realization.
        buf: the backend's array once realized, else ``None``.
    """

    __slots__ = ("__weakref__", "arg", "buf", "device", "dtype", "op", "shape", "srcs")

    def __init__(self, op: Op | None, srcs: tuple[LazyBuffer, ...], arg: Any,
                 shape: tuple[int, ...], dtype: DType, device: Device, buf: Any = None) -> None:
        self.op, self.srcs, self.arg = op, srcs, arg
        self.shape, self.dtype, self.device, self.buf = shape, dtype, device, buf

    @property
    def realized(self) -> bool:
        return self.buf is not None

    def __repr__(self) -> str:
        state = "realized" if self.buf is not None else f"{self.op.name if self.op else 'load'}"
        return f"<LazyBuffer {state} {self.shape} {self.dtype.name} {self.device}>"


def schedule(nodes: list[LazyBuffer]) -> list[LazyBuffer]:
    """Unrealized nodes reachable from ``nodes`` in dependency order (sources first)."""
    order: list[LazyBuffer] = []
    seen: set[int] = set()
    for root in nodes:
        if root.buf is not None or id(root) in seen:
            continue
        stack: list[tuple[LazyBuffer, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for s in node.srcs:
                if s.buf is None and id(s) not in seen:
                    stack.append((s, False))
    return order


def _operand_dtype(node: LazyBuffer) -> DType:
    if node.op in _CREATION or not node.srcs:
        return node.dtype
    if node.op is Op.WHERE:
        return node.srcs[1].dtype
    return node.srcs[0].dtype


def run_node(node: LazyBuffer) -> None:
    """Run one node whose sources are realized, store its buffer and drop its sources."""
    dev = node.device
    be = dev.backend
    assert node.op is not None
    with be.device_context(dev.index):
        out = be.run(node.op, tuple(s.buf for s in node.srcs), node.arg, _operand_dtype(node),
                     dev.index)
    node.buf = out
    node.srcs = ()


def realize(*nodes: LazyBuffer) -> None:
    """Compute every given node (and what it depends on) on its backend."""
    order = schedule(list(nodes))
    if not order:
        return
    for hook in schedule_hooks:
        order = hook(order)
    for node in order:
        if node.buf is None:
            run_node(node)


def is_eager() -> bool:
    """Whether ops run as soon as they are written (``IDRAK_EAGER=1`` or :func:`eager`)."""
    return _state["eager"]


@contextlib.contextmanager
def eager(enabled: bool = True) -> Iterator[None]:
    """Context manager: realize every op as soon as it is created (for debugging)."""
    prev = _state["eager"]
    _state["eager"] = enabled
    try:
        yield
    finally:
        _state["eager"] = prev
