"""One thread policy for everything idrak runs on the host.

idrak's host work has these thread pools: the BLAS library's (matmul, conv2d through matmul), the
NumPy backend's fused-kernel engines (the numba engine's parallel loops, the interpreter's block
threads, numexpr's). They run one after the other (the scheduler executes one kernel at a time),
so each may use every core idrak is given, but never more: on a shared machine a pool sized by
``os.cpu_count()`` oversubscribes the cores and makes small kernels many times slower. numba runs
on its ``workqueue`` layer, whose idle workers sleep (OpenMP's spin and took the cores from
OpenBLAS: ``docs/performance.md``). The DataLoader's prefetch adds one thread that mostly waits.

The number of threads is, in order: :func:`set_num_threads`, the environment variable
``IDRAK_NUM_THREADS``, or the cores this process may run on (``os.sched_getaffinity``, which a
container or ``taskset`` restricts). It is applied to BLAS and OpenMP through threadpoolctl
(the well-kept library for exactly this) and to each backend through
:meth:`idrak.contract.backend.Backend.set_num_threads`, when the backend is built and whenever
the number changes. Like ``torch.set_num_threads``, it is process-wide.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from idrak.contract.backend import Backend

__all__ = ["get_num_threads", "set_num_threads"]

_lock = threading.Lock()
_state: dict[str, Any] = {"n": None, "limiter": None, "backends": []}


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def _parse(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{where}: expected a positive int, got {value!r}")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{where}: expected a positive int, got {value!r}") from None
    if n < 1:
        raise ValueError(f"{where}: expected a positive int, got {value!r}")
    return n


def get_num_threads() -> int:
    """The number of host threads idrak's pools use (see the module docstring).

    Raises:
        ValueError: ``IDRAK_NUM_THREADS`` is set to something other than a positive int.
    """
    n = _state["n"]
    if n is None:
        env = os.environ.get("IDRAK_NUM_THREADS", "").strip()
        n = _parse(env, "IDRAK_NUM_THREADS") if env else _cores()
    return int(n)


def set_num_threads(n: int) -> None:
    """Use at most ``n`` host threads in BLAS, OpenMP and every backend's own pools.

    Raises:
        ValueError: ``n`` is not a positive int.
    """
    n = _parse(n, "set_num_threads")
    with _lock:
        _state["n"] = n
        _limit_blas(n)
        for be in list(_state["backends"]):
            be.set_num_threads(n)


def apply(backend: Backend) -> None:
    """Give a newly built backend the current policy (called by the plugin registry)."""
    with _lock:
        n = get_num_threads()
        if _state["limiter"] is None:
            _limit_blas(n)
        _state["backends"].append(backend)
        backend.set_num_threads(n)


def _limit_blas(n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency; absent only in a broken environment
        return
    # a global limit that stays in force (the object is kept, never used as a context)
    _state["limiter"] = threadpool_limits(limits=n)
