"""Kernel fusion and idrak.jit, side by side with NumPy and PyTorch.

1. A chain of 8 elementwise ops (see :func:`chain8`) on 16M float32 values: idrak op by op vs
   fused (CPU: the NumPy interpreter, numexpr and numba engines, each forced with
   ``idrak_numpy._fused.ENGINE``; GPU through CuPy when a CUDA device is there), NumPy,
   PyTorch eager and ``torch.compile``.
   Each row reports milliseconds and the bandwidth achieved on the bytes the chain must move
   (read x once, write the result once), as a fraction of the machine's copy bandwidth
   (``np.copyto`` of the same bytes; ``cupy`` copy on the GPU).
2. The Fashion-MNIST-shaped MLP training step (784-256-128-10, batch 128, cross-entropy, Adam,
   synthetic data): idrak plain, idrak with ``idrak.jit``, PyTorch eager on the CPU.

Timings are the best of several repeats after a warm-up (the machine may be shared). Every part
runs in its own process, so thread pools (BLAS, OpenMP, numexpr) never compete.

Run: ``python benchmarks/fusion.py [--size N] [--repeat R] [--threads T] [--no-compile]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import idrak
from idrak import fusion


def chain8(x: Any) -> Any:
    """Eight elementwise ops every library spells the same way."""
    y = x * 1.5 + 0.5
    y = y * x - 0.25
    y = y * y + x
    return y / 3.0 - 1.0


def best_ms(
    fn: Callable[[], object],
    repeat: int,
    sync: Callable[[], object] = lambda: None,
    warmup: int = 2,
) -> float:
    for _ in range(warmup):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def row(name: str, ms: float, nbytes: int | None = None, copy_gbs: float | None = None) -> None:
    extra = ""
    if nbytes is not None:
        gbs = nbytes / ms / 1e6
        extra = f"{gbs:8.1f} GB/s"
        if copy_gbs:
            extra += f"  ({gbs / copy_gbs:5.0%} of copy)"
    print(f"  {name:38s} {ms:9.2f} ms  {extra}")


def _chain_input(size: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(size).astype(np.float32)


def part_copy(size: int, repeat: int, copy_gbs: float) -> None:
    xs = _chain_input(size)
    out = np.empty_like(xs)
    ms = best_ms(lambda: np.copyto(out, xs), repeat)
    print(f"COPY_GBS={2 * xs.nbytes / ms / 1e6}")
    row("np.copyto (copy bandwidth)", ms, 2 * xs.nbytes, 2 * xs.nbytes / ms / 1e6)
    row("NumPy", best_ms(lambda: chain8(xs), repeat), 2 * xs.nbytes, 2 * xs.nbytes / ms / 1e6)


def part_idrak_cpu(size: int, repeat: int, copy_gbs: float) -> None:
    import idrak_numpy._fused as nf

    xs = _chain_input(size)
    moved = 2 * xs.nbytes
    x = idrak.tensor(xs)

    def run() -> None:
        chain8(x).realize()

    fusion.set_enabled(False)
    row("idrak cpu, op by op", best_ms(run, repeat), moved, copy_gbs)
    fusion.set_enabled(True)
    if idrak.runtime.plugins.get_backend("numpy").fusion is None:
        print("  idrak cpu, fused: skipped (pip install 'idrak[fused]')")
        return
    nf.ENGINE = "interp"
    row("idrak cpu, fused (NumPy interpreter)", best_ms(run, repeat), moved, copy_gbs)
    if nf.numexpr_available():
        nf.ENGINE = "numexpr"
        row("idrak cpu, fused (numexpr)", best_ms(run, repeat), moved, copy_gbs)
    if nf.numba_available():
        nf.ENGINE = "numba"
        t0 = time.perf_counter()
        run()  # the first call compiles (or loads from the disk cache)
        first = time.perf_counter() - t0
        row("idrak cpu, fused (numba)", best_ms(run, repeat), moved, copy_gbs)
        print(f"  {'(numba first call: compile or cache load)':38s} {first * 1e3:9.0f} ms")
    else:
        print("  idrak cpu, fused (numba): skipped (pip install 'idrak[fused]')")


def part_torch(size: int, repeat: int, copy_gbs: float) -> None:
    torch = _torch()
    if torch is None:
        return
    tx = torch.from_numpy(_chain_input(size))
    row("PyTorch eager (cpu)", best_ms(lambda: chain8(tx), repeat), 2 * tx.numel() * 4, copy_gbs)


def part_torch_compile(size: int, repeat: int, copy_gbs: float) -> None:
    torch = _torch()
    if torch is None:
        return
    tx = torch.from_numpy(_chain_input(size))
    try:
        f = torch.compile(chain8)
        f(tx[:1024])  # compile on a small input first
        row("torch.compile (cpu)", best_ms(lambda: f(tx), repeat), 2 * tx.numel() * 4, copy_gbs)
    except Exception as e:  # no compiler toolchain, unsupported platform, ...
        print(f"  torch.compile (cpu): skipped ({type(e).__name__}: {str(e)[:80]})")


def part_gpu(size: int, repeat: int, copy_gbs: float) -> None:
    try:
        be = idrak.runtime.plugins.get_backend("cuda")
        ok, why = be.is_available()
    except Exception as e:
        ok, why = False, str(e)
    if not ok:
        print(f"  GPU rows: skipped ({why[:90]})")
        return
    xs = _chain_input(size)
    cp = be.xp  # type: ignore[attr-defined]
    sync = cp.cuda.Device().synchronize
    g = cp.asarray(xs)
    gout = cp.empty_like(g)
    moved = 2 * xs.nbytes
    copy_ms = best_ms(lambda: cp.copyto(gout, g), repeat, sync)
    gpu_gbs = moved / copy_ms / 1e6
    row("cupy copy (GPU copy bandwidth)", copy_ms, moved, gpu_gbs)
    x = idrak.tensor(xs, device="cuda")
    for name, on in (("idrak cuda, op by op", False), ("idrak cuda, fused", True)):
        fusion.set_enabled(on)
        row(name, best_ms(lambda: chain8(x).realize(), repeat, sync), moved, gpu_gbs)


def _torch() -> Any:
    try:
        import torch

        return torch
    except ImportError:
        print("  PyTorch rows: skipped (torch not installed)")
        return None


# ---------------------------------------------------------------------------------------------
class TensorStepAdam:
    """Adam with its step counter in a Tensor, so ``idrak.jit`` can replay it (same math)."""

    def __init__(self, params: list[idrak.Tensor], lr: float = 1e-3) -> None:
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, 0.9, 0.999, 1e-8
        self.t = idrak.zeros(())
        self.m = [p.zeros_like() for p in params]
        self.v = [p.zeros_like() for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        with idrak.no_grad():
            self.t.assign(self.t + 1.0)
            c1 = self.lr / (1.0 - idrak.full((), self.b1) ** self.t)
            c2 = 1.0 / (1.0 - idrak.full((), self.b2) ** self.t).sqrt()
            for p, m, v in zip(self.params, self.m, self.v):
                g: Any = p.grad
                m.assign(m * self.b1 + g * (1 - self.b1))
                v.assign(v * self.b2 + g * g * (1 - self.b2))
                p.assign(p - m * c1 / (v.sqrt() * c2 + self.eps))
            idrak.realize(self.t, *self.params, *self.m, *self.v)


def _mlp_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((128, 784)).astype(np.float32), rng.integers(0, 10, 128)


def part_mlp_idrak(size: int, repeat: int, copy_gbs: float) -> None:
    from idrak import nn, optim
    from idrak.nn import functional as F

    xs, ys = _mlp_data()
    x, y = idrak.tensor(xs), idrak.tensor(ys)

    def idrak_step(make_opt: Callable[[Any], Any], jit: bool) -> Callable[[], object]:
        idrak.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
        )
        opt = make_opt(list(model.parameters()))

        def step(x: idrak.Tensor, y: idrak.Tensor) -> idrak.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = idrak.jit(step, state=[model, opt]) if jit else step
        return lambda: fn(x, y).realize()

    adam = lambda ps: optim.Adam(ps, lr=1e-3)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make, jit in (
            ("idrak plain (optim.Adam)", adam, False),
            ("idrak jit (optim.Adam)", adam, True),
            ("idrak plain (tensor-step Adam)", TensorStepAdam, False),
            ("idrak jit (tensor-step Adam)", TensorStepAdam, True),
        ):
            row(name, best_ms(idrak_step(make, jit), repeat * 10, warmup=5))


def part_mlp_torch(size: int, repeat: int, copy_gbs: float) -> None:
    torch = _torch()
    if torch is None:
        return
    xs, ys = _mlp_data()
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(xs), torch.from_numpy(ys)

    def tstep() -> None:
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(tx), ty).backward()
        topt.step()

    threads = torch.get_num_threads()
    for n in sorted({threads, 1}, reverse=True):  # 1 thread too: shared machines are noisy
        torch.set_num_threads(n)
        row(
            f"PyTorch eager (cpu, {n} thread{'s' if n > 1 else ''})",
            best_ms(tstep, repeat * 10, warmup=5),
        )


PARTS: dict[str, Callable[[int, int, float], None]] = {
    "copy": part_copy,
    "idrak-cpu": part_idrak_cpu,
    "torch": part_torch,
    "torch-compile": part_torch_compile,
    "gpu": part_gpu,
    "mlp-idrak": part_mlp_idrak,
    "mlp-torch": part_mlp_torch,
}


_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "IDRAK_NUM_THREADS",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1 << 24)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument(
        "--threads",
        type=int,
        help="CPU threads for every library (BLAS, OpenMP, numexpr, idrak's blocks)",
    )
    ap.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    ap.add_argument("--copy-gbs", type=float, default=0.0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.part:
        PARTS[a.part](a.size, a.repeat, a.copy_gbs)
        return
    # each part in its own process: thread pools (BLAS, OpenMP, numexpr) never compete
    print(f"CPU threads: {a.threads or 'each library default'} ({os.cpu_count()} CPUs)\n")
    print(
        f"== chain of 8 elementwise ops on {a.size:,} float32 values "
        f"({a.size * 4 / 1e6:.0f} MB in, {a.size * 4 / 1e6:.0f} MB out) =="
    )
    copy_gbs = 0.0
    for part in (
        "copy",
        "idrak-cpu",
        "torch",
        "torch-compile",
        "gpu",
        None,
        "mlp-idrak",
        "mlp-torch",
    ):
        if part is None:
            print("\n== MLP training step: 784-256-128-10, batch 128, cross-entropy, Adam (CPU) ==")
            continue
        if part == "torch-compile" and a.no_compile:
            continue
        cmd = [
            sys.executable,
            __file__,
            "--part",
            part,
            "--size",
            str(a.size),
            "--repeat",
            str(a.repeat),
            "--copy-gbs",
            str(copy_gbs),
        ]
        env = dict(os.environ)
        for var in _THREAD_VARS if a.threads else ():
            env[var] = str(a.threads)
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        except subprocess.TimeoutExpired:
            print(f"  {part}: skipped (timed out)")
            continue
        for line in res.stdout.splitlines():
            if line.startswith("COPY_GBS="):
                copy_gbs = float(line.split("=", 1)[1])
            else:
                print(line)
        if res.returncode != 0:
            print(f"  {part}: failed: {res.stderr.strip().splitlines()[-1:]}")


if __name__ == "__main__":
    main()
