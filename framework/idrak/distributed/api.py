"""The process group and the collectives on idrak Tensors (``torch.distributed``'s names).

One default process group per process, created by :func:`init_process_group`. Each collective
works *in place* on its Tensor arguments, as torch's do: the Tensor's value is replaced
(:meth:`~idrak.Tensor.assign`), so a Parameter stays the same object. A Tensor on a device type
the communication backend lists in ``device_types`` (NCCL: ``cuda``) is handed over as the
device buffer; any other Tensor goes through host copies (``numpy()``, then a new Tensor on
its device): always correct, two copies slower. float16 and bfloat16 travel as float32 on the
host path (MPI has no 16-bit float type); bool travels as uint8.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from idrak.distributed.comm import CommBackend, DistributedError
from idrak.distributed.reduce_op import ReduceOp
from idrak.distributed.registry import comm_backends, get_comm_backend

__all__ = [
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "barrier",
    "broadcast",
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

#: torch's default process-group timeout (30 minutes)
DEFAULT_TIMEOUT = timedelta(minutes=30)


@dataclass
class _Group:
    comm: CommBackend
    backend: str


_group: _Group | None = None


class Work:
    """What a collective returns with ``async_op=True``. idrak's collectives complete before
    they return, so ``wait()`` returns True at once and ``is_completed()`` is True."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def is_available() -> bool:
    """Whether ``idrak.distributed`` can be used: True when some communication backend is
    registered (whether its library is installed is checked by :func:`init_process_group`)."""
    return bool(comm_backends())


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has been called (and not destroyed since)."""
    return _group is not None


def _default_backend() -> str:
    """``mpi`` when launched by ``mpirun``/``srun`` (or nothing says otherwise), else ``nccl``
    when launched with ``RANK``/``WORLD_SIZE`` in the environment (``idrak.distributed.launch``)."""
    mpi_env = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
    if any(v in os.environ for v in mpi_env) or "WORLD_SIZE" not in os.environ:
        return "mpi"
    return "nccl"


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Create the default process group (``torch.distributed.init_process_group``).

    Args:
        backend: a registered communication backend: ``"mpi"`` (mpi4py; the ranks come from
            ``mpirun``), ``"nccl"`` (CuPy's NCCL; ranks from ``RANK``/``WORLD_SIZE`` and a TCP
            rendezvous on ``MASTER_ADDR:MASTER_PORT``) or a plugin's. ``None``: ``"mpi"`` under
            ``mpirun`` or without ``WORLD_SIZE`` in the environment, else ``"nccl"``.
        init_method: ``"env://"`` (the default: ``MASTER_ADDR``/``MASTER_PORT``) or
            ``"tcp://host:port"``; the MPI backend needs none.
        timeout: how long a collective may wait for the other ranks (a ``timedelta`` or
            seconds; default 30 minutes) before raising :class:`DistributedTimeoutError`.
        world_size, rank: ``-1`` (default) reads them from the launcher; when given they are
            checked against what the backend finds.
        store, group_name, pg_options, device_id: accepted for torch's signature; ``store``
            and ``pg_options`` must be None (idrak makes its own TCP store for NCCL).

    Raises:
        DistributedError: already initialized, an unknown or unavailable backend (mpi4py or
            CuPy missing: the message says which extra to install), or ranks that disagree.
    """
    global _group
    if _group is not None:
        raise DistributedError(
            "init_process_group: the default process group is already initialized "
            f"(backend {_group.backend!r}); call destroy_process_group() first"
        )
    if store is not None or pg_options is not None:
        raise DistributedError("init_process_group: store= and pg_options= are not supported")
    name = (backend or _default_backend()).lower()
    seconds = (
        DEFAULT_TIMEOUT.total_seconds()
        if timeout is None
        else timeout.total_seconds()
        if isinstance(timeout, timedelta)
        else float(timeout)
    )
    if not seconds > 0:
        raise DistributedError(f"init_process_group: timeout must be > 0, got {timeout!r}")
    for label, value in (("world_size", world_size), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, int) or value < -1:
            raise DistributedError(
                f"init_process_group: {label} must be an int >= -1, got {value!r}"
            )
    if world_size != -1 and rank != -1 and not 0 <= rank < world_size:
        raise DistributedError(f"init_process_group: rank {rank} is not in [0, {world_size})")
    cls = get_comm_backend(name)
    comm = cls(rank, world_size, seconds, init_method)
    if (world_size != -1 and comm.world_size != world_size) or (rank != -1 and comm.rank != rank):
        got = (comm.rank, comm.world_size)
        comm.close()
        raise DistributedError(
            f"init_process_group(backend={name!r}): asked for rank {rank} of {world_size}, "
            f"but the backend found rank {got[0]} of {got[1]} (was the program started by "
            "the right launcher: mpirun for 'mpi', idrak.distributed.launch for 'nccl'?)"
        )
    comm.name = name
    _group = _Group(comm, name)


