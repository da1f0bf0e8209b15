"""The interface a backend plugin implements.

A backend is a thin class over an array library. It implements every required op of
:mod:`idrak.ops` as a method named after the op (``Op.ADD`` -> ``add(x, y)``), the optional ops it
declares in :meth:`Backend.capabilities`, and three runtime methods: :meth:`~Backend.from_numpy`,
:meth:`~Backend.to_numpy`, :meth:`~Backend.synchronize`.

The frontend never calls op methods directly; it calls :meth:`Backend.run`, which checks the op and
dtype against the declared capabilities and raises :class:`~idrak.errors.NotSupportedError` for
anything undeclared, so a backend cannot silently return a wrong answer for an op it never claimed.

Op method signatures (``x``, ``y``... are the backend's own arrays; ``arg`` values are plain
Python)::

    neg(x) exp(x) log(x) sin(x) sqrt(x) reciprocal(x) tanh(x) exp2(x) log2(x)
    add(x, y) mul(x, y) div(x, y) maximum(x, y) cmplt(x, y) cmpeq(x, y) sub(x, y) pow(x, y)
    where(cond, x, y)        cast(x, dtype)
    sum(x, axes)             max(x, axes)                      # keepdims
    reshape(x, shape)        permute(x, order)     expand(x, shape)
    pad(x, widths, value)    shrink(x, bounds)     flip(x, axes)
    full(shape, value, dtype, device_index)        contiguous(x)
    matmul(x, y)             gather(x, index, dim) scatter_add(x, index, src, dim)
    arange(start, stop, step, dtype, device_index)
    random_bits(n, key0, key1, counter0, device_index)
    conv2d(x, w, stride, padding, dilation, groups)
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .dtypes import DType
from .errors import NotSupportedError
from .ops import Capabilities, Op

__all__ = ["Backend"]

# ops with no array inputs: they also take the device index
_CREATION = frozenset({Op.FULL, Op.ARANGE, Op.RANDOM_BITS})
# ops whose tuple arg is spread into separate parameters
_SPLAT = frozenset({Op.PAD, Op.CONV2D})
# calling conventions, decided once per (op, dtype) and cached by Backend.run
_PLAIN, _CREATE, _SPREAD, _CAST = range(4)
_NO_ENTRIES: dict[Any, Any] = {}


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
        """Copy a NumPy array onto device ``device_index``. dtype and shape are kept."""
        raise NotImplementedError

    def to_numpy(self, buffer: Any) -> np.ndarray:
        """Copy a buffer back to a NumPy array (a new array the caller may keep)."""
        raise NotImplementedError

    def synchronize(self, device_index: int = 0) -> None:
        """Block until queued work on the device has finished. Default: nothing is queued."""

    def device_context(self, device_index: int) -> contextlib.AbstractContextManager[Any]:
        """Context in which ops for device ``device_index`` run (CUDA: the current device)."""
        return contextlib.nullcontext()

    def memory_stats(self, device_index: int = 0) -> dict[str, int]:
        """Bytes used and free on the device, where the backend can tell. Default: empty."""
        return {}

    # dispatch ----------------------------------------------------------------------------
    def run(self, op: Op, srcs: tuple[Any, ...], arg: Any, dtype: DType, device_index: int) -> Any:
        """Run one op. ``dtype`` is the dtype of the op's operands (the output's for creation ops).

        Raises:
            NotSupportedError: when ``op`` or ``dtype`` is not declared by :meth:`capabilities`.
        """
        # the cache key avoids hashing the Op enum and the DType dataclass (Python-level hashes)
        key = (op._value_, dtype.name if dtype is not None else None)
        entry = self.__dict__.get("_dispatch", _NO_ENTRIES).get(key)
        if entry is None:
            entry = self._resolve(op, dtype)
            self.__dict__.setdefault("_dispatch", {})[key] = entry
        fn, mode = entry
        if mode == _PLAIN:
            return fn(*srcs) if arg is None else fn(*srcs, arg)
        if mode == _CREATE:
            return fn(*arg, device_index)
        if mode == _SPREAD:
            return fn(*srcs, *arg)
        if not self._caps.supports(op, arg):  # CAST: the target dtype must be declared too
            raise NotSupportedError(self.name, "CAST", arg.name, "target dtype not declared")
        return fn(*srcs, arg)

    def _resolve(self, op: Op, dtype: DType) -> tuple[Any, int]:
        """``(method, calling convention)`` of ``op`` at ``dtype``, checked against the caps."""
        if not self._caps.supports(op, dtype):
            raise NotSupportedError(
                self.name,
                op.name,
                dtype.name if dtype else None,
                "not declared in the backend's capabilities",
            )
        fn = getattr(self, op.method, None)
        if fn is None:
            raise NotSupportedError(self.name, op.name, None, f"method {op.method}() is missing")
        mode = (
            _CREATE
            if op in _CREATION
            else _SPREAD
            if op in _SPLAT
            else _CAST
            if op is Op.CAST
            else _PLAIN
        )
        return fn, mode

    @property
    def _caps(self) -> Capabilities:
        c = self.__dict__.get("_caps_cache")
        if c is None:
            c = self.capabilities()
            self.__dict__["_caps_cache"] = c
        return c

    def __repr__(self) -> str:
        return f"<idrak backend {self.name!r} ({type(self).__module__}.{type(self).__qualname__})>"
