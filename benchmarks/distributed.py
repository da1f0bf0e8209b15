"""Time per training step of the Fashion-MNIST MLP on 1 and 2 MPI ranks, and the time spent
communicating.

The parent starts ``mpirun -np N`` for each N (``--oversubscribe``; OpenMPI as root allowed
through the environment) on this file with ``--child``. Every child trains the MLP
784-256-128-10 with Adam on synthetic data through ``DistributedDataParallel`` at a fixed
*global* batch (``--batch``, split across the ranks), so 1 and 2 ranks do the same work per
step, and reports the median step time, the median time inside DDP's gradient all-reduce (the
gradients computed first: flatten, all-reduce, divide, slice; waiting for a slower rank counts
here), and the all-reduce time of one buffer of the model's gradient size (bandwidth and latency
on this machine). Nothing is asserted; compare with the step-time model of docs/distributed.md.
On a machine with fewer free cores than ranks (the 2-core CI box, shared) the ranks compete for
the CPU and 2 ranks are slower than 1: the numbers show the overheads, not a speedup.

Run: ``python benchmarks/distributed.py [--ranks 1 2] [--steps 40] [--batch 128]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time


def child(steps: int, batch: int) -> None:
    import numpy as np

    import idrak
    import idrak.distributed as dist
    import idrak.nn.functional as F
    from idrak.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    idrak.manual_seed(0)
    model = idrak.nn.MLP(784, [256, 128, 10])
    ddp = DistributedDataParallel(model)
    comm: list[float] = []
    reduce = ddp._reduce

    def timed(bucket):  # type: ignore[no-untyped-def]
        for p in bucket.params:  # the (lazy) backward computes here, outside the timing
            p.grad.realize()
        t0 = time.perf_counter()
        reduce(bucket)
        comm.append(time.perf_counter() - t0)

    object.__setattr__(ddp, "_reduce", timed)
    opt = idrak.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(rank)
    local = batch // world
    x = idrak.tensor(rng.normal(size=(local, 784)).astype(np.float32))
    y = idrak.tensor(rng.integers(0, 10, local))
    times, comms = [], []
    for i in range(steps + 5):
        comm.clear()
        dist.barrier()
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        for p in model.parameters():
            p.realize()
        if i >= 5:  # warm-up steps excluded
            times.append(time.perf_counter() - t0)
            comms.append(sum(comm))
    n = sum(p.numel() for p in model.parameters())
    buf = idrak.zeros(n)
    raw = []
    for _ in range(20):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        raw.append(time.perf_counter() - t0)
    tiny = idrak.zeros(1)
    lat = []
    for _ in range(50):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(tiny)
        lat.append(time.perf_counter() - t0)
    if rank == 0:
        print(json.dumps({
            "world": world, "params": n, "step": statistics.median(times),
            "comm": statistics.median(comms), "allreduce": statistics.median(raw),
            "latency": statistics.median(lat),
        }), flush=True)  # fmt: skip
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=128, help="global batch (split over ranks)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.steps, args.batch)
        return
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("mpirun not found: apt-get install openmpi-bin libopenmpi-dev")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows = []
    for n in args.ranks:
        opts = ["--child", "--steps", str(args.steps), "--batch", str(args.batch)]
        cmd = [mpirun, "-np", str(n), "--oversubscribe", "--bind-to", "none", sys.executable]
        cmd += [__file__, *opts]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"mpirun -np {n} failed:\n{out.stderr[-2000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = rows[0]["step"]
    print(f"Fashion-MNIST MLP ({rows[0]['params']:,} parameters), global batch {args.batch}, "
          f"{os.cpu_count()} CPU cores, BLAS threads {env['OPENBLAS_NUM_THREADS']}")  # fmt: skip
    print(f"{'ranks':>5} {'step ms':>9} {'comm ms':>9} {'speedup':>8} {'grad all_reduce ms':>19} "
          f"{'GB/s (bus)':>11} {'1-float all_reduce us':>22}")  # fmt: skip
    for r in rows:
        w, nbytes = r["world"], 4 * r["params"]
        bus = 2 * (w - 1) / w * nbytes / r["allreduce"] / 1e9 if w > 1 else float("nan")
        ms = f"{w:>5} {1e3 * r['step']:>9.2f} {1e3 * r['comm']:>9.2f} {base / r['step']:>7.2f}x"
        print(f"{ms} {1e3 * r['allreduce']:>19.3f} {bus:>11.2f} {1e6 * r['latency']:>22.1f}")


if __name__ == "__main__":
    main()
