"""Under mpirun: every collective, dtype and ReduceOp; each rank saves its results to OUT/r.npz.

The inputs come from tests/test_distributed_mpi.py's ``make_input`` (imported from argv[2]'s
directory), so the test computes the NumPy references from the same values.
"""

import sys

import numpy as np

sys.path.insert(0, sys.argv[2])
from _dist_inputs import DTYPES, OPS, make_input

import idrak
import idrak.distributed as dist

dist.init_process_group("mpi", timeout=30)
rank, world = dist.get_rank(), dist.get_world_size()
out: dict[str, np.ndarray] = {}
for name in DTYPES:
    x = make_input(name, rank)
    for op in OPS:
        if op == "AVG" and name not in ("float16", "float32", "float64"):
            continue
        t = idrak.tensor(x, dtype=name)
        dist.all_reduce(t, getattr(dist.ReduceOp, op))
        assert t.dtype.name == name, (t.dtype, name)
        out[f"all_reduce/{name}/{op}"] = t.numpy()
        rows = idrak.tensor(np.stack([make_input(name, rank + 10 * k) for k in range(world)]))
        rows = rows.cast(name)
        o = idrak.zeros(x.shape, dtype=name)
        dist.reduce_scatter_tensor(o, rows, getattr(dist.ReduceOp, op))
        out[f"reduce_scatter/{name}/{op}"] = o.numpy()
    t = idrak.tensor(x, dtype=name)
    dist.broadcast(t, src=world - 1)
    out[f"broadcast/{name}"] = t.numpy()
    parts = [idrak.zeros(x.shape, dtype=name) for _ in range(world)]
    dist.all_gather(parts, idrak.tensor(x, dtype=name))
    out[f"all_gather/{name}"] = np.stack([p.numpy() for p in parts])
    flat = idrak.zeros((world * x.shape[0], *x.shape[1:]), dtype=name)
    dist.all_gather_into_tensor(flat, idrak.tensor(x, dtype=name))
    out[f"all_gather_into_tensor/{name}"] = flat.numpy()
dist.barrier()
np.savez(f"{sys.argv[1]}/{rank}.npz", **out)
dist.destroy_process_group()
