"""The ``nccl`` communication backend: NCCL through CuPy (``cupy.cuda.nccl``), CUDA buffers.

UNTESTED ON HARDWARE: this module was written without a GPU or CuPy to run it on; the
rendezvous (:class:`~idrak.distributed.store.TCPStore`) and the refusal without CuPy are
tested, the collectives themselves are not. See ``docs/distributed.md``.

Start one process per GPU with ``python -m idrak.distributed.launch --nproc-per-node N`` (or
any launcher that sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``). Rank 0 creates the NCCL unique id and publishes it in a TCP store on
``MASTER_ADDR:MASTER_PORT``; every rank reads it and joins the communicator on GPU
``LOCAL_RANK`` (which also becomes the current CUDA device). Only tensors on ``cuda`` devices
are accepted (``host = False``): a CPU tensor gets a clear error, not a silent host copy.

Collectives are enqueued on the current CuPy stream, so they are ordered with the kernels the
CUDA backend launched before them; NCCL reports a dead peer only through its own timeouts
(``NCCL_TIMEOUT``-style environment settings), not through the process group's ``timeout``,
which bounds the rendezvous here.
"""

from __future__ import annotations

import os
from typing import Any

from idrak.contract.hookspecs import hookimpl
from idrak.distributed.comm import CommBackend, DistributedError

__all__ = ["NCCLBackend", "register"]

# idrak dtype name -> the name of the cupy.cuda.nccl constant
_DTYPES = {
    "bool": "NCCL_UINT8",
    "uint8": "NCCL_UINT8",
    "int8": "NCCL_INT8",
    "int32": "NCCL_INT32",
    "int64": "NCCL_INT64",
    "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32",
    "float64": "NCCL_FLOAT64",
}
_OPS = {"sum": "NCCL_SUM", "product": "NCCL_PROD", "min": "NCCL_MIN", "max": "NCCL_MAX"}


def _backend_class() -> type[CommBackend]:
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise DistributedError(
            "the 'nccl' backend needs CuPy with NCCL: pip install 'idrak[cuda12]' (or cuda13) "
            "on a machine with an NVIDIA GPU; on CPU hosts use backend='mpi'"
        ) from e
    if not getattr(nccl, "available", True):
        raise DistributedError("the 'nccl' backend: this CuPy build has no NCCL support")
    NCCLBackend._cupy, NCCLBackend._nccl = cupy, nccl
    return NCCLBackend


def _env_int(name: str, given: int) -> int:
    if given != -1:
        return given
    raw = os.environ.get(name)
    if raw is None:
        raise DistributedError(
            f"the 'nccl' backend needs {name} (set by idrak.distributed.launch or torchrun), or "
            f"init_process_group({name.lower()}=...)"
        )
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"environment variable {name}={raw!r} is not an int") from None


def _address(init_method: str | None) -> tuple[str, int]:
    """``(host, port)`` from ``tcp://host:port`` or ``env://`` (``MASTER_ADDR``/``MASTER_PORT``)."""
    if init_method and init_method.startswith("tcp://"):
        host, _, port = init_method[len("tcp://") :].rpartition(":")
        return host.strip("[]"), int(port)
    if init_method not in (None, "env://"):
        raise DistributedError(
            f"the 'nccl' backend takes init_method 'env://' or 'tcp://host:port', got "
            f"{init_method!r}"
        )
    host = os.environ.get("MASTER_ADDR", "127.0.0.1")
    return host, int(os.environ.get("MASTER_PORT", "29500"))


