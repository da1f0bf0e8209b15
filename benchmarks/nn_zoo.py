"""Forward + backward time of the zoo's sequence layers, idrak next to PyTorch (same shapes,
float32, CPU): an LSTM of a char-rnn size, a GRU, a TransformerEncoderLayer, a
MultiheadAttention and F.scaled_dot_product_attention with ``is_causal``. Prints the fastest of
``--repeat`` runs per library and the ratio idrak / torch. Speed is reported, never asserted.

Run: ``python benchmarks/nn_zoo.py [--repeat 5] [--device numpy]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _cases(lib: Any, dev: str | None) -> dict[str, tuple[Any, Callable[[Any], Any], list[Any]]]:
    """name -> (module or None, forward(module, *inputs) -> scalar loss, inputs)."""
    rng = np.random.default_rng(0)

    def t(*shape: int) -> Any:
        a = rng.standard_normal(shape).astype(np.float32)
        return (
            lib.tensor(a, requires_grad=True)
            if dev is None
            else lib.tensor(a, device=dev, requires_grad=True)
        )

    nn, F = lib.nn, lib.nn.functional
    return {
        "LSTM(64,128,2) L=32 N=32": (
            nn.LSTM(64, 128, 2),
            lambda m, x: m(x)[0].square().mean(),
            [t(32, 32, 64)],
        ),
        "GRU(64,128) L=32 N=32": (
            nn.GRU(64, 128),
            lambda m, x: m(x)[0].square().mean(),
            [t(32, 32, 64)],
        ),
        "TransformerEncoderLayer(128,4,512) S=64 N=16": (
            nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True),
            lambda m, x: m(x).square().mean(),
            [t(16, 64, 128)],
        ),
        "MultiheadAttention(128,4) L=64 N=16": (
            nn.MultiheadAttention(128, 4, batch_first=True),
            lambda m, x: m(x, x, x, need_weights=False)[0].square().mean(),
            [t(16, 64, 128)],
        ),
        "sdpa causal (16,4,128,32)": (
            None,
            lambda m, q, k, v: (
                F.scaled_dot_product_attention(q, k, v, is_causal=True).square().mean()
            ),
            [t(16, 4, 128, 32), t(16, 4, 128, 32), t(16, 4, 128, 32)],
        ),
    }


def _time(module: Any, fn: Callable[..., Any], inputs: list[Any], repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):  # the first run warms caches (kernels, fusion plans)
        t0 = time.perf_counter()
        loss = fn(module, *inputs)
        loss.backward()
        float(loss.item())
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--device", default="numpy")
    args = ap.parse_args()
    import torch

    import idrak

    torch.manual_seed(0)
    idrak.manual_seed(0)
    tc, ic = _cases(torch, None), _cases(idrak, args.device)
    print(f"{'case':48s} {'torch ms':>9s} {'idrak ms':>9s} {'ratio':>7s}")
    for name in tc:
        tm, tf, ti = tc[name]
        im, i_f, ii = ic[name]
        if im is not None:
            im.to(device=args.device)
        a = _time(tm, tf, ti, args.repeat) * 1e3
        b = _time(im, i_f, ii, args.repeat) * 1e3
        print(f"{name:48s} {a:9.2f} {b:9.2f} {b / a:7.1f}x")


if __name__ == "__main__":
    main()
