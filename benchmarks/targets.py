"""Every CPU speed target of the performance issue in one run, against PyTorch eager.

Each part runs in its own Python process (so thread pools never compete and nothing is shared),
with both libraries pinned to the same threads (threadpoolctl for NumPy's BLAS,
``idrak.set_num_threads``, ``torch.set_num_threads``). Inside a part the libraries run in
interleaved rounds and the part reports the median of the per-round ratios idrak / torch (below 1
means idrak is faster), the number least disturbed by other processes on a shared machine.

Parts (the issue's targets):

- ``epoch``: Fashion-MNIST epochs of the main job's default path (the training step under
  ``idrak.jit``, what ``Runner`` does) against a plain PyTorch loop: same model, Adam, batch and
  data order; interleaved epochs, then both models' test accuracy. MLP at 1 thread and at the
  machine's default threads (target 0.8x), CNN at 1 thread (target 1.0x); accuracy within 0.5
  points.
- ``per_op``: ``a + b`` on 1,000 float32, then ``.numpy()`` (target 1.3x).
- ``fused``: the 8-op elementwise chain of ``fusion.py`` on 16M float32, as a fraction of the
  machine's copy bandwidth (``np.copyto``; target 60%).
- ``robust`` (``robustness.py``): peak resident memory of a training step (target: no higher than
  torch's) and the slowdown beside a busy process (target: no worse than torch's).
- ``tinygrad``: tinygrad's TinyJit on the same MLP step, where tinygrad is installed.

Usage::

    python benchmarks/targets.py                    # everything (several minutes)
    python benchmarks/targets.py --quick            # 10,000 training samples, fewer rounds
    python benchmarks/targets.py --parts per_op fused --json out.json

Needs Fashion-MNIST for ``epoch`` (``apt-get install dataset-fashion-mnist``, or the loader's
download) and PyTorch (``pip install torch``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PARTS = ("epoch", "per_op", "fused", "robust", "tinygrad")


def _pin(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    import idrak

    threadpool_limits(threads)
    idrak.set_num_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def _interleaved(
    a: Callable[[], float], b: Callable[[], float], rounds: int
) -> tuple[list[float], list[float]]:
    """``rounds`` alternating timings of ``a`` and ``b`` (each returns seconds)."""
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(a())
        tb.append(b())
    return ta, tb


def _timed(f: Callable[[], object], number: int = 1) -> Callable[[], float]:
    """A function that calls ``f`` ``number`` times and returns the seconds per call."""

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(number):
            f()
        return (time.perf_counter() - t0) / number

    return run


def _ratio(ta: list[float], tb: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(ta, tb))


# parts (each runs in a child process) ---------------------------------------------------------
def part_epoch(model: str, threads: int, rounds: int, limit: int | None) -> dict[str, Any]:
    """Interleaved epochs: idrak's jitted step (Runner's default) vs a plain torch loop."""
    sys.path.insert(0, str(HERE))
    import torch
    from fashion_mnist import (
        LR,
        idrak_accuracy,
        idrak_jit_epoch,
        idrak_model,
        torch_accuracy,
        torch_epoch,
        torch_model,
    )

    import idrak
    import idrak.optim
    from idrak.data import fashion_mnist

    _pin(threads)
    train, test = fashion_mnist("train", normalize=True), fashion_mnist("test", normalize=True)
    x, y = np.ascontiguousarray(train.images[:limit]), train.labels[:limit]
    idrak.manual_seed(0)
    im = idrak_model(model)
    iopt = idrak.optim.Adam(im.parameters(), lr=LR)
    torch.manual_seed(0)
    tm = torch_model(model)
    topt = torch.optim.Adam(tm.parameters(), lr=LR)
    epoch = [0]

    def run_idrak() -> float:
        return idrak_jit_epoch(im, iopt, x, y, epoch[0], 0)

    def run_torch() -> float:
        s = torch_epoch(tm, topt, x, y, epoch[0], 0)
        epoch[0] += 1  # both see epoch e's order, then both see e + 1's
        return s

    ti, tt = _interleaved(run_idrak, run_torch, rounds)
    ai = idrak_accuracy(im, test.images, test.labels)
    at = torch_accuracy(tm, test.images, test.labels)
    return {
        "idrak": statistics.median(ti),
        "torch": statistics.median(tt),
        "ratio": _ratio(ti, tt),
        "unit": "s/epoch",
        "samples": len(x),
        "idrak_acc": ai,
        "torch_acc": at,
    }


def part_per_op(threads: int, rounds: int) -> dict[str, Any]:
    """``(a + b).numpy()`` on 1,000 float32: microseconds per call, interleaved rounds."""
    import torch

    import idrak

    _pin(threads)
    rng = np.random.default_rng(0)
    an, bn = rng.random(1000, dtype=np.float32), rng.random(1000, dtype=np.float32)
    a, b = idrak.tensor(an).realize(), idrak.tensor(bn).realize()
    ta_, tb_ = torch.from_numpy(an.copy()), torch.from_numpy(bn.copy())
    ri = _timed(lambda: (a + b).numpy(), 20_000)
    rt = _timed(lambda: (ta_ + tb_).numpy(), 20_000)
    ri(), rt()  # warm-up
    ti, tt = _interleaved(ri, rt, rounds)
    return {
        "idrak": statistics.median(ti) * 1e6,
        "torch": statistics.median(tt) * 1e6,
        "ratio": _ratio(ti, tt),
        "unit": "us",
    }


def part_fused(threads: int, rounds: int, size: int = 1 << 24) -> dict[str, Any]:
    """The 8-op chain, fused, as a fraction of copy bandwidth; torch eager beside it."""
    sys.path.insert(0, str(HERE))
    import torch
    from fusion import chain8

    import idrak

    _pin(threads)
    xs = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    out = np.empty_like(xs)
    x, xt = idrak.tensor(xs), torch.from_numpy(xs)

    rc, ri, rt = (
        _timed(lambda: np.copyto(out, xs)),
        _timed(lambda: chain8(x).realize()),
        _timed(lambda: chain8(xt)),
    )
    for f in (rc, ri, rt):
        f()
    tc, ti, tt = [], [], []
    for _ in range(rounds):
        tc.append(rc())
        ti.append(ri())
        tt.append(rt())
    copy = min(tc)
    return {
        "idrak": statistics.median(ti) * 1e3,
        "torch": statistics.median(tt) * 1e3,
        "ratio": _ratio(ti, tt),
        "unit": "ms",
        "copy_ms": copy * 1e3,
        "idrak_of_copy": copy / min(ti),
        "torch_of_copy": copy / min(tt),
    }


def part_robust(threads: int, model: str) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import robustness

    out: dict[str, Any] = robustness.main(["--model", model, "--threads", str(threads)])
    return out


def part_tinygrad(threads: int, rounds: int) -> dict[str, Any]:
    """The MLP Adam step: tinygrad's TinyJit against idrak.jit (skipped without tinygrad)."""
    try:
        from tinygrad import Tensor as TT
        from tinygrad import TinyJit, nn
    except ImportError:
        return {"skipped": "tinygrad is not installed (pip install tinygrad; needs clang)"}
    sys.path.insert(0, str(HERE))
    from fashion_mnist import LR, idrak_model, idrak_step

    import idrak
    import idrak.optim

    _pin(threads)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((128, 784)).astype(np.float32)
    ys = rng.integers(0, 10, 128)
    model = idrak_model("mlp")
    opt = idrak.optim.Adam(model.parameters(), lr=LR)

    step = idrak_step(model, opt)
    fn = idrak.jit(step, state=[model, opt])
    layers = [nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)]
    params = nn.state.get_parameters(layers)
    for t in params:
        t.requires_grad = True
    topt = nn.optim.Adam(params, lr=LR)
    from tinygrad.helpers import Context

    @TinyJit
    def tstep(xb: Any, yb: Any) -> Any:
        with Context(TRAINING=1):  # tinygrad's optimizers step only in training mode
            return _tinygrad_step(xb, yb)

    def _tinygrad_step(xb: Any, yb: Any) -> Any:
        topt.zero_grad()
        h = layers[1](layers[0](xb).relu()).relu()
        loss = layers[2](h).sparse_categorical_crossentropy(yb)
        loss.backward()
        topt.step()
        return loss.realize()

    ri = _timed(lambda: fn(idrak.tensor(xs), idrak.tensor(ys)).item(), 20)
    rt = _timed(lambda: tstep(TT(xs), TT(ys.astype(np.int32))).item(), 20)

    ri(), rt()
    ti, tt = _interleaved(ri, rt, rounds)
    return {
        "idrak": statistics.median(ti) * 1e3,
        "tinygrad": statistics.median(tt) * 1e3,
        "ratio": _ratio(ti, tt),
        "unit": "ms/step",
    }


