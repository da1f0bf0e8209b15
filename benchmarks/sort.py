"""Time idrak's two composed sorts (comparison counting and the bitonic network) against
NumPy's ``np.sort``, to place ``idrak.core.methods.sorting._SORT["rank_max"]``.

Run: ``python benchmarks/sort.py [--batch 64] [--sizes 16 64 256 1024 4096]``. Prints, per row
length, the median wall time of ``Tensor.sort`` (values and indices, realized) with each
algorithm and its ratio to NumPy; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import idrak
from idrak.core.methods import sorting


def _median_time(fn: Callable[[], Any], reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 256, 1024, 4096])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    saved = sorting._SORT["rank_max"]
    print(
        f"{'n':>6} {'rank ms':>9} {'bitonic ms':>11} {'numpy ms':>9} {'rank/np':>8} {'bit/np':>7}"
    )
    try:
        for n in args.sizes:
            a = rng.standard_normal((args.batch, n)).astype(np.float32)
            x = idrak.tensor(a).realize()
            ref = _median_time(lambda a=a: np.argsort(a, -1, kind="stable"))

            def run(limit: int, x: idrak.Tensor = x) -> float:
                sorting._SORT["rank_max"] = limit
                return _median_time(lambda: idrak.realize(*x.sort()))

            rank = run(n) if n <= 2048 else float("nan")  # O(n**2) memory beyond that
            bit = run(1)
            print(
                f"{n:>6} {rank * 1e3:>9.2f} {bit * 1e3:>11.2f} {ref * 1e3:>9.3f} "
                f"{rank / ref:>8.0f} {bit / ref:>7.0f}"
            )
    finally:
        sorting._SORT["rank_max"] = saved


if __name__ == "__main__":
    main()
