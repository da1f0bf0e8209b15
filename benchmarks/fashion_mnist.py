"""Fashion-MNIST training speed and accuracy: idrak (NumPy backend) against PyTorch (CPU).

Both frameworks train the same models on the same NumPy arrays in the same batch order, with the
same plain loop (forward, cross-entropy, backward, Adam step), and are evaluated on the full
test set:

- MLP: 784-256-128-10 with ReLU, Adam lr 1e-3, batch 128
- CNN: conv 32 3x3, ReLU, max-pool 2, conv 64 3x3, ReLU, max-pool 2, fc 128, ReLU, fc 10

Usage::

    python benchmarks/fashion_mnist.py                     # 1 epoch of each model
    python benchmarks/fashion_mnist.py --epochs 2 --models mlp --limit 10000
    python benchmarks/fashion_mnist.py --profile mlp       # cProfile of idrak's training step
    python benchmarks/fashion_mnist.py --device cuda       # idrak-cuda against PyTorch CUDA

Prints seconds per epoch of both (the fastest epoch, the least disturbed by other processes),
their ratio (idrak / torch: below 1 means idrak is faster) and the final test accuracy of both.
PyTorch uses ``torch.set_num_threads(--threads)`` and NumPy's BLAS the same number of threads
(default ``os.cpu_count()``; ``--threads 1`` is the stable setting on a busy machine).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import idrak
from idrak.data import fashion_mnist

BATCH = 128
LR = 1e-3
#: where each framework runs (``--device``): idrak's device string and torch's
DEV = {"idrak": "cpu", "torch": "cpu"}


def batches(n: int, epoch: int, seed: int) -> Iterator[np.ndarray]:
    """The same shuffled index batches for both frameworks."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    for start in range(0, n, BATCH):
        yield order[start : start + BATCH]


# idrak ----------------------------------------------------------------------------------------
def idrak_model(kind: str) -> Any:
    from idrak.train import Config, build_net

    if kind == "mlp":
        return build_net(Config(block_type="MLP", in_features=784, hidden_sizes=[256, 128]))
    return build_net(Config(block_type="ConvNet", in_channels=1, channels=[32, 64], hidden=128))


def idrak_epoch(model: Any, opt: Any, x: np.ndarray, y: np.ndarray, epoch: int, seed: int) -> float:
    import idrak.nn.functional as F

    model.train()
    t0 = time.perf_counter()
    for idx in batches(len(x), epoch, seed):
        xb, yb = (
            idrak.tensor(x[idx], device=DEV["idrak"]),
            idrak.tensor(y[idx], device=DEV["idrak"]),
        )
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    loss.item()
    return time.perf_counter() - t0


def idrak_step(model: Any, opt: Any) -> Callable[[Any, Any], Any]:
    """The training step every benchmark times: forward, cross-entropy, backward, optimizer
    step; returns the loss (wrap it in ``idrak.jit(step, state=[model, opt])`` to compile it)."""
    import idrak.nn.functional as F

    def step(xb: Any, yb: Any) -> Any:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return step


def idrak_jit_epoch(
    model: Any, opt: Any, x: np.ndarray, y: np.ndarray, epoch: int, seed: int
) -> float:
    """The same loop with the step under ``idrak.jit`` (what ``Runner`` does by default)."""
    fn = JITTED.get(id(model))
    if fn is None:
        fn = JITTED[id(model)] = idrak.jit(idrak_step(model, opt), state=[model, opt])
    model.train()
    t0 = time.perf_counter()
    for idx in batches(len(x), epoch, seed):
        loss = fn(
            idrak.tensor(x[idx], device=DEV["idrak"]), idrak.tensor(y[idx], device=DEV["idrak"])
        )
    loss.item()
    return time.perf_counter() - t0


JITTED: dict[int, Any] = {}


def idrak_accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    correct = 0
    with idrak.no_grad():
        for s in range(0, len(x), 1000):
            logits = model(idrak.tensor(x[s : s + 1000], device=DEV["idrak"])).numpy()
            correct += int((logits.argmax(1) == y[s : s + 1000]).sum())
    return correct / len(x)


# torch ----------------------------------------------------------------------------------------
def torch_model(kind: str) -> Any:
    import torch.nn as tnn

    if kind == "mlp":
        return tnn.Sequential(
            tnn.Flatten(), tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(),
            tnn.Linear(128, 10),
        )  # fmt: skip
    return tnn.Sequential(
        tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(64 * 5 * 5, 128), tnn.ReLU(), tnn.Linear(128, 10),
    )  # fmt: skip


def torch_epoch(model: Any, opt: Any, x: np.ndarray, y: np.ndarray, epoch: int, seed: int) -> float:
    import torch
    import torch.nn.functional as F

    model.train()
    t0 = time.perf_counter()
    for idx in batches(len(x), epoch, seed):
        xb = torch.from_numpy(x[idx]).to(DEV["torch"])
        yb = torch.from_numpy(y[idx]).to(DEV["torch"])
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    loss.item()  # waits for the device
    return time.perf_counter() - t0


def torch_accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(x), 1000):
            logits = model(torch.from_numpy(x[s : s + 1000]).to(DEV["torch"])).cpu().numpy()
            correct += int((logits.argmax(1) == y[s : s + 1000]).sum())
    return correct / len(x)


