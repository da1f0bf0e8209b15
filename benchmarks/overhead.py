"""Per-op overhead: microseconds to build and realize small elementwise work.

Measures, on 1,000 float32 values:

(a) one elementwise add, built and realized;
(a') the same add, then ``.numpy()`` (the issue's per-op row: torch's ``.numpy()`` shares memory,
     idrak's copies, which is part of what is measured);
(b) a chain of 10 elementwise ops, realized once (reported per op);

for idrak lazy, idrak eager (``idrak.eager()``), NumPy, and PyTorch eager (when installed), and
prints the idrak/PyTorch ratios. Every case is timed in ``--rounds`` interleaved rounds (one
``time.perf_counter`` around ``--number`` calls, after a warm-up); the table shows the median
time of each and the median of the per-round ratios, which is the least sensitive to other
processes on a shared machine.

Run: ``python benchmarks/overhead.py [--rounds R] [--number N] [--cpu] [--profile] [--calls]``.
``--cpu`` times with the process's CPU time (``time.process_time``), which waiting for a core on a
busy machine does not inflate.
``--profile`` also prints the top of a cProfile of idrak's lazy chain; ``--calls`` prints how
many Python functions one lazy ``(a + b).numpy()`` calls (``sys.setprofile``: a count that does
not depend on the machine's load). ``IDRAK_DISABLE_FUSION=1`` measures without the fusion pass.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

import idrak

N_VALUES = 1000
CHAIN = 10


#: the clock of every measurement: wall time (default), or this process's CPU time (``--cpu``),
#: which time spent waiting for a core on a busy machine does not inflate
_clock = [time.perf_counter]


def us_per_call(fn: Callable[[], object], number: int) -> float:
    """Microseconds per call of ``fn``, over ``number`` calls."""
    clock = _clock[0]
    t0 = clock()
    for _ in range(number):
        fn()
    return (clock() - t0) / number * 1e6


def python_calls(fn: Callable[[], object]) -> int:
    """How many Python functions one call of ``fn`` calls (C functions not counted)."""
    fn()
    calls = [0]

    def count(frame: object, event: str, arg: object) -> None:
        if event == "call":
            calls[0] += 1

    sys.setprofile(count)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls[0] - 1  # fn itself


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


Cases = dict[str, tuple[Callable[[], object], ...]]


def idrak_cases() -> Cases:
    a = idrak.rand(N_VALUES).realize()
    b = idrak.rand(N_VALUES).realize()

    def add_lazy() -> object:
        return (a + b).realize()

    def add_numpy() -> object:
        return (a + b).numpy()

    def chain_lazy() -> object:
        return chain(a).realize()

    def add_eager() -> object:  # timed inside idrak.eager(): see timed()
        return a + b

    def chain_eager() -> object:
        return chain(a)

    return {
        "idrak lazy": (add_lazy, add_numpy, chain_lazy),
        "idrak eager": (add_eager, add_numpy, chain_eager),
    }


def numpy_cases() -> Cases:
    rng = np.random.default_rng(0)
    a = rng.random(N_VALUES, dtype=np.float32)
    b = rng.random(N_VALUES, dtype=np.float32)
    return {"numpy": (lambda: a + b, lambda: (a + b).copy(), lambda: chain(a))}


def torch_cases() -> Cases:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    a = torch.rand(N_VALUES)
    b = torch.rand(N_VALUES)
    return {"torch eager": (lambda: a + b, lambda: (a + b).numpy(), lambda: chain(a))}


def timed(name: str, fn: Callable[[], object], number: int) -> float:
    with idrak.eager(name == "idrak eager"):
        return us_per_call(fn, number)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", "--repeat", type=int, default=7)  # (--repeat: the old name)
    p.add_argument("--number", type=int, default=2000)
    p.add_argument("--profile", action="store_true", help="cProfile idrak's lazy chain")
    p.add_argument("--calls", action="store_true", help="count Python calls of one lazy add")
    p.add_argument("--cpu", action="store_true", help="time with process CPU time, not wall time")
    args = p.parse_args()
    if args.cpu:
        _clock[0] = time.process_time

    cases = {**idrak_cases(), **numpy_cases(), **torch_cases()}
    # per case, per measure: the time of each round (the chain is reported per op)
    numbers = [args.number, args.number, max(1, args.number // 4)]
    per = [1, 1, CHAIN]
    times: dict[str, list[list[float]]] = {name: [[], [], []] for name in cases}
    for name, fns in cases.items():  # warm-up: caches, dispatch tables, allocator
        for fn in fns:
            timed(name, fn, max(10, args.number // 10))
    for _ in range(args.rounds):
        for name, fns in cases.items():
            for k, fn in enumerate(fns):
                times[name][k].append(timed(name, fn, numbers[k]) / per[k])

    print(
        f"per-op overhead on {N_VALUES} float32 values (us of {'CPU' if args.cpu else 'wall'} "
        f"time; median of {args.rounds} interleaved rounds)"
    )
    print(f"{'':14s} {'(a) one add':>14s} {'(a) + numpy()':>14s} {'(b) chain/op':>14s}")
    for name, cols in times.items():
        print(f"{name:14s} " + " ".join(f"{statistics.median(c):14.2f}" for c in cols))
    if "torch eager" in times:
        tt = times["torch eager"]
        for name in ("idrak lazy", "idrak eager"):
            ratios = [
                statistics.median(x / y for x, y in zip(times[name][k], tt[k])) for k in range(3)
            ]
            print(
                f"ratio {name}/torch eager (median of per-round ratios): (a) {ratios[0]:5.2f}x"
                f"  (a)+numpy() {ratios[1]:5.2f}x  (b) {ratios[2]:5.2f}x"
            )

    if args.calls:
        add_numpy = cases["idrak lazy"][1]
        print(f"Python calls in one lazy (a + b).numpy(): {python_calls(add_numpy)}")
    if args.profile:
        chain_lazy = cases["idrak lazy"][2]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(2000):
            chain_lazy()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
