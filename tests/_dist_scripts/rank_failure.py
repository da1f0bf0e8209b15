"""Under mpirun -np 2: rank 1 either exits (``exit``) or hangs (``hang``) instead of joining an
all_reduce; rank 0 must fail with a clear error (mpirun ends the job) instead of waiting."""

from __future__ import annotations

import os
import sys
import time

import idrak
import idrak.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=float(sys.argv[2]))
dist.barrier()
if dist.get_rank() == 1:
    if mode == "exit":
        os._exit(3)
    time.sleep(40)
t = idrak.ones(4)
dist.all_reduce(t)
print("rank", dist.get_rank(), "finished, which it should not have", flush=True)
