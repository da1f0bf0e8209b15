"""Peak memory of a training step, and the slowdown under a competing CPU-bound process.

Two targets of the performance work that a step-time ratio does not show:

- **memory**: the peak resident set size (``ru_maxrss``) of a process that imports a library,
  builds the model of ``fashion_mnist.py`` and runs ``--steps`` Adam steps on a fixed batch of
  128; each library runs in its own fresh process, so neither sees the other's allocations.
  idrak is measured plain and under ``idrak.jit`` (the Runner's default).
- **load**: the median step time of each library alone, then with ``--hogs`` busy-looping
  processes started beside it; the slowdown factor is loaded / alone (lower is better). Both
  run with ``--threads`` threads (default 1: the setting that is stable on a shared machine).

Usage::

    python benchmarks/robustness.py --model mlp
    python benchmarks/robustness.py --model cnn --hogs 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _child(lib: str, model: str, steps: int, threads: int, jit: bool) -> dict[str, Any]:
    """Runs in a fresh interpreter: ``steps`` training steps; peak RSS and step times."""
    import resource

    import numpy as np

    sys.path.insert(0, str(HERE))
    from fashion_mnist import BATCH, LR, idrak_model, idrak_step, torch_model

    rng = np.random.default_rng(0)
    shape = (BATCH, 1, 28, 28) if model == "cnn" else (BATCH, 784)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    times = []
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
        net = torch_model(model)
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        if model == "mlp":
            xt = xt.reshape(BATCH, 784)
        for _ in range(steps):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt), yt)
            loss.backward()
            opt.step()
            loss.item()
            times.append(time.perf_counter() - t0)
    else:
        from threadpoolctl import threadpool_limits

        import idrak

        threadpool_limits(threads)
        idrak.set_num_threads(threads)
        net = idrak_model(model)
        opt = idrak.optim.Adam(net.parameters(), lr=LR)

        step = idrak_step(net, opt)
        fn = idrak.jit(step, state=[net, opt]) if jit else step
        xi, yi = idrak.tensor(x), idrak.tensor(y)
        for _ in range(steps):
            t0 = time.perf_counter()
            fn(xi, yi).item()
            times.append(time.perf_counter() - t0)
    warm = times[3:] or times
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "step_s": statistics.median(warm)}  # fmt: skip


def run(lib: str, model: str, steps: int, threads: int, jit: bool) -> dict[str, Any]:
    """:func:`_child` in a fresh interpreter."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import robustness; "
        f"print(json.dumps(robustness._child({lib!r}, {model!r}, {steps}, {threads}, {jit})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _hog(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x += i * i


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hogs", type=int, default=1, help="competing busy processes")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    cases = {"torch": ("torch", False), "idrak": ("idrak", False), "idrak jit": ("idrak", True)}
    alone = {k: run(lib, a.model, a.steps, a.threads, jit) for k, (lib, jit) in cases.items()}
    stop = mp.Event()
    hogs = [mp.Process(target=_hog, args=(stop,), daemon=True) for _ in range(a.hogs)]
    for h in hogs:
        h.start()
    try:
        loaded = {k: run(lib, a.model, a.steps, a.threads, jit) for k, (lib, jit) in cases.items()}
    finally:
        stop.set()
        for h in hogs:
            h.join()
    print(f"{a.model}, batch 128, Adam, {a.threads} thread(s), {a.hogs} competing process(es)")
    print(f"{'':12}{'peak RSS MB':>12}{'step ms':>10}{'loaded ms':>11}{'slowdown':>10}")
    out: dict[str, Any] = {"model": a.model, "threads": a.threads, "hogs": a.hogs, "rows": {}}
    for k in cases:
        s0, s1 = alone[k]["step_s"], loaded[k]["step_s"]
        row = {"peak_rss_mb": alone[k]["peak_rss_mb"], "step_s": s0, "loaded_s": s1}
        row["slowdown"] = s1 / s0
        out["rows"][k] = row
        print(
            f"{k:12}{row['peak_rss_mb']:12.0f}{s0 * 1e3:10.2f}{s1 * 1e3:11.2f}"
            f"{row['slowdown']:10.2f}"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
