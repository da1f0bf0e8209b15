"""The CUDA backend: idrak's array-module backend run over CuPy.

:class:`CudaBackend` subclasses :class:`idrak_numpy.array_backend.ArrayBackend` (the public base
shared with the NumPy backend, as thinc's ``CupyOps`` and ``NumpyOps`` share ``Ops``) with
``cupy`` as its array module ``xp``; it overrides only what differs:
the runtime methods (host <-> device copies, devices, memory), ops whose NumPy implementation uses
a function CuPy lacks (``np.add.at``, ``sliding_window_view`` im2col, ``indices(sparse=)``),
and RANDOM_BITS, which NumPy leaves to the frontend and CUDA runs as a kernel.

``cupy`` is imported on first use (:meth:`CudaBackend.is_available` or the first op), never when
this module is imported.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from idrak.contract import ALL, DType, Op, bfloat16
from idrak.errors import IdrakError
from idrak_numpy.array_backend import ArrayBackend

from . import __version__
from ._errors import translate
from ._threefry import KERNEL_NAME, KERNEL_SOURCE, check_args

__all__ = ["INSTALL_HINT", "CudaBackend"]

#: how to get CuPy; the two extras are mutually exclusive (one CuPy wheel per CUDA major version)
INSTALL_HINT = (
    "pip install 'idrak[cuda12]' (CUDA 12.x) or pip install 'idrak[cuda13]' (CUDA 13.x), not both"
)

#: dtypes cupyx.scatter_add accumulates exactly with CUDA's atomicAdd, as themselves
_ATOMIC_NATIVE = frozenset({"int32", "uint32", "uint64", "float32", "float64"})
#: the rest accumulate in a wider type: integer sums wrap identically modulo 2**bits, and half
#: precision is summed in float32 and rounded once
_ATOMIC_WIDEN = {
    "int8": "int32",
    "int16": "int32",
    "uint8": "uint32",
    "int64": "uint64",
    "float16": "float32",
    "bfloat16": "float32",
}

_THREADS = 256  # threads per block of the Threefry kernel


class CudaBackend(ArrayBackend):
    """NVIDIA GPUs through CuPy. Devices ``cuda:0 .. cuda:N-1`` (``cuda`` is ``cuda:0``).

    Arrays are ``cupy.ndarray`` on the device of the op (every op runs inside
    ``cupy.cuda.Device(device_index)``); memory comes from CuPy's default memory pool.

    Raises:
        CudaOutOfMemoryError: an allocation failed (the message names the device, the op and
            the requested size).
        CudaError: any other CUDA runtime, driver or library error, naming the device and op.
    """

    name = "cuda"
    native_optional_ops = ArrayBackend.native_optional_ops | {Op.RANDOM_BITS}
    version = __version__

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._availability: tuple[bool, str] | None = None
        self._device_count = 0
        self._kernel: Any = None

    @functools.cached_property
    def xp(self) -> Any:
        """The ``cupy`` module, imported on first access.

        Raises:
            ImportError: CuPy is not installed (:meth:`is_available` reports this as a reason).
        """
        import cupy

        return cupy

    # availability and capabilities -------------------------------------------------------
    def is_available(self) -> tuple[bool, str]:
        """``(True, "")`` with CuPy importable and at least one CUDA device, else the reason.

        Never raises; the answer is computed once per backend object.
        """
        with self._lock:
            if self._availability is None:
                self._availability = self._probe()
            return self._availability

    def _probe(self) -> tuple[bool, str]:
        try:
            cp = self.xp
        except ModuleNotFoundError as e:
            if e.name == "cupy":
                return False, f"cupy is not installed: {INSTALL_HINT}"
            return False, f"cupy failed to import: {type(e).__name__}: {e}"
        except Exception as e:
            return False, f"cupy failed to import: {type(e).__name__}: {e} ({INSTALL_HINT})"
        try:
            count = int(cp.cuda.runtime.getDeviceCount())
        except cp.cuda.runtime.CUDARuntimeError as e:
            return False, f"no CUDA device: {e}"
        except Exception as e:
            return False, f"no CUDA device: {type(e).__name__}: {e}"
        if count < 1:
            return False, "no CUDA device: cupy.cuda.runtime.getDeviceCount() returned 0"
        self._device_count = count
        return True, ""

    def _bfloat16(self) -> Any:
        """CuPy's bfloat16 dtype when the installed CuPy exposes one, else ``None``."""
        try:
            return getattr(self.xp, "bfloat16", None)
        except Exception:
            return None

    @property
    def stored_dtypes(self) -> frozenset[DType]:  # type: ignore[override]
        """Every dtype but bfloat16, which only a CuPy with ``cupy.bfloat16`` stores."""
        ok, _ = self.is_available()
        if ok and self._bfloat16() is not None:
            return ALL
        return ALL - {bfloat16}

    def device_count(self) -> int:
        """CUDA devices seen by the runtime; 0 when the backend is unavailable."""
        ok, _ = self.is_available()
        return self._device_count if ok else 0

    def np_dtype(self, dtype: DType) -> Any:
        if dtype.name == "bfloat16":
            bf = self._bfloat16()
            if bf is None:
                raise TypeError("this CuPy has no bfloat16 dtype")
            return bf
        return np.dtype(dtype.name)

    # dispatch: every op on its device, CUDA errors as idrak errors ----------------------
    def run(self, op: Op, srcs: tuple[Any, ...], arg: Any, dtype: DType, device_index: int) -> Any:
        """Run ``op`` inside ``cupy.cuda.Device(device_index)``.

        Raises:
            NotSupportedError: as :meth:`idrak.contract.backend.Backend.run`.
            CudaOutOfMemoryError, CudaError: a CUDA failure, naming ``cuda:<device_index>``.
        """
        return self._call(op.name, device_index, super().run, op, srcs, arg, dtype, device_index)

    def _call(
        self, what: str, device_index: int, fn: Any, *args: Any, nbytes: int | None = None
    ) -> Any:
        """``fn(*args)`` on device ``device_index``; CUDA errors become :mod:`._errors` ones."""
        try:
            with self.xp.cuda.Device(device_index):
                return fn(*args)
        except IdrakError:
            raise
        except Exception as e:
            err = translate(e, f"cuda:{device_index}", what, nbytes)
            if err is None:
                raise
            raise err from e

    # runtime -----------------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray, device_index: int = 0) -> Any:
        """Copy a NumPy array to ``cuda:device_index`` (same shape and dtype).

        Raises:
            CudaOutOfMemoryError: naming the device and ``array.nbytes``.
        """
        array = np.asarray(array)
        return self._call(
            "from_numpy", device_index, self.xp.asarray, array, nbytes=int(array.nbytes)
        )

    def to_numpy(self, buffer: Any) -> np.ndarray:
        """Copy a device array to a new NumPy array (``cupy.asnumpy``; waits for the data)."""
        return self._call("to_numpy", int(buffer.device.id), self.xp.asnumpy, buffer)

    def synchronize(self, device_index: int = 0) -> None:
        """Block until every queued kernel and copy on ``cuda:device_index`` has finished."""
        cp = self.xp
        self._call("synchronize", device_index, lambda: cp.cuda.Device(device_index).synchronize())

    def device_context(self, device_index: int) -> Any:
        """``cupy.cuda.Device(device_index)``: a context making that device current."""
        return self.xp.cuda.Device(device_index)

    def memory_stats(self, device_index: int = 0) -> dict[str, int]:
        """Device memory in bytes.

        Returns:
            ``used_bytes`` / ``free_bytes`` / ``total_bytes`` from ``cudaMemGetInfo`` (the whole
            device, every process), ``pool_used_bytes`` / ``pool_total_bytes`` from CuPy's
            default memory pool on that device (held by live arrays / held including cached
            free blocks).
        """
        cp = self.xp

        def stats() -> dict[str, int]:
            free, total = cp.cuda.runtime.memGetInfo()
            pool = cp.get_default_memory_pool()
            return {
                "used_bytes": int(total - free),
                "total_bytes": int(total),
                "free_bytes": int(free),
                "pool_used_bytes": int(pool.used_bytes()),
                "pool_total_bytes": int(pool.total_bytes()),
            }

        out: dict[str, int] = self._call("memory_stats", device_index, stats)
        return out

    # ops that differ from NumPy -----------------------------------------------------------
    def sum(self, x: Any, axes: tuple[int, ...]) -> Any:
        if not axes:  # no reduction; not every CuPy reduction takes axis=()
            return x.copy()
        if np.dtype(x.dtype).name == "bfloat16":  # accumulate in float32, as for float16
            return self.xp.sum(x, axis=axes, keepdims=True, dtype=np.float32).astype(x.dtype)
        return super().sum(x, axes)

    def max(self, x: Any, axes: tuple[int, ...]) -> Any:
        if not axes:
            return x.copy()
        return super().max(x, axes)

    def flip(self, x: Any, axes: tuple[int, ...]) -> Any:
        flipped = {a % x.ndim for a in axes} if x.ndim else set()
        return x[
            tuple(slice(None, None, -1) if d in flipped else slice(None) for d in range(x.ndim))
        ]

    def scatter_add(self, x: Any, index: Any, src: Any, dim: int) -> Any:
        """torch's ``scatter_add`` with ``cupyx.scatter_add`` (atomic adds; see SEMANTICS).

        Dtypes CUDA cannot add atomically are accumulated in a wider type and cast back: int8,
        int16 (int32), uint8 (uint32), int64 (uint64: two's-complement sums are identical),
        float16 and bfloat16 (float32, one rounding at the end).
        """
        xp = self.xp
        out = x.copy()
        if index.size == 0:
            return out
        nd = index.ndim
        grid: list[Any] = [
            xp.arange(s).reshape((1,) * d + (s,) + (1,) * (nd - d - 1))
            for d, s in enumerate(index.shape)
        ]
        grid[dim] = index
        src = src[tuple(slice(0, s) for s in index.shape)]
        name = np.dtype(out.dtype).name
        wide = None if name in _ATOMIC_NATIVE else _ATOMIC_WIDEN.get(name)
        if wide is None:
            self._add_at(out, tuple(grid), src)
            return out
        acc = out.astype(wide)
        self._add_at(acc, tuple(grid), src.astype(wide))
        return acc.astype(out.dtype)

    def _add_at(self, out: Any, index: tuple[Any, ...], values: Any) -> None:
        """Unbuffered ``out[index] += values`` (duplicates accumulate): ``cupyx.scatter_add``."""
        import cupyx

        cupyx.scatter_add(out, index, values)

    def conv2d(
        self,
        x: Any,
        w: Any,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> Any:
        """Cross-correlation as im2col + batched matmul (cuBLAS through ``cupy.matmul``).

        ``x`` (N, C, H, W), ``w`` (O, C/groups, KH, KW) -> (N, O, OH, OW). The columns buffer
        has N*C*KH*KW*OH*OW elements. CuPy v14 has no cuDNN binding, so none is used.
        """
        xp = self.xp
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if oh <= 0 or ow <= 0 or n == 0 or o == 0 or cg * kh * kw == 0:
            return xp.zeros((n, o, max(oh, 0), max(ow, 0)), dtype=x.dtype)
        if ph or pw:
            x = self.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), 0)
        cols = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dh, j * dw
                cols[:, :, i, j] = x[
                    :, :, r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw
                ]
        cols = cols.reshape(n, groups, cg * kh * kw, oh * ow)
        wg = w.reshape(groups, o // groups, cg * kh * kw)
        out = xp.matmul(wg, cols)  # (G, O/G, K) @ (N, G, K, P) -> (N, G, O/G, P)
        return out.reshape(n, o, oh, ow)

    def random_bits(self, n: int, key0: int, key1: int, counter0: int, device_index: int) -> Any:
        """Threefry-2x32-20 words on the device, bit-identical to the host reference.

        Args:
            n: number of 32-bit words; key0, key1: key words in ``[0, 2**32)``;
            counter0: first 64-bit counter; device_index: the device (current already).

        Returns:
            int64 ``cupy.ndarray`` of shape ``(n,)``, values in ``[0, 2**32)``; see
            :mod:`idrak_cuda._threefry` for the counter mapping.

        Raises:
            ValueError: arguments out of range (:func:`idrak_cuda._threefry.check_args`).
        """
        n, key0, key1, counter0 = int(n), int(key0), int(key1), int(counter0)
        check_args(n, key0, key1, counter0)
        xp = self.xp
        out = xp.empty((n,), dtype=xp.int64)
        blocks = (n + 1) // 2
        if blocks == 0:
            return out
        if self._kernel is None:  # compiled by NVRTC per device on first launch, then cached
            self._kernel = xp.RawKernel(KERNEL_SOURCE, KERNEL_NAME)
        grid = (blocks + _THREADS - 1) // _THREADS
        self._kernel(
            (grid,),
            (_THREADS,),
            (out, np.uint64(n), np.uint32(key0), np.uint32(key1), np.uint64(counter0)),
        )
        return out

    # fusion: generated CUDA kernels, see _fused.py ---------------------------------------
    def fusion_support(self) -> Any:
        """Elementwise ops and a trailing SUM/REDUCE_MAX, all dtypes but float16/bfloat16."""
        ok, _ = self.is_available()
        if not ok:
            return None
        from idrak.contract import ELEMENTWISE, FusionSupport

        from ._fused import CTYPES

        caps = self.caps
        return FusionSupport(
            ops=frozenset(o for o in ELEMENTWISE if caps.supports(o)),
            dtypes=frozenset(d for d in caps.dtypes if d.name in CTYPES),
            reduce_ops=frozenset({Op.SUM, Op.REDUCE_MAX}),
            op_dtypes=dict(caps.op_dtypes),
            max_inputs=128,
        )

    def fused(self, *args: Any) -> Any:
        """Run ``fused(*inputs, kernel)`` as a generated CUDA kernel on the current device."""
        device_index = int(self.xp.cuda.runtime.getDevice())
        return self._call("FUSED", device_index, self._fused_engine, args[:-1], args[-1])

    @functools.cached_property
    def _fused_engine(self) -> Any:
        from ._fused import CudaFusedEngine

        return CudaFusedEngine(self)
