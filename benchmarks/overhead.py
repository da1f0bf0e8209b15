"""Per-op overhead: microseconds to build and realize small elementwise work.

Measures, on 1,000 float32 values:

(a) one elementwise add, built and realized;
(b) a chain of 10 elementwise ops, realized once (reported per op);

for idrak lazy, idrak eager (``idrak.eager()``), NumPy, and PyTorch eager (when installed), and
prints the idrak/PyTorch ratio. Timing is ``time.perf_counter`` around an inner loop, with a
warm-up, and the best of several repeats.

Run: ``python benchmarks/overhead.py [--repeat R] [--number N] [--profile]``. ``--profile`` also
prints the top of a cProfile of idrak's lazy path. ``IDRAK_DISABLE_FUSION=1`` measures without
the fusion pass.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable

import numpy as np

import idrak

N_VALUES = 1000
CHAIN = 10


def best_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best-of-``repeat`` microseconds per call of ``fn`` (``number`` calls per repeat)."""
    for _ in range(max(10, number // 10)):  # warm-up: caches, dispatch tables, allocator
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, time.perf_counter() - t0)
    return best / number * 1e6


def chain(x):  # type: ignore[no-untyped-def]
    """Ten elementwise ops that every library spells the same way."""
    y = x + 1.0
    y = y * 2.0
    y = y - x
    y = y * y
    y = y + x
    y = y / 3.0
    y = y - 0.5
    y = y * x
    y = y + 2.0
    return y * 0.25


def idrak_cases() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    a = idrak.rand(N_VALUES).realize()
    b = idrak.rand(N_VALUES).realize()

    def add_lazy() -> object:
        return (a + b).realize()

    def chain_lazy() -> object:
        return chain(a).realize()

    def add_eager() -> object:  # timed inside idrak.eager(): see main()
        return a + b

    def chain_eager() -> object:
        return chain(a)

    return {"idrak lazy": (add_lazy, chain_lazy), "idrak eager": (add_eager, chain_eager)}


def numpy_cases() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    rng = np.random.default_rng(0)
    a = rng.random(N_VALUES, dtype=np.float32)
    b = rng.random(N_VALUES, dtype=np.float32)
    return {"numpy": (lambda: a + b, lambda: chain(a))}


def torch_cases() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    a = torch.rand(N_VALUES)
    b = torch.rand(N_VALUES)
    return {"torch eager": (lambda: a + b, lambda: chain(a))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--number", type=int, default=2000)
    p.add_argument("--profile", action="store_true", help="cProfile idrak's lazy chain")
    args = p.parse_args()

    cases = {**idrak_cases(), **numpy_cases(), **torch_cases()}
    rows: dict[str, tuple[float, float]] = {}
    for name, (add, ch) in cases.items():
        with idrak.eager(name == "idrak eager"):
            rows[name] = (
                best_us(add, args.number, args.repeat),
                best_us(ch, args.number // 4, args.repeat) / CHAIN,
            )

    print(f"per-op overhead on {N_VALUES} float32 values (best of {args.repeat}; us)")
    print(f"{'':14s} {'(a) one add':>14s} {'(b) chain/op':>14s}")
    for name, (ua, ub) in rows.items():
        print(f"{name:14s} {ua:14.2f} {ub:14.2f}")
    if "torch eager" in rows:
        ta, tb = rows["torch eager"]
        for name in ("idrak lazy", "idrak eager"):
            ua, ub = rows[name]
            print(f"ratio {name}/torch eager: (a) {ua / ta:5.2f}x  (b) {ub / tb:5.2f}x")

    if args.profile:
        _, chain_lazy = cases["idrak lazy"]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(2000):
            chain_lazy()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