def _require(what: str) -> CommBackend:
    if _group is None:
        raise DistributedError(
            f"{what}: the default process group is not initialized; call "
            "idrak.distributed.init_process_group() first"
        )
    return _group.comm


def _check_group(what: str, group: Any) -> None:
    if group is not None:
        raise DistributedError(f"{what}: only the default group (group=None) exists, got {group!r}")


def destroy_process_group(group: Any = None) -> None:
    """Release the default process group (a later :func:`init_process_group` may make another)."""
    global _group
    _check_group("destroy_process_group", group)
    comm = _require("destroy_process_group")
    _group = None
    comm.close()


def get_rank(group: Any = None) -> int:
    """This process's rank in ``[0, world_size)``; ``-1`` when not initialized (as torch)."""
    _check_group("get_rank", group)
    return -1 if _group is None else _group.comm.rank


def get_world_size(group: Any = None) -> int:
    """The number of processes; ``-1`` when not initialized (as torch)."""
    _check_group("get_world_size", group)
    return -1 if _group is None else _group.comm.world_size


def get_backend(group: Any = None) -> str:
    """The name of the default group's communication backend.

    Raises:
        DistributedError: not initialized.
    """
    _check_group("get_backend", group)
    _require("get_backend")
    assert _group is not None
    return _group.backend


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Block until every rank has called ``barrier``."""
    _check_group("barrier", group)
    _require("barrier").barrier()
    return Work() if async_op else None


# --------------------------------------------------------------------------------------------
def _tensor_type() -> type:
    from idrak.core.tensor import Tensor

    return Tensor


def _check_tensor(what: str, t: Any, name: str = "tensor") -> None:
    if not isinstance(t, _tensor_type()):
        raise DistributedError(f"{what}: {name} must be an idrak Tensor, got {type(t).__name__}")


def _op_name(what: str, op: Any, dtype: Any) -> str:
    if isinstance(op, str):
        try:
            op = ReduceOp(op.lower())
        except ValueError:
            pass
    if not isinstance(op, ReduceOp):
        raise DistributedError(
            f"{what}: op must be an idrak.distributed.ReduceOp (SUM, PRODUCT, MIN, MAX, AVG), "
            f"got {op!r}"
        )
    if op is ReduceOp.AVG and dtype.kind != "f":
        raise DistributedError(
            f"{what}: ReduceOp.AVG needs a floating-point tensor, got {dtype.name} "
            "(reduce with SUM and divide yourself)"
        )
    return op.value


def _native(comm: CommBackend, t: Any) -> bool:
    return t.device.type in comm.device_types


def _to_array(comm: CommBackend, t: Any) -> Any:
    """The buffer handed to the comm backend: the device buffer on the native path, else a
    C-contiguous NumPy array (16-bit floats as float32, bool as uint8)."""
    if _native(comm, t):
        t.realize()
        return t.lazy.buf
    if not comm.host:
        raise DistributedError(
            f"communication backend {comm.name!r} cannot reduce tensors on {t.device} (it "
            f"takes only {', '.join(comm.device_types)} tensors); move the tensor there or "
            "use the 'mpi' backend"
        )
    if t.dtype.name in ("float16", "bfloat16"):
        t = t.cast("float32")
    arr = np.ascontiguousarray(t.numpy())
    return arr.astype(np.uint8) if arr.dtype == np.bool_ else arr


def _from_array(like: Any, arr: Any, native: bool) -> Any:
    """A Tensor of ``like``'s dtype and device holding ``arr`` (a comm backend's result)."""
    from idrak.core.tensor import Tensor
    from idrak.engine.lazy import LazyBuffer

    if native:
        shape = tuple(int(s) for s in arr.shape)
        return Tensor._from_lazy(LazyBuffer(None, (), None, shape, like.dtype, like.device, arr))
    from idrak.core.tensor import tensor

    if like.dtype.name == "bool":
        arr = np.asarray(arr) != 0
    out = tensor(np.asarray(arr), device=like.device)
    return out if out.dtype == like.dtype else out.cast(like.dtype)


def _world_divide(t: Any, world: int) -> Any:
    return t if world == 1 else (t / float(world)).cast(t.dtype)


def _reduce(comm: CommBackend, t: Any, op: str, what: str, scatter: bool) -> Any:
    arr = _to_array(comm, t)
    avg = op == "avg" and not comm.native_avg
    fn = comm.reduce_scatter if scatter else comm.all_reduce
    try:
        res = fn(arr, "sum" if avg else op)
    except DistributedError:
        raise
    except Exception as e:
        raise DistributedError(f"{what} failed on rank {comm.rank}: {type(e).__name__}: {e}") from e
    out = _from_array(t, res, _native(comm, t))
    return _world_divide(out, comm.world_size) if avg else out


def all_reduce(
    tensor: Any, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``tensor`` over all ranks, in place: afterwards every rank holds the result.

    Args:
        tensor: any shape and dtype, on any device (same shape and dtype on every rank).
        op: a :class:`ReduceOp` (``AVG`` for floating dtypes only).

    Raises:
        DistributedError: not initialized, a non-Tensor, a bad ``op``, or a failed collective;
            :class:`DistributedTimeoutError` when the other ranks do not join within the timeout.
    """
    _check_group("all_reduce", group)
    comm = _require("all_reduce")
    _check_tensor("all_reduce", tensor)
    name = _op_name("all_reduce", op, tensor.dtype)
    tensor.assign(_reduce(comm, tensor.detach(), name, "all_reduce", scatter=False))
    return Work() if async_op else None


