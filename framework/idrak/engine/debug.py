"""See what idrak runs: the schedule of every realization, with its fused kernels.

Turn it on with the environment variable ``IDRAK_DEBUG=schedule`` or in code::

    with idrak.engine.debug.schedule() as reports:      # prints to stderr and collects reports
        loss = train_step(x, y)
        idrak.realize(loss)
    print(reports[-1].kernels[0].ops)

Each realization prints one header line (nodes before and after fusion, bytes moved with and
without fusion) and one line per kernel: its op (``FUSED`` for a fused group), output shape and
dtype, bytes it moves (inputs read plus output written; views move nothing), and for a fused
kernel whether its compiled program was already in the backend's kernel cache (``hit``) or is
compiled now (``new``), followed by its op list.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from idrak.contract.ops import VIEWS, Op

if TYPE_CHECKING:
    from idrak.engine.lazy import LazyBuffer

__all__ = ["KernelReport", "ScheduleReport", "disable", "enable", "is_enabled", "schedule"]

_topics: set[str] = {t.strip() for t in os.environ.get("IDRAK_DEBUG", "").split(",") if t.strip()}
_sinks: list[tuple[TextIO | None, list[ScheduleReport]]] = []


@dataclass
class KernelReport:
    """One kernel of a schedule (see the module docstring for the fields' meaning)."""

    op: str
    shape: tuple[int, ...]
    dtype: str
    device: str
    nbytes: int
    cache: str = ""  # "hit" / "new" for FUSED kernels
    ops: str = ""  # the fused op list, e.g. "MUL ADD const MAX"
    n_inputs: int = 0
    kernel: Any = field(default=None, repr=False)  # the FusedKernel itself, for inspection


@dataclass
class ScheduleReport:
    """One realization: its kernels and the bytes moved, before and after fusion."""

    nodes_before: int
    bytes_before: int
    kernels: list[KernelReport] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes for k in self.kernels)

    @property
    def fused(self) -> list[KernelReport]:
        return [k for k in self.kernels if k.op == "FUSED"]

    def format(self) -> str:
        """The printed form: a header line and one line per kernel."""
        lines = [
            f"idrak schedule: {self.nodes_before} nodes -> {len(self.kernels)} kernels "
            f"({len(self.fused)} fused), {_mb(self.nbytes)} moved "
            f"(op by op: {_mb(self.bytes_before)})"
        ]
        for i, k in enumerate(self.kernels):
            extra = f" {k.cache:4s} [{k.n_inputs} in] {k.ops}" if k.op == "FUSED" else ""
            lines.append(
                f"  {i:3d} {k.op:11s} {k.device:8s} {k.shape!s:16s} {k.dtype:8s} "
                f"{_mb(k.nbytes):>9s}{extra}"
            )
        return "\n".join(lines)


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n} B"


def enable(*topics: str) -> None:
    """Turn debug output on; the only topic so far is ``"schedule"``."""
    _topics.update(topics)


def disable(*topics: str) -> None:
    """Turn topics off (all when none are given)."""
    if topics:
        _topics.difference_update(topics)
    else:
        _topics.clear()


def any_enabled() -> bool:
    """Whether any debug output is on (a topic, or a :func:`schedule` collector)."""
    return bool(_topics or _sinks)


def is_enabled(topic: str) -> bool:
    return topic in _topics or (topic == "schedule" and bool(_sinks))


@contextlib.contextmanager
def schedule(file: TextIO | None = sys.stderr) -> Iterator[list[ScheduleReport]]:
    """Print (to ``file``; None prints nothing) and collect the schedule of every realization."""
    reports: list[ScheduleReport] = []
    sink = (file, reports)
    _sinks.append(sink)
    try:
        yield reports
    finally:
        _sinks.remove(sink)


def _node_bytes(n: LazyBuffer) -> int:
    if n.op in VIEWS:
        return 0
    out = math.prod(n.shape) * n.dtype.itemsize
    return out + sum(math.prod(s.shape) * s.dtype.itemsize for s in n.srcs)


def summarize(order: list[LazyBuffer]) -> tuple[int, int]:
    """``(nodes, bytes)`` of a schedule run op by op (called before fusion rewrites it)."""
    return len(order), sum(_node_bytes(n) for n in order)


def report_schedule(order: list[LazyBuffer], before: tuple[int, int]) -> ScheduleReport:
    """Build, print and collect the report of a schedule about to run."""
    from idrak.contract.fused import kernel_cache

    rep = ScheduleReport(before[0], before[1])
    for n in order:
        dev = str(n.device)
        if n.op is Op.FUSED:
            k: Any = n.arg
            cache = "hit" if k in kernel_cache(n.device.backend.name) else "new"
            rep.kernels.append(
                KernelReport(
                    "FUSED",
                    k.out_shape,
                    k.dtype.name,
                    dev,
                    k.nbytes(),
                    cache,
                    k.describe(),
                    len(k.inputs),
                    k,
                )
            )
        else:
            name = n.op.name if n.op is not None else "LOAD"
            rep.kernels.append(KernelReport(name, n.shape, n.dtype.name, dev, _node_bytes(n)))
    text = rep.format()
    if "schedule" in _topics and not _sinks:
        print(text, file=sys.stderr)
    for file, reports in _sinks:
        reports.append(rep)
        if file is not None:
            print(text, file=file)
    return rep
