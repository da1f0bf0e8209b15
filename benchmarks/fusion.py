"""Kernel fusion and idrak.jit, side by side with NumPy and PyTorch.

1. A chain of 8 elementwise ops (``(((x*1.5+0.5)*x-0.25)**2 ... )``, see :func:`chain8`) on 16M
   float32 values: idrak op by op vs fused (CPU: numexpr engine and the NumPy interpreter engine;
   GPU through CuPy when a CUDA device is there), NumPy, PyTorch eager and ``torch.compile``.
   Each row reports milliseconds and the bandwidth achieved on the bytes the chain must move
   (read x once, write the result once), as a fraction of the machine's copy bandwidth
   (``np.copyto`` of the same bytes; ``cupy`` copy on the GPU).
2. The Fashion-MNIST-shaped MLP training step (784-256-128-10, batch 128, cross-entropy, Adam,
   synthetic data): idrak plain, idrak with ``idrak.jit``, PyTorch eager on the CPU.

Timings are the best of several repeats after a warm-up (the machine may be shared).

Run: ``python benchmarks/fusion.py [--size N] [--repeat R] [--no-compile]``.
"""

from __future__ import annotations

import argparse
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


def elementwise(size: int, repeat: int, compile_: bool) -> None:
    print(
        f"\n== chain of 8 elementwise ops on {size:,} float32 values "
        f"({size * 4 / 1e6:.0f} MB in, {size * 4 / 1e6:.0f} MB out) =="
    )
    xs = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    moved = 2 * xs.nbytes
    out = np.empty_like(xs)
    copy_ms = best_ms(lambda: np.copyto(out, xs), repeat)
    copy_gbs = moved / copy_ms / 1e6
    row("np.copyto (copy bandwidth)", copy_ms, moved, copy_gbs)
    row("NumPy", best_ms(lambda: chain8(xs), repeat), moved, copy_gbs)
    x = idrak.tensor(xs)

    def run() -> None:
        chain8(x).realize()

    import idrak_numpy._fused as nf

    prev = fusion.set_enabled(False)
    row("idrak cpu, op by op", best_ms(run, repeat), moved, copy_gbs)
    fusion.set_enabled(True)
    keep = nf.NUMEXPR_MIN_SIZE
    if nf.numexpr_available():
        nf.NUMEXPR_MIN_SIZE = 0
        row("idrak cpu, fused (numexpr)", best_ms(run, repeat), moved, copy_gbs)
    nf.NUMEXPR_MIN_SIZE = 1 << 62
    row("idrak cpu, fused (NumPy interpreter)", best_ms(run, repeat), moved, copy_gbs)
    nf.NUMEXPR_MIN_SIZE = keep
    fusion.set_enabled(prev)
    torch = _torch()
    if torch is not None:
        tx = torch.from_numpy(xs)
        row("PyTorch eager (cpu)", best_ms(lambda: chain8(tx), repeat), moved, copy_gbs)
        if compile_:
            try:
                f = torch.compile(chain8)
                f(tx[:1024])  # compile on a small input first
                row("torch.compile (cpu)", best_ms(lambda: f(tx), repeat), moved, copy_gbs)
            except Exception as e:  # no compiler toolchain, unsupported platform, ...
                print(f"  torch.compile (cpu): skipped ({type(e).__name__}: {str(e)[:80]})")
    _gpu(xs, repeat)


def _gpu(xs: np.ndarray, repeat: int) -> None:
    try:
        be = idrak.plugins.get_backend("cuda")
        ok, why = be.is_available()
    except Exception as e:
        ok, why = False, str(e)
    if not ok:
        print(f"  GPU rows: skipped ({why[:90]})")
        return
    cp = be.xp  # type: ignore[attr-defined]
    sync = cp.cuda.Device().synchronize
    g = cp.asarray(xs)
    gout = cp.empty_like(g)
    moved = 2 * xs.nbytes
    copy_ms = best_ms(lambda: cp.copyto(gout, g), repeat, sync)
    copy_gbs = moved / copy_ms / 1e6
    row("cupy copy (GPU copy bandwidth)", copy_ms, moved, copy_gbs)
    x = idrak.tensor(xs, device="cuda")
    prev = fusion.set_enabled(False)
    row("idrak cuda, op by op", best_ms(lambda: chain8(x).realize(), repeat, sync), moved, copy_gbs)
    fusion.set_enabled(True)
    row(
        "idrak cuda, fused (generated kernel)",
        best_ms(lambda: chain8(x).realize(), repeat, sync),
        moved,
        copy_gbs,
    )
    fusion.set_enabled(prev)


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


def mlp(repeat: int) -> None:
    print("\n== MLP training step: 784-256-128-10, batch 128, cross-entropy, Adam (CPU) ==")
    from idrak import nn
    from idrak.nn import functional as F

    rng = np.random.default_rng(0)
    xs = rng.standard_normal((128, 784)).astype(np.float32)
    ys = rng.integers(0, 10, 128)
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

    from idrak import optim

    adam = lambda ps: optim.Adam(ps, lr=1e-3)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optim.Adam keeps an int step: jit refuses, loudly
        for name, make, jit in (
            ("idrak plain (optim.Adam)", adam, False),
            ("idrak jit (optim.Adam)", adam, True),
            ("idrak plain (tensor-step Adam)", TensorStepAdam, False),
            ("idrak jit (tensor-step Adam)", TensorStepAdam, True),
        ):
            row(name, best_ms(idrak_step(make, jit), repeat * 5, warmup=5))
    torch = _torch()
    if torch is None:
        return
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

    row(
        f"PyTorch eager (cpu, {torch.get_num_threads()} threads)",
        best_ms(tstep, repeat * 5, warmup=5),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1 << 24)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    a = ap.parse_args()
    elementwise(a.size, a.repeat, not a.no_compile)
    mlp(a.repeat)


if __name__ == "__main__":
    main()