def broadcast(tensor: Any, src: int, group: Any = None, async_op: bool = False) -> Work | None:
    """Overwrite ``tensor`` on every rank with rank ``src``'s value, in place.

    Raises:
        DistributedError: not initialized, ``src`` outside ``[0, world_size)``, a failed
            collective (or a timeout).
    """
    _check_group("broadcast", group)
    comm = _require("broadcast")
    _check_tensor("broadcast", tensor)
    if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < comm.world_size:
        raise DistributedError(
            f"broadcast: src must be a rank in [0, {comm.world_size}), got {src!r}"
        )
    t = tensor.detach()
    res = comm.broadcast(_to_array(comm, t), src)
    tensor.assign(_from_array(t, res, _native(comm, t)))
    return Work() if async_op else None


def _gathered(comm: CommBackend, t: Any) -> Any:
    res = comm.all_gather(_to_array(comm, t))
    return _from_array(t, res, _native(comm, t))


def all_gather(
    tensor_list: list[Any], tensor: Any, group: Any = None, async_op: bool = False
) -> Work | None:
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor`` (every rank gets every value).

    Args:
        tensor_list: ``world_size`` Tensors shaped like ``tensor`` (each replaced in place).

    Raises:
        DistributedError: a list of the wrong length or Tensors of the wrong shape.
    """
    _check_group("all_gather", group)
    comm = _require("all_gather")
    _check_tensor("all_gather", tensor)
    if not isinstance(tensor_list, list) or len(tensor_list) != comm.world_size:
        n = len(tensor_list) if isinstance(tensor_list, list) else type(tensor_list).__name__
        raise DistributedError(
            f"all_gather: tensor_list must be a list of world_size={comm.world_size} Tensors, "
            f"got {n}"
        )
    for i, out in enumerate(tensor_list):
        _check_tensor("all_gather", out, f"tensor_list[{i}]")
        if tuple(out.shape) != tuple(tensor.shape):
            raise DistributedError(
                f"all_gather: tensor_list[{i}] has shape {tuple(out.shape)}, the tensor "
                f"{tuple(tensor.shape)}"
            )
    stacked = _gathered(comm, tensor.detach())
    for i, out in enumerate(tensor_list):
        out.assign(stacked[i])
    return Work() if async_op else None


def all_gather_into_tensor(
    output_tensor: Any, input_tensor: Any, group: Any = None, async_op: bool = False
) -> Work | None:
    """Concatenate every rank's ``input_tensor`` along dim 0 into ``output_tensor`` (shape
    ``(world_size * n, ...)``; torch also accepts ``(world_size, n, ...)``, as does idrak).

    Raises:
        DistributedError: an ``output_tensor`` of neither shape.
    """
    _check_group("all_gather_into_tensor", group)
    comm = _require("all_gather_into_tensor")
    _check_tensor("all_gather_into_tensor", input_tensor, "input_tensor")
    _check_tensor("all_gather_into_tensor", output_tensor, "output_tensor")
    w, s = comm.world_size, tuple(input_tensor.shape)
    ok = [(w, *s)] + ([(w * s[0], *s[1:])] if s else [(w,)])
    if tuple(output_tensor.shape) not in ok:
        raise DistributedError(
            f"all_gather_into_tensor: output_tensor has shape {tuple(output_tensor.shape)}, "
            f"expected {' or '.join(map(str, ok))} for world_size {w}"
        )
    stacked = _gathered(comm, input_tensor.detach())
    output_tensor.assign(stacked.reshape(output_tensor.shape))
    return Work() if async_op else None


def reduce_scatter_tensor(
    output: Any, input: Any, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``input`` (shape ``(world_size * n, ...)`` or ``(world_size, n, ...)``) over the
    ranks and give rank ``r`` the ``r``-th of its ``world_size`` equal chunks in ``output``.

    Raises:
        DistributedError: shapes that do not fit, a bad ``op``.
    """
    _check_group("reduce_scatter_tensor", group)
    comm = _require("reduce_scatter_tensor")
    _check_tensor("reduce_scatter_tensor", input, "input")
    _check_tensor("reduce_scatter_tensor", output, "output")
    w, s = comm.world_size, tuple(output.shape)
    ok = [(w, *s)] + ([(w * s[0], *s[1:])] if s else [(w,)])
    if tuple(input.shape) not in ok:
        raise DistributedError(
            f"reduce_scatter_tensor: input has shape {tuple(input.shape)}, expected "
            f"{' or '.join(map(str, ok))} for output {s} and world_size {w}"
        )
    name = _op_name("reduce_scatter_tensor", op, input.dtype)
    rows = input.detach().reshape((w, *s))
    output.assign(_reduce(comm, rows, name, "reduce_scatter_tensor", scatter=True))
    return Work() if async_op else None


def reduce_scatter(
    output: Any,
    input_list: Sequence[Any],
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input_list[r]`` over the ranks into rank ``r``'s ``output``.

    Args:
        output: the Tensor to fill, shaped like each ``input_list`` entry.
        input_list: ``world_size`` Tensors of one shape and dtype.

    Raises:
        DistributedError: a list of the wrong length or shapes that differ.
    """
    _check_group("reduce_scatter", group)
    comm = _require("reduce_scatter")
    _check_tensor("reduce_scatter", output, "output")
    if not isinstance(input_list, list | tuple) or len(input_list) != comm.world_size:
        raise DistributedError(
            f"reduce_scatter: input_list must hold world_size={comm.world_size} Tensors"
        )
    for i, t in enumerate(input_list):
        _check_tensor("reduce_scatter", t, f"input_list[{i}]")
        if tuple(t.shape) != tuple(output.shape):
            raise DistributedError(
                f"reduce_scatter: input_list[{i}] has shape {tuple(t.shape)}, output "
                f"{tuple(output.shape)}"
            )
    from idrak.core.methods.movement import stack

    stacked = stack([t.detach() for t in input_list])
    return reduce_scatter_tensor(output, stacked, op, None, async_op)
