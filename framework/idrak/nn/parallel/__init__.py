"""``idrak.nn.parallel``: :class:`DistributedDataParallel` (data parallelism over processes)."""

from __future__ import annotations

from idrak.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
