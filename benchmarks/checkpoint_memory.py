"""Peak memory of ``idrak.save`` / ``idrak.load`` for a large checkpoint.

Each measurement runs in a fresh subprocess. The child builds (or, for ``load``, does not build)
the tensors, notes its resident set size (RSS), runs one ``save`` or ``load`` and reports the
peak RSS (``resource.getrusage(...).ru_maxrss``) above that starting point, in MB and as a
multiple of the checkpoint's size.

Run: ``python benchmarks/checkpoint_memory.py [--mb 200] [--dir /tmp]``. Point ``PYTHONPATH`` at
another checkout to measure another version.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, resource, sys
import numpy as np
import idrak

mode, path, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

n = mb // 4  # tensors of 1 Mi float32 values (4 MiB each)
if mode == "save":
    rng = np.random.default_rng(0)
    tree = {f"layer{i}.weight": idrak.tensor(rng.standard_normal(2**20, dtype=np.float32))
            for i in range(n)}
    idrak.realize(*tree.values())
    before = rss_mb()
    idrak.save(tree, path)
else:
    before = rss_mb()
    tree = idrak.load(path)
print(json.dumps({"before": before, "peak": peak_mb(), "file_mb": os.path.getsize(path) / 2**20,
                  "tensors": len(tree)}))
"""


def measure(mode: str, path: str, mb: int) -> dict[str, float]:
    """Run one ``save``/``load`` in a child process; returns its RSS numbers (MB)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, path, str(mb)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="checkpoint size in MiB")
    parser.add_argument("--dir", default=None, help="where to write the checkpoint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "big.safetensors")
        for mode in ("save", "load"):
            r = measure(mode, path, args.mb)
            extra = r["peak"] - r["before"]
            print(
                f"{mode}: checkpoint {r['file_mb']:.0f} MiB, RSS before {r['before']:.0f} MiB, "
                f"peak {r['peak']:.0f} MiB, peak above start {extra:.0f} MiB "
                f"= {extra / r['file_mb']:.2f}x the checkpoint"
            )


if __name__ == "__main__":
    main()
