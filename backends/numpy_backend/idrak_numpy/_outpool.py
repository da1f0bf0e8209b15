"""Reuse of large FUSED output buffers whose last user is gone (no fresh pages per call).

glibc's ``malloc`` serves arrays of more than 32 MiB (its largest mmap threshold) with fresh
``mmap`` pages, returned to the system on free, so every new output of that size pays the
kernel's page faults and zeroing: for a 64 MiB float32 result about as long as streaming it
(``benchmarks/fusion.py``: 6.3 ms to fill a new array against 3.3 ms to fill one kept). Smaller
arrays come back from malloc's heap without that cost, so only larger ones are pooled.

:func:`empty` keeps the last :data:`POOL_SIZE` such arrays it handed out and gives one back
again when its shape and dtype match and nothing but the pool refers to it (its reference count,
which counts views and buffer exports too): the values of a buffer are never visible to two
owners. At most ``POOL_SIZE`` arrays are retained after their users are done with them.
"""

from __future__ import annotations

import math
import sys
import threading
from typing import Any

import numpy as np

__all__ = ["MIN_BYTES", "POOL_SIZE", "empty"]

#: outputs of at least this many bytes are pooled (glibc's largest mmap threshold)
MIN_BYTES = 32 << 20
#: most arrays the pool keeps
POOL_SIZE = 2

_pool: list[np.ndarray] = []
_lock = threading.Lock()


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty(shape, dtype)``, from the pool when a kept array of that kind is free."""
    dt = np.dtype(dtype)
    if dt.itemsize * math.prod(shape) < MIN_BYTES:
        return np.empty(shape, dt)
    with _lock:
        for a in _pool:
            # 3: the pool's list, the loop variable and getrefcount's argument
            if a.shape == shape and a.dtype == dt and sys.getrefcount(a) <= 3:
                return a
        a = np.empty(shape, dt)
        _pool.append(a)
        if len(_pool) > POOL_SIZE:
            del _pool[0]
        return a


def clear() -> None:
    """Forget every kept array (memory goes back once their users are done)."""
    with _lock:
        _pool.clear()
