"""``DistributedSampler``: each rank's share of a dataset's indices (torch's arguments)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["DistributedSampler"]


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"DistributedSampler: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class DistributedSampler:
    """Rank ``rank``'s share of ``dataset``'s indices (torch.utils.data.DistributedSampler).

    The epoch's order is one permutation of ``range(len(dataset))`` shared by all ranks
    (``numpy.random.default_rng([seed, epoch])``, the same one a shuffled
    :class:`~idrak.data.DataLoader` with that seed uses; torch draws it with ``torch.randperm``,
    so the orders differ from torch's, the layout does not); it is padded with its own first
    indices to a multiple of ``num_replicas`` (or truncated, with ``drop_last``) and rank ``r``
    takes every ``num_replicas``-th index from position ``r``. Each rank yields
    ``len(sampler)`` indices; together they cover the dataset.

    Args:
        dataset: anything with ``len``.
        num_replicas: the number of ranks; default ``idrak.distributed.get_world_size()``.
        rank: this rank; default ``idrak.distributed.get_rank()``.
        shuffle: a new permutation every epoch (:meth:`set_epoch`); False keeps the order.
        seed: the permutation seed, the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding.

    Raises:
        ValueError: ``rank`` outside ``[0, num_replicas)`` or a bad argument (named).
        idrak.distributed.DistributedError: ``num_replicas``/``rank`` omitted without a process
            group.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            import idrak.distributed as dist

            if not dist.is_initialized():
                raise dist.DistributedError(
                    "DistributedSampler: pass num_replicas= and rank=, or call "
                    "idrak.distributed.init_process_group() first"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        self.num_replicas = _int("num_replicas", num_replicas, 1)
        self.rank = _int("rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(
                f"DistributedSampler: rank {self.rank} is not in [0, {self.num_replicas})"
            )
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, bool):
                raise ValueError(f"DistributedSampler: {name} must be a bool, got {flag!r}")
        self.dataset, self.shuffle, self.drop_last = dataset, shuffle, drop_last
        self.seed = _int("seed", seed, 0)
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` next (call it before each epoch, on every rank)."""
        self.epoch = _int("epoch", epoch, 0)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch (int64)."""
        n = len(self.dataset)
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(n)
            if self.shuffle
            else np.arange(n)
        )
        if self.total_size > n:
            reps = math.ceil((self.total_size - n) / max(n, 1))
            order = np.concatenate([order, *([order] * reps)])
        order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(rank={self.rank}, num_replicas={self.num_replicas}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})"
        )
