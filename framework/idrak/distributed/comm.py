"""What a communication backend plugin implements, and the errors of :mod:`idrak.distributed`.

A communication backend (``"mpi"``, ``"nccl"``, a vendor's) is a subclass of
:class:`CommBackend`. It works on *arrays*, never on idrak Tensors: NumPy arrays for the
host path, or the device backend's own buffers (CuPy arrays for ``cuda``) for the device
types it lists in :attr:`CommBackend.device_types`. :mod:`idrak.distributed.api` turns the
Tensor calls of the user into these calls, so a backend author writes five collectives and
nothing else. Every array argument is C-contiguous; every method returns a new array (or the
same one, filled) of the documented shape, and raises :class:`DistributedError` (or its
:class:`DistributedTimeoutError`) on failure, naming the collective and the rank.
"""

from __future__ import annotations

from typing import Any

from idrak.errors import IdrakError

__all__ = ["CommBackend", "DistributedError", "DistributedTimeoutError"]


class DistributedError(IdrakError):
    """A process group that is not initialized, a bad argument to a collective, or a collective
    that failed (the message names the collective, the rank and the cause)."""


class DistributedTimeoutError(DistributedError):
    """A collective or rendezvous that did not complete within the process group's timeout
    (usually: another rank died or stopped calling collectives)."""


class CommBackend:
    """Base class of the communication backends.

    Constructed by :func:`idrak.distributed.init_process_group` as
    ``cls(rank, world_size, timeout, init_method)``; ``rank``/``world_size`` are ``-1`` when
    the caller gave none (the backend then finds them: MPI from ``COMM_WORLD``, NCCL from the
    ``RANK``/``WORLD_SIZE`` environment). After construction :attr:`rank` and
    :attr:`world_size` must hold the real values.

    Attributes:
        name: the registered name.
        device_types: idrak device types whose buffers the collectives take directly
            (``("cuda",)`` for NCCL). Tensors on other devices go through host copies
            (``to_numpy``/``from_numpy``): correct, but slower (two copies per collective).
        host: whether NumPy arrays are accepted (the host path); NCCL says False.
        native_avg: whether ``all_reduce``/``reduce_scatter`` accept ``op="avg"``; otherwise
            :mod:`~idrak.distributed.api` reduces with ``"sum"`` and divides by the world size.
    """

    name = "base"
    device_types: tuple[str, ...] = ()
    host = True
    native_avg = False

    def __init__(self, rank: int, world_size: int, timeout: float, init_method: str | None) -> None:
        self.rank, self.world_size, self.timeout = rank, world_size, timeout

    # the ops are given as strings: "sum", "product", "min", "max" (and "avg" if native_avg)
    def all_reduce(self, array: Any, op: str) -> Any:
        """The elementwise reduction of ``array`` over the ranks (same shape and dtype)."""
        raise NotImplementedError

    def broadcast(self, array: Any, src: int) -> Any:
        """Rank ``src``'s ``array`` on every rank (same shape and dtype)."""
        raise NotImplementedError

    def all_gather(self, array: Any) -> Any:
        """Every rank's ``array`` stacked: shape ``(world_size, *array.shape)``, rank order."""
        raise NotImplementedError

    def reduce_scatter(self, array: Any, op: str) -> Any:
        """``array`` has shape ``(world_size, *s)``; returns, shape ``s``, the reduction over the
        ranks of row ``rank``."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Return once every rank has entered ``barrier``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the communicator (called by :func:`destroy_process_group`)."""