# driver ---------------------------------------------------------------------------------------
def _child(name: str, **kw: Any) -> dict[str, Any]:
    """Run ``part_<name>(**kw)`` in a fresh interpreter; its JSON result."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import targets; "
        f"print('@@' + json.dumps(targets.part_{name}(**{kw!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    line = [s for s in out.stdout.splitlines() if s.startswith("@@")][-1]
    result: dict[str, Any] = json.loads(line[2:])
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--quick", action="store_true", help="10,000 samples, fewer rounds")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds per part")
    p.add_argument("--json", default=None, help="write the record here")
    a = p.parse_args(argv)
    rounds = a.rounds or (3 if a.quick else 5)
    limit = 10_000 if a.quick else None
    default = len(os.sched_getaffinity(0))
    rows: list[tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], bool]]] = []

    def ratio_at_most(goal: float) -> Callable[[dict[str, Any]], bool]:
        return lambda r: r["ratio"] <= goal

    def add(name: str, r: dict[str, Any], goal: str, ok: Callable[[dict[str, Any]], bool]) -> None:
        rows.append((name, r, goal, ok))

    def pair(idrak: float, torch: float, unit: str) -> dict[str, Any]:
        return {"idrak": idrak, "torch": torch, "unit": unit}

    def not_worse(r: dict[str, Any]) -> bool:
        return bool(r["idrak"] <= r["torch"])

    if "epoch" in a.parts:
        for model, threads, goal in (("mlp", 1, 0.8), ("mlp", default, 0.8), ("cnn", 1, 1.0)):
            r = _child("epoch", model=model, threads=threads, rounds=rounds, limit=limit)
            add(f"{model} epoch, {threads} thread(s)", r, f"<= {goal}x", ratio_at_most(goal))
            if "idrak_acc" in r:
                acc = pair(100 * r["idrak_acc"], 100 * r["torch_acc"], "%")
                add(
                    f"{model} accuracy after {rounds} epochs ({threads} thread(s))",
                    acc,
                    "within 0.5 points",
                    lambda r: abs(r["idrak"] - r["torch"]) <= 0.5,
                )
    if "per_op" in a.parts:
        r = _child("per_op", threads=1, rounds=rounds * 3)
        add("a + b, 1k float32, .numpy()", r, "<= 1.3x", ratio_at_most(1.3))
    if "fused" in a.parts:
        r = _child("fused", threads=1, rounds=rounds * 2)
        add(
            "fused 8-op chain, 16M float32",
            r,
            ">= 60% of copy",
            lambda r: r["idrak_of_copy"] >= 0.6,
        )
    if "robust" in a.parts:
        r = _child("robust", threads=1, model="mlp")
        if "rows" in r:
            t, i = r["rows"]["torch"], r["rows"]["idrak jit"]
            rss = pair(i["peak_rss_mb"], t["peak_rss_mb"], "MB")
            add("peak RSS of a training step", rss, "<= torch", not_worse)
            slow = pair(i["slowdown"], t["slowdown"], "x")
            add("slowdown beside a busy process", slow, "<= torch", not_worse)
        else:
            add("robustness", r, "", lambda r: False)
    if "tinygrad" in a.parts:
        r = _child("tinygrad", threads=1, rounds=rounds)
        add("MLP step vs tinygrad TinyJit", r, "(peer)", ratio_at_most(1.0))

    print("\n| target | idrak | peer | ratio | goal | met |\n|---|---|---|---|---|---|")
    record: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "cores": default}
    for name, r, goal, ok in rows:
        record[name] = r
        if "error" in r or "skipped" in r:
            print(f"| {name} | {r.get('error') or r.get('skipped')} | | | {goal} | - |")
            continue
        peer = r.get("torch", r.get("tinygrad"))
        unit = r.get("unit", "")
        extra = f" ({r['idrak_of_copy']:.0%} of copy)" if "idrak_of_copy" in r else ""
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        print(
            f"| {name} | {r['idrak']:.3g} {unit}{extra} | {peer:.3g} {unit} | {ratio} | {goal} "
            f"| {'yes' if ok(r) else 'no'} |"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
