"""``ReduceOp``: the reductions of ``all_reduce`` and ``reduce_scatter`` (torch's names)."""

from __future__ import annotations

import enum

__all__ = ["ReduceOp"]


class ReduceOp(enum.Enum):
    """How :func:`~idrak.distributed.all_reduce` combines the ranks' values.

    ``SUM``, ``PRODUCT``, ``MIN``, ``MAX`` work for every dtype (``bool`` is reduced as
    ``uint8`` and read back as ``!= 0``: SUM and MAX are a logical or, PRODUCT and MIN a logical
    and). ``AVG`` is the sum divided by the world size, for floating dtypes only.
    """

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"
