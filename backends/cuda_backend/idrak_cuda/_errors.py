"""The CUDA backend's exceptions, and the translation of CuPy's errors into them.

Imports no CuPy: CuPy's exception classes are recognised by type and module name, so this module
(and ``import idrak_cuda``) stays cheap on machines without CUDA.
"""

from __future__ import annotations

import re

from idrak.errors import DeviceError

__all__ = ["CudaError", "CudaOutOfMemoryError", "translate"]

_SIZE_RE = re.compile(r"allocating ([\d,]+) bytes")


class CudaError(DeviceError):
    """A CUDA runtime, driver or library error, re-raised naming the device and the op.

    Attributes:
        device: the device string (``"cuda:0"``).
        op: the op or runtime method that failed (``"MATMUL"``, ``"from_numpy"``).
    """

    def __init__(self, device: str, op: str, detail: str, *, what: str = "CUDA error") -> None:
        self.device, self.op = device, op
        super().__init__(f"{what} on {device} during {op}: {detail}")


class CudaOutOfMemoryError(CudaError):
    """A device allocation failed.

    Attributes:
        device: the device string (``"cuda:0"``).
        op: the op or runtime method that asked for the memory.
        requested_bytes: the size of the failed allocation (``None`` when CUDA did not say).
    """

    def __init__(self, device: str, op: str, requested_bytes: int | None, detail: str) -> None:
        self.requested_bytes = requested_bytes
        size = "an unknown size" if requested_bytes is None else f"{requested_bytes:,} bytes"
        super().__init__(device, op, f"requested {size} ({detail})", what="CUDA out of memory")


def _is_cupy_error(e: BaseException) -> bool:
    # CUDARuntimeError, CUDADriverError, CUBLASError ... live in cupy_backends; OutOfMemoryError
    # in cupy.cuda.memory; CompileException in cupy.cuda.compiler
    mod = type(e).__module__ or ""
    return mod.startswith(("cupy_backends.", "cupy.", "cupyx."))


def _is_oom(e: BaseException) -> bool:
    # cupy.cuda.memory.OutOfMemoryError (a MemoryError), cudaErrorMemoryAllocation from the
    # runtime, and the libraries' allocation failures (CUBLAS_STATUS_ALLOC_FAILED ...); a host
    # MemoryError (from NumPy) is not a device error and is left alone
    if not _is_cupy_error(e):
        return False
    text = str(e)
    return (
        isinstance(e, MemoryError) or "cudaErrorMemoryAllocation" in text or "ALLOC_FAILED" in text
    )


def translate(
    e: BaseException, device: str, op: str, requested_bytes: int | None = None
) -> BaseException | None:
    """The idrak error to raise for a CuPy/CUDA exception ``e``, or ``None`` to re-raise ``e``.

    Args:
        e: the exception CuPy raised.
        device: the device string to name in the message.
        op: the op or method to name.
        requested_bytes: the allocation size when the caller knows it (``from_numpy``).
    """
    if _is_oom(e):
        size = getattr(e, "_size", None)  # cupy.cuda.memory.OutOfMemoryError keeps it privately
        if not isinstance(size, int):
            m = _SIZE_RE.search(str(e))
            size = int(m.group(1).replace(",", "")) if m else requested_bytes
        return CudaOutOfMemoryError(device, op, size, f"{type(e).__name__}: {e}")
    if _is_cupy_error(e):
        return CudaError(device, op, f"{type(e).__name__}: {e}")
    return None
