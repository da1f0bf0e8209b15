"""``python -m idrak.distributed.launch``: start one process per device (like ``torchrun``).

Usage::

    python -m idrak.distributed.launch --nproc-per-node 2 train.py --epochs 1
    python -m idrak.distributed.launch --nproc-per-node 8 --nnodes 2 --node-rank 0 \\
        --master-addr 10.0.0.1 --master-port 29500 -m idrak.examples.fashion_mnist ...

Each child gets ``RANK`` (``node_rank * nproc_per_node + local_rank``), ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment,
the rendezvous ``init_process_group(backend="nccl")`` reads. It is meant for NCCL (one process
per GPU); the ``mpi`` backend is started by ``mpirun`` instead and refuses a launch world
(its ranks come from MPI). When a child fails, the others are stopped (SIGTERM, then SIGKILL
after ``--grace`` seconds) and the launcher exits with the failed child's status, naming it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m idrak.distributed.launch",
        description="Start N processes with torchrun-style RANK/WORLD_SIZE/MASTER_* variables.",
    )
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1)
    p.add_argument("--nnodes", type=int, default=1)
    p.add_argument("--node-rank", "--node_rank", type=int, default=0)
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--grace", type=float, default=5.0, help="seconds between SIGTERM and SIGKILL")
    p.add_argument("-m", dest="module", action="store_true", help="run the script as a module")
    p.add_argument("script", help="the script (or, with -m, the module) to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def _stop(procs: list[subprocess.Popen[bytes]], grace: float) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the launcher; returns the exit status (0 when every child succeeded)."""
    args = _parser().parse_args(argv)
    for name in ("nproc_per_node", "nnodes"):
        if getattr(args, name) < 1:
            _parser().error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not 0 <= args.node_rank < args.nnodes:
        _parser().error(f"--node-rank must be in [0, {args.nnodes}), got {args.node_rank}")
    world = args.nnodes * args.nproc_per_node
    cmd = [sys.executable, *(["-m"] if args.module else []), args.script, *args.args]
    procs: list[subprocess.Popen[bytes]] = []
    for local in range(args.nproc_per_node):
        env = dict(os.environ)
        env.update(
            RANK=str(args.node_rank * args.nproc_per_node + local),
            WORLD_SIZE=str(world),
            LOCAL_RANK=str(local),
            LOCAL_WORLD_SIZE=str(args.nproc_per_node),
            MASTER_ADDR=args.master_addr,
            MASTER_PORT=str(args.master_port),
        )
        procs.append(subprocess.Popen(cmd, env=env))
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                local, code = failed[0]
                rank = args.node_rank * args.nproc_per_node + local
                print(
                    f"idrak.distributed.launch: rank {rank} (local rank {local}) exited with "
                    f"status {code}; stopping the other ranks",
                    file=sys.stderr,
                    flush=True,
                )
                _stop(procs, args.grace)
                return code if code > 0 else 1
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(procs, args.grace)
        return 130


if __name__ == "__main__":
    sys.exit(main())
