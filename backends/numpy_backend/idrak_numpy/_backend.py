"""The NumPy backend: :class:`~idrak_numpy.array_backend.ArrayBackend` over NumPy on the CPU, with
FUSED kernels (numba and numexpr engines) when the ``fused`` extra is installed."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from idrak.contract import FusionSupport

from . import __version__
from .array_backend import ArrayBackend

__all__ = ["NumpyBackend"]


class NumpyBackend(ArrayBackend):
    """CPU backend over NumPy. One device (``numpy:0``, alias ``cpu``)."""

    name = "numpy"
    xp: Any = np
    version = __version__

    # runtime -----------------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray, device_index: int = 0) -> Any:
        return np.array(array, copy=True)

    def to_numpy(self, buffer: Any) -> np.ndarray:
        return np.array(buffer, copy=True)

    def set_num_threads(self, n: int) -> None:
        """The fused-kernel engines (blocks, numba, numexpr) use at most ``n`` threads."""
        from . import _fused

        _fused.set_num_threads(n)

    # fusion ------------------------------------------------------------------------------
    def fusion_support(self) -> FusionSupport | None:
        """FUSED kernels when numba or numexpr (the ``fused`` extra) is there, else None: op by
        op."""
        from ._fused import numba_available, numexpr_available

        if not (numba_available() or numexpr_available()):
            return None
        caps = self.caps
        support: FusionSupport = self._fused_engine.support(
            caps.op_dtypes, caps.dtypes, caps.optional_ops
        )
        return support

    def fused(self, *args: Any) -> Any:
        """Run ``fused(*inputs, kernel)``, a :class:`~idrak.contract.fused.FusedKernel` (see
        :mod:`idrak_numpy._fused`)."""
        return self._fused_engine(args[:-1], args[-1])

    @functools.cached_property
    def _fused_engine(self) -> Any:
        from ._fused import FusedEngine

        return FusedEngine(self)