# driver ---------------------------------------------------------------------------------------
def run(
    name: str,
    make: Callable[[], tuple[Any, Any]],
    epoch_fn: Callable[..., float],
    acc_fn: Callable[..., float],
    data: tuple[np.ndarray, ...],
    epochs: int,
    seed: int,
) -> tuple[list[float], float]:
    x, y, xt, yt = data
    model, opt = make()
    times = []
    for e in range(epochs):
        times.append(epoch_fn(model, opt, x, y, e, seed))
        print(f"  {name}: epoch {e + 1}/{epochs} {times[-1]:.2f}s", flush=True)
    return times, acc_fn(model, xt, yt)


def profile_idrak(kind: str, data: tuple[np.ndarray, ...], seed: int, top: int = 15) -> None:
    """cProfile one idrak training epoch; print the top functions by cumulative and own time."""
    import idrak.optim

    x, y, _, _ = data
    idrak.manual_seed(seed)
    model = idrak_model(kind)
    opt = idrak.optim.Adam(model.parameters(), lr=LR)
    idrak_epoch(model, opt, x[: BATCH * 4], y[: BATCH * 4], 0, seed)  # warm up
    prof = cProfile.Profile()
    prof.enable()
    seconds = idrak_epoch(model, opt, x, y, 1, seed)
    prof.disable()
    print(f"idrak {kind}: one profiled epoch of {len(x)} samples: {seconds:.2f}s")
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(top)
        print(f"\n--- top {top} by {key} ---")
        print(out.getvalue().split("\n\n", 1)[-1].strip())


def _limit_blas(threads: int) -> str:
    """Cap NumPy's BLAS thread pool (needs threadpoolctl); returns a description."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return "default (install threadpoolctl to set them)"
    threadpool_limits(limits=threads, user_api="blas")
    return (
        ", ".join(
            f"{i['internal_api']} {i['num_threads']}"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        )
        or "none found"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=1, help="epochs per model and framework")
    p.add_argument("--models", nargs="+", choices=["mlp", "cnn"], default=["mlp", "cnn"])
    p.add_argument("--limit", type=int, default=None, help="use the first N training samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", choices=["mlp", "cnn"], help="profile idrak instead")
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch threads and NumPy's BLAS threads (default: os.cpu_count())",
    )
    p.add_argument("--device", default="cpu", help="idrak device (cuda: torch runs on CUDA too)")
    p.add_argument("--json", help="also write the table as a JSON record to this file")
    args = p.parse_args(argv)
    DEV["idrak"] = args.device
    DEV["torch"] = "cuda" if args.device.startswith("cuda") else "cpu"

    train = fashion_mnist("train", normalize=True)
    test = fashion_mnist("test", normalize=True)
    x, y = train.images, train.labels
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    data = (np.ascontiguousarray(x), y, test.images, test.labels)
    blas = _limit_blas(args.threads)
    if args.profile:
        profile_idrak(args.profile, data, args.seed)
        return

    import torch

    import idrak.optim

    torch.set_num_threads(args.threads)
    print(
        f"Fashion-MNIST: {len(x)} train / {len(test)} test samples, batch {BATCH}, Adam {LR}; "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, idrak "
        f"{idrak.__version__} on {args.device}, torch on {DEV['torch']} (BLAS threads: {blas})"
    )
    rows = []
    for kind in args.models:

        def make_idrak(kind: str = kind) -> tuple[Any, Any]:
            idrak.manual_seed(args.seed)
            m = idrak_model(kind).to(DEV["idrak"])
            return m, idrak.optim.Adam(m.parameters(), lr=LR)

        def make_torch(kind: str = kind) -> tuple[Any, Any]:
            torch.manual_seed(args.seed)
            m = torch_model(kind).to(DEV["torch"])
            return m, torch.optim.Adam(m.parameters(), lr=LR)

        ti, ai = run(
            f"idrak {kind}", make_idrak, idrak_epoch, idrak_accuracy, data, args.epochs, args.seed
        )
        tj, aj = run(
            f"idrak {kind} jit",
            make_idrak,
            idrak_jit_epoch,
            idrak_accuracy,
            data,
            args.epochs,
            args.seed,
        )
        tt, at = run(
            f"torch {kind}", make_torch, torch_epoch, torch_accuracy, data, args.epochs, args.seed
        )
        # the fastest epoch: the least disturbed by other processes on a shared machine
        rows.append((kind, min(ti), min(tt), ai, at))
        rows.append((f"{kind} (idrak.jit: Runner's default)", min(tj), min(tt), aj, at))

    print(
        "\n| model | idrak s/epoch (best) | torch s/epoch (best) | ratio (idrak/torch) "
        "| idrak acc | torch acc | acc diff (points) |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, si, st, ai, at in rows:
        print(
            f"| {kind} | {si:.2f} | {st:.2f} | {si / st:.2f} | {100 * ai:.2f}% | "
            f"{100 * at:.2f}% | {100 * (ai - at):+.2f} |"
        )
    if args.json:
        record = {
            "threads": args.threads,
            "device": args.device,
            "samples": len(x),
            "rows": [
                {"model": k, "idrak_s": si, "torch_s": st, "ratio": si / st, "idrak_acc": ai,
                 "torch_acc": at}
                for k, si, st, ai, at in rows
            ],
        }  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)


if __name__ == "__main__":
    main()
