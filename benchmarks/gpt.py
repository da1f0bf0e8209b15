"""The GPT example against the same model in PyTorch: loss reached and time per step.

Both frameworks train the model of ``idrak.examples.gpt`` (the same initial weights: idrak's are
copied into the PyTorch twin), on the same batches in the same order, with the same AdamW
parameter groups, warm-up + cosine schedule and gradient clipping, one thread each
(``--threads``). idrak's step runs under ``idrak.jit`` (what ``Runner`` does by default). The
runs are interleaved in chunks of ``--chunk`` steps so both see the same machine load.

Usage::

    python benchmarks/gpt.py                      # 1600 steps (2 epochs of batch 32)
    python benchmarks/gpt.py --steps 300 --json out.json

Prints the dev loss of both after training (nats per character; the example's acceptance bound
is within 2% of PyTorch's), the median seconds per step of each and their ratio (idrak/torch,
below 1 means idrak is faster).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

import idrak
import idrak.nn.functional as F
from idrak.examples import gpt
from idrak.examples.names import default_path


def torch_twin(model: gpt.GPT, n_head: int) -> Any:
    """A PyTorch module with the idrak model's layout and a copy of its weights."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as tF

    class Attn(tnn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.c_attn, self.c_proj = tnn.Linear(c, 3 * c), tnn.Linear(c, c)

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(c, dim=2)
            q, k, v = (z.view(b, t, n_head, c // n_head).transpose(1, 2) for z in (q, k, v))
            y = tF.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(b, t, c))

    class Block(tnn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = tnn.LayerNorm(c), Attn(c), tnn.LayerNorm(c)
            self.mlp = tnn.ModuleDict(
                {"c_fc": tnn.Linear(c, 4 * c), "c_proj": tnn.Linear(4 * c, c)}
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp["c_proj"](tF.gelu(self.mlp["c_fc"](self.ln_2(x))))

    class GPT(tnn.Module):
        def __init__(self, v: int, t: int, n_layer: int, c: int) -> None:
            super().__init__()
            self.transformer = tnn.ModuleDict(
                {
                    "wte": tnn.Embedding(v, c),
                    "wpe": tnn.Embedding(t, c),
                    "h": tnn.ModuleList([Block(c) for _ in range(n_layer)]),
                    "ln_f": tnn.LayerNorm(c),
                }
            )
            self.lm_head = tnn.Linear(c, v, bias=False)
            self.lm_head.weight = self.transformer["wte"].weight

        def forward(self, idx: Any) -> Any:
            tr = self.transformer
            pos = torch.arange(idx.shape[1])
            x = tr["wte"](idx) + tr["wpe"](pos)
            for block in tr["h"]:
                x = block(x)
            return self.lm_head(tr["ln_f"](x))

    wte = model.transformer["wte"].weight
    twin = GPT(wte.shape[0], model.block_size, len(model.transformer["h"]), wte.shape[1])
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    state["lm_head.weight"] = state["transformer.wte.weight"]
    missing, unexpected = twin.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"weight layouts differ: missing {missing}, unexpected {unexpected}")
    return twin


def groups_like(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    named = list(model.named_parameters())
    decay = [p for n, p in named if p.ndim >= 2 and "wpe" not in n]
    rest = [p for n, p in named if not (p.ndim >= 2 and "wpe" not in n)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=1600)
    p.add_argument("--chunk", type=int, default=50, help="steps per interleaved chunk")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-words", type=int, default=None)
    p.add_argument("--path", default=None, help="names file (default: as the example finds it)")
    p.add_argument("--json", default=None, help="write the results here")
    a = p.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(a.threads)
    idrak.set_num_threads(a.threads)
    cfg = gpt.GPTConfig
    path = Path(a.path) if a.path else default_path()
    words = [w for w in path.read_text().split() if w][: a.max_words]
    args = SimpleNamespace(
        n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd, epochs=1,
        batch_size=cfg.batch_size, seed=cfg.seed, learning_rate=cfg.learning_rate,
    )  # fmt: skip
    _, _, model, train, dev = gpt.build(args, words)
    twin = torch_twin(model, cfg.n_head)
    x_tr, y_tr = (np.stack(col) for col in zip(*(train[i] for i in range(len(train)))))
    x_dev, y_dev = (np.stack(col) for col in zip(*(dev[i] for i in range(len(dev)))))
    lr_at = gpt.lr_lambda(cfg.warmup_steps, a.steps, cfg.learning_rate, cfg.min_lr)
    rng = np.random.default_rng(cfg.seed)
    batches = [rng.integers(0, len(x_tr), cfg.batch_size) for _ in range(a.steps)]

    opt_i = idrak.optim.AdamW(
        model.parameter_groups(cfg.weight_decay), lr=cfg.learning_rate, betas=cfg.betas
    )
    opt_t = torch.optim.AdamW(
        groups_like(twin, cfg.weight_decay), lr=cfg.learning_rate, betas=cfg.betas
    )

    def idrak_step(xb: Any, yb: Any) -> Any:
        opt_i.zero_grad()
        logits = model(xb)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), ignore_index=-1
        )
        loss.backward()
        idrak.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip_norm)
        opt_i.step()
        return loss

    jitted = idrak.jit(idrak_step, state=[model, opt_i])

    def run_idrak(steps: range) -> float:
        t0 = time.perf_counter()
        for s in steps:
            for g in opt_i.param_groups:
                g["lr"] = cfg.learning_rate * lr_at(s)
            idx = batches[s]
            loss = jitted(idrak.tensor(x_tr[idx]), idrak.tensor(y_tr[idx]))
        loss.item()
        return (time.perf_counter() - t0) / len(steps)

    def run_torch(steps: range) -> float:
        t0 = time.perf_counter()
        for s in steps:
            for g in opt_t.param_groups:
                g["lr"] = cfg.learning_rate * lr_at(s)
            idx = batches[s]
            opt_t.zero_grad()
            logits = twin(torch.from_numpy(x_tr[idx]))
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.shape[-1]), torch.from_numpy(y_tr[idx]).view(-1),
                ignore_index=-1,
            )  # fmt: skip
            loss.backward()
            torch.nn.utils.clip_grad_norm_(twin.parameters(), cfg.grad_clip_norm)
            opt_t.step()
        return (time.perf_counter() - t0) / len(steps)

    ti, tt = [], []
    with threadpool_limits(a.threads):
        for start in range(0, a.steps, a.chunk):
            chunk = range(start, min(a.steps, start + a.chunk))
            ti.append(run_idrak(chunk))
            tt.append(run_torch(chunk))
        model.eval()
        with idrak.no_grad():
            li = model(idrak.tensor(x_dev))
            dev_i = float(
                F.cross_entropy(
                    li.reshape(-1, li.shape[-1]), idrak.tensor(y_dev).reshape(-1), ignore_index=-1
                ).item()
            )
        with torch.no_grad():
            lt = twin(torch.from_numpy(x_dev))
            dev_t = float(
                torch.nn.functional.cross_entropy(
                    lt.view(-1, lt.shape[-1]), torch.from_numpy(y_dev).view(-1), ignore_index=-1
                )
            )
    print("idrak.jit:", jitted.stats)
    ratios = [i / t for i, t in zip(ti[1:], tt[1:])] or [ti[0] / tt[0]]  # chunk 0 traces
    out = {
        "steps": a.steps,
        "threads": a.threads,
        "dev_loss_idrak": dev_i,
        "dev_loss_torch": dev_t,
        "loss_gap": dev_i / dev_t - 1,
        "step_s_idrak": statistics.median(ti[1:] or ti),
        "step_s_torch": statistics.median(tt[1:] or tt),
        "ratio": statistics.median(ratios),
    }
    print(f"GPT, {a.steps} steps of batch {cfg.batch_size}, {a.threads} thread(s)")
    print(f"dev loss    idrak {dev_i:.4f}   torch {dev_t:.4f}   gap {100 * out['loss_gap']:+.2f}%")
    print(
        f"s/step      idrak {out['step_s_idrak'] * 1e3:.2f} ms   torch "
        f"{out['step_s_torch'] * 1e3:.2f} ms   ratio {out['ratio']:.2f} (median of chunk ratios)"
    )
    if not math.isfinite(dev_i):
        raise SystemExit("idrak's loss is not finite")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
