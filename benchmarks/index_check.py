"""Cost of the device-side bounds check on lazy indices (docs/semantics.md, "Values and errors").

An embedding lookup and a ``gather`` whose index tensor is lazy (computed on the device, the case
the check exists for) are timed with the check and with the check bypassed (the index passed
through unchanged, as before the check existed); the ratio is printed. Realized (host) indices
are checked on the host and are not part of this measurement.

Run: ``python benchmarks/index_check.py [--device cpu] [--repeat 50]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from unittest import mock

import idrak
import idrak.nn as nn
from idrak.core.methods import indexing


def _time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches (fused kernels, allocations)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=50)
    a = ap.parse_args()
    idrak.manual_seed(0)
    emb = nn.Embedding(50_000, 128).to(a.device)
    base = idrak.randint(0, 50_000, (32, 256), device=a.device)
    table = idrak.randn(4096, 512, device=a.device)
    rows = idrak.randint(0, 4096, (4096, 512), device=a.device)
    idrak.realize(base, table, rows)

    def lookup() -> object:
        return emb(base + 0).numpy()  # + 0: a lazy index

    def gather() -> object:
        return table.gather(0, rows + 0).numpy()

    def unchecked(index, n, op, negative):  # type: ignore[no-untyped-def]
        return index

    for name, fn in (("embedding (32x256 of 50k x 128)", lookup), ("gather (4096x512)", gather)):
        checked = _time(fn, a.repeat)
        with mock.patch.object(indexing, "_check_bounds", unchecked):
            plain = _time(fn, a.repeat)
        print(
            f"{name}: checked {checked * 1e3:.3f} ms, unchecked {plain * 1e3:.3f} ms, "
            f"ratio {checked / plain:.2f}"
        )


if __name__ == "__main__":
    main()
