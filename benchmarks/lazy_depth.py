"""The cost of bounding the lazy graph's depth (``idrak.engine.lazy.set_max_depth``).

Builds a chain of ``--ops`` elementwise ops on ``--n`` float32 values without reading a value,
realizes it once at the end, and prints microseconds per op and the graph's deepest unrealized
chain, for several bounds (0 = unbounded). A low bound realizes often (each forced realization
is one schedule and cuts a fusion group); a high one lets the pending graph (and the memory it
holds) grow. Also times the micrograd-style loop of ``tests/test_modes.py``.

Run: ``python benchmarks/lazy_depth.py [--ops N] [--n N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import idrak
from idrak.engine import lazy


def chain_us(ops: int, n: int, repeat: int) -> tuple[float, int]:
    best, deepest = float("inf"), 0
    for _ in range(repeat):
        x = idrak.ones(n).realize()
        t0 = time.perf_counter()
        deepest = 0
        for _ in range(ops // 2):
            x = x * 1.0001 + 0.0001
            if x.lazy.buf is None:
                deepest = max(deepest, x.lazy.depth)
        x.realize()
        best = min(best, time.perf_counter() - t0)
    return best / ops * 1e6, deepest


def micrograd_ms(steps: int) -> float:
    rng = np.random.default_rng(0)
    xs = idrak.tensor(rng.standard_normal((32, 3)))
    ys = idrak.tensor(rng.standard_normal((32, 1)))
    w1 = idrak.tensor(rng.standard_normal((3, 8)) * 0.5, requires_grad=True)
    w2 = idrak.tensor(rng.standard_normal((8, 1)) * 0.5, requires_grad=True)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = ((xs @ w1).tanh() @ w2 - ys).pow(2).mean()
        loss.backward()
        with idrak.no_grad():
            w1 -= 0.05 * w1.grad
            w2 -= 0.05 * w2.grad
        w1.grad = w2.grad = None
    w1.realize()
    return (time.perf_counter() - t0) / steps * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=10000)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    prev = lazy.max_depth()
    print(f"chain of {args.ops} ops on {args.n} float32 values (best of {args.repeat})")
    print(f"{'max_depth':>10s} {'us/op':>8s} {'deepest':>8s}")
    try:
        for bound in (0, 16, 64, 256, 1024, 4096):
            lazy.set_max_depth(bound)
            us, deepest = chain_us(args.ops, args.n, args.repeat)
            print(f"{bound:10d} {us:8.2f} {deepest:8d}")
        lazy.set_max_depth(prev)
        print(f"micrograd loop (default bound {prev}): {micrograd_ms(500):.3f} ms/step")
    finally:
        lazy.set_max_depth(prev)


if __name__ == "__main__":
    main()
