"""The interface a backend plugin implements.

A backend is a thin class over an array library. It implements every required op of
:mod:`idrak.contract.ops` as the method its record names (:attr:`OpDef.signature
<idrak.contract.ops.OpDef.signature>`: ``add(x, y)``, ``pad(x, widths, value)``,
``full(shape, value, dtype, device_index)``), the optional ops it declares in
:meth:`Backend.capabilities`, three runtime methods (:meth:`~Backend.from_numpy`,
:meth:`~Backend.to_numpy`, :meth:`~Backend.synchronize`) and, if it compiles fused kernels,
:meth:`~Backend.fusion_support` and :meth:`~Backend.fused`.

The frontend never calls op methods directly; it calls :meth:`Backend.run`, the one dispatch path
of every op (FUSED included), which checks the op and dtype against what the backend declared and
raises :class:`~idrak.errors.NotSupportedError` for anything undeclared, so a backend cannot
silently return a wrong answer for an op it never claimed. ``x``, ``y``... are the backend's own
arrays; every other argument is plain Python. The calling convention of each op follows from its
record: no params -> ``method(*arrays)``; one -> ``method(*arrays, arg)``; several ->
``method(*arrays, *arg)``; a creation op -> ``method(*arg, device_index)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from idrak.contract.dtypes import DType
from idrak.contract.ops import OPS, Capabilities, Op
from idrak.errors import NotSupportedError

if TYPE_CHECKING:
    from idrak.contract.fused import FusionSupport

__all__ = ["Backend"]

# calling conventions, decided once per (op, dtype) from the op's record and cached by run()
_PLAIN, _ARG, _CREATE, _SPREAD, _CAST = range(5)
_NO_ENTRIES: dict[Any, Any] = {}


def _dtype_by_name(dt: Any) -> DType | None:
    """The idrak dtype named like ``dt`` (``float16``, ``torch.float16``, ``dtype('int8')``)."""
    if dt is None:
        return None
    from idrak.contract.dtypes import ALL_DTYPES

    name = str(getattr(dt, "name", None) or dt).rsplit(".", 1)[-1]
    name = {"bool_": "bool", "half": "float16", "float": "float32", "double": "float64"}.get(
        name, name
    )
    for d in ALL_DTYPES:
        if d.name == name:
            return d
    return None


def _overlap(a: Any, b: Any) -> bool | None:
    """Whether two buffers overlap, where their memory can be located; else ``None``."""
    if hasattr(a, "__array_interface__") and hasattr(b, "__array_interface__"):
        return bool(np.may_share_memory(a, b))
    span = []
    for x in (a, b):
        ptr = getattr(x, "data_ptr", None)
        if not callable(ptr):
            return None
        n = int(x.numel() * x.element_size()) if hasattr(x, "numel") else int(x.nbytes)
        span.append((int(ptr()), int(ptr()) + n))
    (a0, a1), (b0, b1) = span
    return a0 < b1 and b0 < a1


def _convention(op: Op) -> int:
    d = OPS[op]
    if op is Op.CAST:
        return _CAST
    if d.creates:
        return _CREATE
    return _PLAIN if not d.params else _ARG if len(d.params) == 1 else _SPREAD


class Backend:
    """Base class of every backend. Subclasses set :attr:`name` and implement the op methods.

    Raises:
        NotSupportedError: from :meth:`run` for an undeclared op or dtype.
    """

    #: the registered name; also the device-string prefix (``"numpy"``, ``"cuda"``)
    name: str = "base"

    def capabilities(self) -> Capabilities:
        """What this backend implements. Must be cheap and must not fail on an unavailable one."""
        raise NotImplementedError

    def is_available(self) -> tuple[bool, str]:
        """``(True, "")`` when usable here, else ``(False, reason)`` naming the exact cause."""
        return True, ""

    # runtime -----------------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray, device_index: int = 0) -> Any:
        """Copy a NumPy array onto device ``device_index``. dtype and shape are kept; the result
        must not share memory with ``array``."""
        raise NotImplementedError

    def to_numpy(self, buffer: Any) -> np.ndarray:
        """Copy a buffer back to a NumPy array (a new array the caller may keep)."""
        raise NotImplementedError

    def dtype_of(self, buffer: Any) -> DType | None:
        """The dtype ``buffer`` is stored in on the device, or ``None`` when it cannot be told.

        The conformance suite checks that every buffer a backend returns is stored in exactly
        the declared dtype (a float16 held as float32 computes with the wrong precision even if
        :meth:`to_numpy` converts back). Default: the ``dtype`` attribute of the buffer, read
        by name (``numpy.float16``, ``torch.float16``, ``cupy``'s dtypes all work); override it
        when your buffers do not carry one.
        """
        return _dtype_by_name(getattr(buffer, "dtype", None))

    def shares_memory(self, a: Any, b: Any) -> bool | None:
        """Whether buffers ``a`` and ``b`` may overlap in device memory; ``None``: unknown.

        Used by the suite's alias checks (an op that must return fresh memory must not return
        a view of its input). Default: :func:`numpy.may_share_memory` for buffers exposing the
        NumPy array interface, the ``data_ptr``/``nbytes`` range for ones with ``data_ptr()``
        (torch-like), else ``None``.
        """
        return _overlap(a, b)

    def synchronize(self, device_index: int = 0) -> None:
        """Block until queued work on the device has finished. Default: nothing is queued."""

    def device_context(self, device_index: int) -> contextlib.AbstractContextManager[Any]:
        """Context in which ops for device ``device_index`` run (CUDA: the current device)."""
        return contextlib.nullcontext()

    def set_num_threads(self, n: int) -> None:
        """Use at most ``n`` host threads in the backend's own pools (idrak's thread policy,
        :mod:`idrak.runtime.threads`). Default: the backend has none."""

    def memory_stats(self, device_index: int = 0) -> dict[str, int]:
        """Bytes used and free on the device, where the backend can tell. Default: empty."""
        return {}

    # fusion ------------------------------------------------------------------------------
    def fusion_support(self) -> FusionSupport | None:
        """What :meth:`fused` accepts, or ``None`` (the default) when the backend does not fuse.

        A backend that returns a :class:`~idrak.contract.fused.FusionSupport` gets FUSED nodes
        from the fusion pass (``docs/fusion.md``); called once and cached by :meth:`supports`.
        """
        return None

    def fused(self, *args: Any) -> Any:
        """Run ``fused(*inputs, kernel)``: the :class:`~idrak.contract.fused.FusedKernel` over
        the input buffers, in one pass. Only called when :meth:`fusion_support` is not None.

        Raises:
            NotSupportedError: always, in this default.
        """
        raise NotSupportedError(self.name, "FUSED", None, "the backend does not fuse kernels")

    # what is declared --------------------------------------------------------------------
    @property
    def caps(self) -> Capabilities:
        """:meth:`capabilities`, computed once."""
        c = self.__dict__.get("_caps_cache")
        if c is None:
            c = self.__dict__["_caps_cache"] = self.capabilities()
        return c

    def set_capabilities(self, caps: Capabilities) -> Capabilities:
        """Use ``caps`` instead of :meth:`capabilities` from now on; returns the previous ones.

        For tests that hide declared ops (e.g. every optional op, to run the decompositions):
        the caches derived from the capabilities (:meth:`supports`, the dispatch table of
        :meth:`run`) are dropped with them, so nothing declared before leaks into the new set
        or back.
        """
        prev = self.caps
        self.__dict__["_caps_cache"] = caps
        self.__dict__.pop("_supports", None)
        self.__dict__.pop("_dispatch", None)
        return prev

    @property
    def fusion(self) -> FusionSupport | None:
        """:meth:`fusion_support`, computed once."""
        d = self.__dict__
        if "_fusion_cache" not in d:
            d["_fusion_cache"] = self.fusion_support()
        sup: FusionSupport | None = d["_fusion_cache"]
        return sup

    def supports(self, op: Op, dtype: DType | None = None) -> bool:
        """Whether the backend declares ``op`` (for operand ``dtype`` when given). Cached.

        FUSED is declared by :meth:`fusion_support` (``dtype`` is the output's: one the kernel
        may hold); every other op by :meth:`capabilities`.
        """
        key = (op._value_, dtype.name if dtype is not None else None)
        cache = self.__dict__.get("_supports")
        if cache is None:
            cache = self.__dict__["_supports"] = {}
        hit = cache.get(key)
        if hit is None:
            if op is Op.FUSED:
                sup = self.fusion
                hit = sup is not None and (dtype is None or dtype in sup.dtypes)
            else:
                hit = self.caps.supports(op, dtype)
            cache[key] = hit
        return bool(hit)

    # dispatch ----------------------------------------------------------------------------
    def run(self, op: Op, srcs: tuple[Any, ...], arg: Any, dtype: DType, device_index: int) -> Any:
        """Run one op. ``dtype`` is the dtype of the op's operands (the output's for creation ops
        and FUSED).

        Raises:
            NotSupportedError: when ``op`` or ``dtype`` is not declared.
        """
        # the cache key avoids hashing the Op enum and the DType dataclass (Python-level hashes)
        key = (op._value_, dtype.name if dtype is not None else None)
        entry = self.__dict__.get("_dispatch", _NO_ENTRIES).get(key)
        if entry is None:
            entry = self._resolve(op, dtype)
            self.__dict__.setdefault("_dispatch", {})[key] = entry
        fn, mode = entry
        if mode == _PLAIN:
            return fn(*srcs)
        if mode == _ARG:
            return fn(*srcs, arg)
        if mode == _SPREAD:
            return fn(*srcs, *arg)
        if mode == _CREATE:
            return fn(*arg, device_index)
        if not self.supports(op, arg):  # CAST: the target dtype must be declared too
            raise NotSupportedError(self.name, "CAST", arg.name, "target dtype not declared")
        return fn(*srcs, arg)

    def bound(
        self, op: Op, dtype: DType, arg: Any, device_index: int
    ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """What :meth:`run` calls for ``op`` at operand ``dtype`` with ``arg``, resolved once:
        ``(fn, tail)`` such that ``run(op, srcs, arg, dtype, device_index)`` is
        ``fn(*srcs, *tail)``. For a caller that runs one recorded op many times
        (:func:`idrak.jit`'s compiled replay); the checks are :meth:`run`'s (same cache).
        A backend that overrides :meth:`run` (the CUDA one enters the device and translates
        CUDA errors there) gets ``fn`` calling its ``run``, so nothing it adds is skipped.

        Raises:
            NotSupportedError: when ``op`` or ``dtype`` (a CAST's target too) is not declared.
        """
        key = (op._value_, dtype.name if dtype is not None else None)
        entry = self.__dict__.get("_dispatch", _NO_ENTRIES).get(key)
        if entry is None:
            entry = self._resolve(op, dtype)
            self.__dict__.setdefault("_dispatch", {})[key] = entry
        if type(self).run is not Backend.run:
            if op is Op.CAST and not self.supports(op, arg):
                raise NotSupportedError(self.name, "CAST", arg.name, "target dtype not declared")
            run = self.run

            def through_run(*srcs: Any) -> Any:
                return run(op, srcs, arg, dtype, device_index)

            return through_run, ()
        fn, mode = entry
        if mode == _PLAIN:
            return fn, ()
        if mode == _ARG:
            return fn, (arg,)
        if mode == _SPREAD:
            return fn, tuple(arg)
        if mode == _CREATE:
            return fn, (*arg, device_index)
        if not self.supports(op, arg):  # CAST: the target dtype must be declared too
            raise NotSupportedError(self.name, "CAST", arg.name, "target dtype not declared")
        return fn, (arg,)

    def _resolve(self, op: Op, dtype: DType) -> tuple[Any, int]:
        """``(method, calling convention)`` of ``op`` at ``dtype``, checked against what is
        declared."""
        if not self.supports(op, dtype):
            detail = (
                "not declared by fusion_support()"
                if op is Op.FUSED
                else "not declared in the backend's capabilities"
            )
            raise NotSupportedError(self.name, op.name, dtype.name if dtype else None, detail)
        fn = getattr(self, op.method, None)
        if fn is None:
            raise NotSupportedError(self.name, op.name, None, f"method {op.method}() is missing")
        return fn, _convention(op)

    def __repr__(self) -> str:
        return f"<idrak backend {self.name!r} ({type(self).__module__}.{type(self).__qualname__})>"
