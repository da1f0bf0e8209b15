"""The ``mpi`` communication backend: MPI through ``mpi4py`` (the ``distributed`` extra).

Ranks and world size are ``MPI.COMM_WORLD``'s: start the program with
``mpirun -np N python ...`` (OpenMPI as root also needs ``--allow-run-as-root``, and
``--oversubscribe`` when N exceeds the cores). A program started without ``mpirun`` is a
world of one rank. Buffers are NumPy arrays (the host path of every idrak device).

Each collective is MPI's non-blocking form (``Iallreduce``, ``Ibcast``, ``Iallgather``,
``Ireduce_scatter_block``, ``Ibarrier``) polled until done, so a rank that stops answering
makes the others raise :class:`~idrak.distributed.DistributedTimeoutError` after the process
group's timeout instead of hanging; when the failing process exits it calls ``MPI_Abort``
(MPI_Finalize would wait for the missing rank forever), and ``mpirun`` stops the rest of the
job. (A rank that *exits* is noticed by ``mpirun`` itself, which ends the job at
once.) mpi4py is imported only when the backend is first used.
"""

from __future__ import annotations

import atexit
import os
import time
from typing import Any

import numpy as np

from idrak.contract.hookspecs import hookimpl
from idrak.distributed.comm import CommBackend, DistributedError, DistributedTimeoutError

__all__ = ["MPIBackend", "register"]


def _backend_class() -> type[CommBackend]:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(
            "the 'mpi' backend needs mpi4py and an MPI library: apt-get install openmpi-bin "
            "libopenmpi-dev, then pip install 'idrak[distributed]'"
        ) from e
    MPIBackend._MPI = MPI
    return MPIBackend


class MPIBackend(CommBackend):
    """Collectives on ``MPI.COMM_WORLD`` (a duplicate of it, so user MPI calls cannot mix in).

    Raises:
        DistributedError: a ``rank``/``world_size`` that differs from MPI's is reported by
            :func:`~idrak.distributed.init_process_group`; failed MPI calls name the collective.
    """

    name = "mpi"
    device_types = ()
    host = True
    native_avg = False
    _MPI: Any = None
    _aborting = False

    def __init__(self, rank: int, world_size: int, timeout: float, init_method: str | None) -> None:
        MPI = self._MPI
        self.comm = MPI.COMM_WORLD.Dup()
        super().__init__(self.comm.Get_rank(), self.comm.Get_size(), timeout, init_method)
        self._ops = {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}
        launched = os.environ.get("WORLD_SIZE")
        if launched is not None and launched.strip() != str(self.world_size):
            self.close()
            raise DistributedError(
                f"the 'mpi' backend found {self.world_size} MPI rank(s) but WORLD_SIZE="
                f"{launched}: MPI programs are started by mpirun -np N, not by "
                "idrak.distributed.launch (which is for backend='nccl')"
            )

    def _wait(self, request: Any, what: str) -> None:
        """Poll ``request`` until it completes or the timeout passes."""
        deadline = time.monotonic() + self.timeout
        pause = 0.0
        while not request.Test():
            if time.monotonic() > deadline:
                self._abort_at_exit()
                raise DistributedTimeoutError(
                    f"{what} on rank {self.rank} of {self.world_size} did not complete within "
                    f"{self.timeout:g} s: another rank died or stopped calling collectives "
                    "(the mpi backend's timeout is init_process_group(timeout=...))"
                )
            time.sleep(pause)
            pause = min(pause * 2 or 1e-5, 1e-3)

    def _abort_at_exit(self) -> None:
        """After a timeout the job cannot finish cleanly (MPI_Finalize would wait for the
        missing rank forever): end it with MPI_Abort when this process exits, which makes
        mpirun stop every rank. Registered after mpi4py's own finalizer, so it runs first."""
        if not MPIBackend._aborting:
            MPIBackend._aborting = True
            atexit.register(self._MPI.COMM_WORLD.Abort, 1)

    def all_reduce(self, array: Any, op: str) -> Any:
        out = np.empty_like(array)
        self._wait(self.comm.Iallreduce(array, out, op=self._ops[op]), "all_reduce")
        return out

    def broadcast(self, array: Any, src: int) -> Any:
        buf = np.array(array, copy=True, order="C")
        self._wait(self.comm.Ibcast(buf, root=src), "broadcast")
        return buf

    def all_gather(self, array: Any) -> Any:
        out = np.empty((self.world_size, *array.shape), dtype=array.dtype)
        self._wait(self.comm.Iallgather(array, out), "all_gather")
        return out

    def reduce_scatter(self, array: Any, op: str) -> Any:
        out = np.empty(array.shape[1:], dtype=array.dtype)
        self._wait(self.comm.Ireduce_scatter_block(array, out, op=self._ops[op]), "reduce_scatter")
        return out

    def barrier(self) -> None:
        self._wait(self.comm.Ibarrier(), "barrier")

    def close(self) -> None:
        comm, self.comm = self.comm, None
        if comm is not None:
            comm.Free()


@hookimpl
def idrak_register_comm_backends(register: Any) -> None:
    """Register ``mpi`` (host buffers, every device through host copies)."""
    register("mpi", _backend_class, devices=("*",), description="MPI through mpi4py (host)")


register = idrak_register_comm_backends
