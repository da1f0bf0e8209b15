"""Data-parallel training across processes (``torch.distributed``'s names).

Collectives run on a communication backend plugin: ``mpi`` (mpi4py, host buffers, any idrak
device), ``nccl`` (CuPy's NCCL, CUDA buffers) or a vendor's (the ``idrak_register_comm_backends``
hook). See ``docs/distributed.md``. Importing this package imports neither mpi4py nor CuPy.
"""

from __future__ import annotations

from idrak.distributed.api import (
    Work,
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    reduce_scatter,
    reduce_scatter_tensor,
)
from idrak.distributed.comm import CommBackend, DistributedError, DistributedTimeoutError
from idrak.distributed.reduce_op import ReduceOp
from idrak.distributed.registry import comm_backends, comm_failures

__all__ = [
    "CommBackend",
    "DistributedError",
    "DistributedTimeoutError",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "barrier",
    "broadcast",
    "comm_backends",
    "comm_failures",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "reduce_scatter",
    "reduce_scatter_tensor",
]
