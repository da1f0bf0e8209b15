"""Data-parallel SGD steps; under mpirun every rank saves its parameters to OUT/r.npz.

``train(rank, world, batch, steps, distributed)``: rank ``r`` of ``world`` takes rows
``[k*world*batch + r*batch, ... + batch)`` of the fixed data at step ``k`` (the same global
batches, in the same order, whatever ``world``); the test calls it in-process with world 1
and batch 2B as the reference.
"""

from __future__ import annotations

import sys

import numpy as np


def train(
    rank: int, world: int, batch: int, steps: int, distributed: bool
) -> dict[str, np.ndarray]:
    import idrak
    import idrak.nn as nn
    import idrak.nn.functional as F

    rng = np.random.default_rng(7)
    total = steps * world * batch
    x = rng.normal(size=(total, 6))
    y = rng.integers(0, 3, total)
    idrak.manual_seed(rank if distributed else 0)  # DDP must broadcast rank 0's weights
    model = nn.Sequential(
        nn.Linear(6, 16, dtype="float64"), nn.Tanh(), nn.Linear(16, 3, dtype="float64")
    )
    net = model
    if distributed:
        from idrak.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, bucket_cap_mb=0.0005)  # several buckets
    opt = idrak.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    for k in range(steps):
        lo = k * world * batch + rank * batch
        xb = idrak.tensor(x[lo : lo + batch])
        yb = idrak.tensor(y[lo : lo + batch])
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
    return {n: p.numpy() for n, p in model.named_parameters()}


if __name__ == "__main__":
    import idrak.distributed as dist

    out, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dist.init_process_group("mpi", timeout=30)
    params = train(dist.get_rank(), dist.get_world_size(), batch, steps, True)
    np.savez(f"{out}/{dist.get_rank()}.npz", **params)
    dist.destroy_process_group()
