"""One training step, idrak against PyTorch eager, timed side by side in one process.

The models, optimizer (Adam 1e-3) and batch (128) of ``fashion_mnist.py``, on a fixed random
batch; idrak's step plain or under ``idrak.jit`` (what ``Runner`` does by default). Both libraries
are pinned to ``--threads`` (threadpoolctl for NumPy's BLAS, ``idrak.set_num_threads``,
``torch.set_num_threads``). ``--rounds`` interleaved rounds of ``--steps`` steps each; prints the
median step time of both and the median of the per-round ratios (idrak / torch: below 1 means
idrak is faster), which is the least sensitive to other processes on a shared machine.

Usage::

    python benchmarks/train_step.py --model cnn            # jitted step, 1 thread
    python benchmarks/train_step.py --model mlp --plain --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from fashion_mnist import BATCH, LR, idrak_model, idrak_step, torch_model


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    p.add_argument("--plain", action="store_true", help="idrak's step without idrak.jit")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=5, help="steps per round and library")
    args = p.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    import idrak
    import idrak.optim

    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    idrak.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    shape = (BATCH, 1, 28, 28) if args.model == "cnn" else (BATCH, 784)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, BATCH)

    idrak.manual_seed(0)
    model = idrak_model(args.model)
    opt = idrak.optim.Adam(model.parameters(), lr=LR)

    step = idrak_step(model, opt)
    fn = step if args.plain else idrak.jit(step, state=[model, opt])
    tmodel = torch_model(args.model)
    topt = torch.optim.Adam(tmodel.parameters(), lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def run_idrak() -> float:
        return float(fn(idrak.tensor(x), idrak.tensor(y)).item())

    def torch_step() -> float:
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
        loss.backward()
        topt.step()
        return float(loss.item())

    for _ in range(3):  # warm-up: optimizer state, the jit trace, caches
        run_idrak()
        torch_step()
    ti, tt = [], []
    for _ in range(args.rounds):
        for f, out in ((run_idrak, ti), (torch_step, tt)):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                f()
            out.append((time.perf_counter() - t0) / args.steps)
    ratio = statistics.median(a / b for a, b in zip(ti, tt))
    mode = "plain" if args.plain else "jitted"
    print(
        f"{args.model} Adam step, batch {BATCH}, {args.threads} thread(s), idrak {mode}: "
        f"idrak {statistics.median(ti) * 1e3:.1f} ms, torch {statistics.median(tt) * 1e3:.1f} ms, "
        f"ratio {ratio:.2f} (median of {args.rounds} interleaved rounds)"
    )


if __name__ == "__main__":
    main()