class NCCLBackend(CommBackend):
    """One NCCL communicator over ``world_size`` processes, one GPU each (``LOCAL_RANK``)."""

    name = "nccl"
    device_types = ("cuda",)
    host = False
    native_avg = False  # NCCL_AVG needs NCCL >= 2.10; SUM then a divide works everywhere
    _cupy: Any = None
    _nccl: Any = None

    def __init__(self, rank: int, world_size: int, timeout: float, init_method: str | None) -> None:
        from idrak.distributed.store import TCPStore

        rank, world_size = _env_int("RANK", rank), _env_int("WORLD_SIZE", world_size)
        super().__init__(rank, world_size, timeout, init_method)
        self.device = int(os.environ.get("LOCAL_RANK", "0"))
        self._cupy.cuda.Device(self.device).use()
        host, port = _address(init_method)
        store = TCPStore(host, port, is_master=rank == 0, timeout=timeout)
        try:
            if rank == 0:
                uid = self._nccl.get_unique_id()
                store.set("idrak/nccl/unique_id", bytes(bytearray(b % 256 for b in uid)))
            raw = store.get("idrak/nccl/unique_id")
            uid = tuple(b - 256 if b > 127 else b for b in raw)  # NCCL's id is signed chars
            self.comm = self._nccl.NcclCommunicator(world_size, uid, rank)
            # the master keeps serving until every rank has read the id
            store.set(f"idrak/nccl/joined/{rank}", b"1")
            if rank == 0:
                for r in range(world_size):
                    store.get(f"idrak/nccl/joined/{r}")
        finally:
            store.close()

    def _dtype(self, array: Any) -> Any:
        name = array.dtype.name
        if name == "int16":  # broadcast and all_gather move bytes: any 2-byte type will do
            name = "float16"
        if name not in _DTYPES:
            raise DistributedError(
                f"the 'nccl' backend has no NCCL type for {array.dtype.name} (types: "
                f"{', '.join(_DTYPES)})"
            )
        return getattr(self._nccl, _DTYPES[name])

    def _stream(self) -> int:
        return int(self._cupy.cuda.get_current_stream().ptr)

    def _widened(self, array: Any, fn: Any, op: str) -> Any | None:
        """Reduce bool as uint8 (read back ``!= 0``) and int16 as int32 (NCCL has neither)."""
        cp = self._cupy
        if array.dtype == cp.bool_:
            return fn(array.astype(cp.uint8), op) != 0
        if array.dtype == cp.int16:
            return fn(array.astype(cp.int32), op).astype(cp.int16)
        return None

    def all_reduce(self, array: Any, op: str) -> Any:
        wide = self._widened(array, self.all_reduce, op)
        if wide is not None:
            return wide
        array = self._cupy.ascontiguousarray(array)
        out = self._cupy.empty_like(array)
        self.comm.allReduce(
            array.data.ptr, out.data.ptr, array.size, self._dtype(array),
            getattr(self._nccl, _OPS[op]), self._stream(),
        )  # fmt: skip
        return out

    def broadcast(self, array: Any, src: int) -> Any:
        buf = self._cupy.array(array, copy=True, order="C")
        self.comm.bcast(buf.data.ptr, buf.size, self._dtype(buf), src, self._stream())
        return buf

    def all_gather(self, array: Any) -> Any:
        array = self._cupy.ascontiguousarray(array)
        out = self._cupy.empty((self.world_size, *array.shape), dtype=array.dtype)
        self.comm.allGather(
            array.data.ptr, out.data.ptr, array.size, self._dtype(array), self._stream()
        )
        return out

    def reduce_scatter(self, array: Any, op: str) -> Any:
        wide = self._widened(array, self.reduce_scatter, op)
        if wide is not None:
            return wide
        array = self._cupy.ascontiguousarray(array)
        out = self._cupy.empty(array.shape[1:], dtype=array.dtype)
        self.comm.reduceScatter(
            array.data.ptr, out.data.ptr, out.size, self._dtype(array),
            getattr(self._nccl, _OPS[op]), self._stream(),
        )  # fmt: skip
        return out

    def barrier(self) -> None:
        one = self._cupy.ones(1, dtype=self._cupy.float32)
        self.all_reduce(one, "sum")
        self._cupy.cuda.get_current_stream().synchronize()

    def close(self) -> None:
        comm, self.comm = getattr(self, "comm", None), None
        if comm is not None:
            comm.destroy()


@hookimpl
def idrak_register_comm_backends(register: Any) -> None:
    """Register ``nccl`` (CUDA device buffers only)."""
    register("nccl", _backend_class, devices=("cuda",), description="NCCL through CuPy (CUDA)")


register = idrak_register_comm_backends
