"""The FUSED kernel IR: what the fusion pass hands a backend (see :mod:`idrak.engine.fusion`).

A :class:`FusedKernel` is small, plain and hashable: the inputs' shapes and dtypes, an SSA list of
elementwise ops, an optional trailing reduction. Backends compile one program per kernel structure
(constants are runtime arguments) and keep it in a :class:`KernelCache`. A backend says what it
can fuse with a :class:`FusionSupport`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idrak.contract.dtypes import DType
from idrak.contract.ops import ELEMENTWISE, Op

__all__ = [
    "ELEMENTWISE",
    "FusedKernel",
    "FusedOp",
    "FusionSupport",
    "InputSpec",
    "KernelCache",
    "Scalar",
    "kernel_cache",
]

Scalar = bool | int | float


@dataclass(frozen=True)
class InputSpec:
    """One external input of a kernel.

    Attributes:
        shape: how the kernel views the input buffer (C order; a reshape of the buffer, which has
            the same number of elements): the kernel's ndim, each dim equal to the kernel's or 1
            (broadcast).
        dtype: the buffer's dtype.
    """

    shape: tuple[int, ...]
    dtype: DType

    def strides(self, kernel_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Element strides of a C-contiguous buffer of :attr:`shape`, 0 on broadcast dims."""
        out, step = [], 1
        for size, full in zip(reversed(self.shape), reversed(kernel_shape)):
            out.append(step if size == full and size != 1 else 0)
            step *= size
        return tuple(reversed(out))


@dataclass(frozen=True)
class FusedOp:
    """One op of a kernel, in SSA form.

    Values are numbered: ``0 .. len(inputs)-1`` are the inputs, ``len(inputs) + j`` is the result
    of ``ops[j]``.

    Attributes:
        op: an elementwise op, or ``Op.FULL`` for a scalar constant.
        srcs: the value numbers of the operands (empty for a constant).
        arg: CAST: the target dtype; FULL: the index into :attr:`FusedKernel.consts`; else None.
        dtype: the result's dtype.
    """

    op: Op
    srcs: tuple[int, ...]
    arg: Any
    dtype: DType


@dataclass(frozen=True)
class FusedKernel:
    """A fused kernel: elementwise ops over :attr:`shape`, then an optional reduction.

    The output is the last op's value, reduced over ``reduce[1]`` with ``reduce[0]`` (SUM or
    REDUCE_MAX, keeping dims) when ``reduce`` is set. Equality and hash ignore :attr:`consts`
    (they are runtime arguments), so one compiled program serves every constant value.

    Attributes:
        shape: the iteration shape of the elementwise part.
        inputs: the external inputs, in the order the backend receives their buffers.
        ops: the op list (see :class:`FusedOp` for value numbering).
        reduce: ``(Op.SUM | Op.REDUCE_MAX, axes)`` or None.
        reuse: index of an input that dies at this kernel and has the output's shape and dtype:
            the backend MAY write the output into its buffer (a hint; it must still check that
            the buffer is its own, contiguous and writable).
        consts: the constants' values, indexed by ``FusedOp.arg`` of FULL ops.
    """

    shape: tuple[int, ...]
    inputs: tuple[InputSpec, ...]
    ops: tuple[FusedOp, ...]
    reduce: tuple[Op, tuple[int, ...]] | None = None
    reuse: int | None = None
    consts: tuple[Scalar, ...] = field(default=(), compare=False)
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # kernels are looked up once per run: hash them once
        object.__setattr__(
            self, "_hash", hash((self.shape, self.inputs, self.ops, self.reduce, self.reuse))
        )

    def __hash__(self) -> int:
        return self._hash

    @property
    def dtype(self) -> DType:
        """The output's dtype."""
        return self.ops[-1].dtype

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The output's shape (reduced axes kept as size 1)."""
        if self.reduce is None:
            return self.shape
        axes = self.reduce[1]
        return tuple(1 if d in axes else s for d, s in enumerate(self.shape))

    def nbytes(self) -> int:
        """Bytes the kernel reads and writes at least once (inputs + output)."""
        ins = sum(math.prod(i.shape) * i.dtype.itemsize for i in self.inputs)
        return ins + math.prod(self.out_shape) * self.dtype.itemsize

    def describe(self) -> str:
        """One line: the op names in order, e.g. ``MUL ADD MAX -> SUM(1,)``."""
        names = [o.op.name if o.op is not Op.FULL else "const" for o in self.ops]
        red = f" -> {self.reduce[0].name}{self.reduce[1]}" if self.reduce else ""
        return " ".join(names) + red


@dataclass(frozen=True)
class FusionSupport:
    """What a backend's ``fused(*inputs, kernel)`` accepts (from ``backend.fusion_support()``).

    Attributes:
        ops: the elementwise ops it can fuse (a subset of :data:`ELEMENTWISE`).
        dtypes: dtypes any value inside a kernel may have.
        reduce_ops: SUM and/or REDUCE_MAX, when it can take a trailing reduction.
        op_dtypes: per-op restrictions of the operand dtype (e.g. DIV on floats only).
        casts: allowed ``(from, to)`` CAST pairs; None allows every pair within ``dtypes``.
        max_inputs: most inputs + constants per kernel.
        min_numel: groups over fewer elements run op by op (where a fused kernel's fixed cost
            outweighs the memory traffic it saves, as for an interpreter on the CPU).
    """

    ops: frozenset[Op]
    dtypes: frozenset[DType]
    reduce_ops: frozenset[Op] = frozenset()
    op_dtypes: Mapping[Op, frozenset[DType]] = field(default_factory=dict)
    casts: frozenset[tuple[DType, DType]] | None = None
    max_inputs: int = 64
    min_numel: int = 0


class KernelCache:
    """A bounded map from kernel structure to a compiled program, with hit/miss counters.

    Backends keep their compiled kernels here (:func:`kernel_cache` gives one per backend name)
    so ``idrak.engine.debug`` can report cache hits.
    """

    def __init__(self, name: str, size: int = 1024) -> None:
        self.name, self.size = name, size
        self.hits = self.misses = 0
        self._data: dict[Any, Any] = {}

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        """The program for ``key``, built with ``build()`` on a miss (oldest dropped when full)."""
        prog = self._data.get(key)
        if prog is not None:
            self.hits += 1
            return prog
        self.misses += 1
        prog = build()
        if len(self._data) >= self.size:
            del self._data[next(iter(self._data))]
        self._data[key] = prog
        return prog

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()
        self.hits = self.misses = 0


_caches: dict[str, KernelCache] = {}


def kernel_cache(backend_name: str) -> KernelCache:
    """The shared in-memory cache of compiled kernels for one backend (created on first use)."""
    c = _caches.get(backend_name)
    if c is None:
        c = _caches[backend_name] = KernelCache(backend_name)
    return c
