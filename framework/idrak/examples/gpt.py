"""A character-level GPT on the names data: the second main job.

A decoder-only transformer (Radford et al. 2018, "Improving Language Understanding by
Generative Pre-Training"; the layout of Karpathy's nanoGPT): token and position embeddings,
``n_layer`` pre-LayerNorm blocks of causal self-attention (through
``F.scaled_dot_product_attention(..., is_causal=True)``) and a GELU MLP, a final LayerNorm and a
language-model head tied to the token embedding. It trains with AdamW (decoupled weight decay,
Loshchilov & Hutter 2019) in two parameter groups (matrices decayed; biases, LayerNorm weights
and embeddings of positions not), a linear warm-up then cosine learning-rate schedule, and
gradient clipping, through the Config/Runner workflow; then samples names with a temperature and
top-k.

Each name is one sequence: ``x = [0, c1, ..., cn, 0, ...]``, ``y = [c1, ..., cn, 0, -1, ...]``
(0 is the start/end token, -1 is ignored by the loss), as in makemore. The printed loss is the
mean cross-entropy per character in nats on held-out names.

Get the data once with ``python -m idrak.data download names`` (or pass ``--path``), then run
``python -m idrak.examples.gpt``. ``benchmarks/gpt.py`` trains the same model in PyTorch side by
side.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

import idrak
import idrak.nn.functional as F
from idrak import nn
from idrak.data import TensorDataset
from idrak.examples import _cli
from idrak.examples.names import default_path, split_words
from idrak.train import Config, Runner

PROG = "python -m idrak.examples.gpt"


class GPTConfig:
    """The defaults of the example (every one is a command-line option too)."""

    n_layer = 4
    n_head = 4
    n_embd = 64
    dropout = 0.0
    learning_rate = 1e-3
    min_lr = 1e-4
    weight_decay = 0.1
    betas = (0.9, 0.99)
    batch_size = 32
    epochs = 2
    warmup_steps = 100
    grad_clip_norm = 1.0
    seed = 42


# data -------------------------------------------------------------------------------------------
class Vocabulary:
    """Characters of the training names; index 0 is the start/end token ``"."``."""

    def __init__(self, words: list[str]) -> None:
        self.itos = [".", *sorted({c for w in words for c in w})]
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, word: str) -> list[int]:
        """Indices of ``word``'s characters.

        Raises:
            ValueError: a character not in the vocabulary (named).
        """
        bad = sorted({c for c in word if c not in self.stoi})
        if bad:
            raise ValueError(f"characters {bad} of {word!r} are not in the vocabulary")
        return [self.stoi[c] for c in word]

    def decode(self, indices: list[int]) -> str:
        return "".join(self.itos[i] for i in indices)


def sequences(words: list[str], vocab: Vocabulary, block_size: int) -> TensorDataset:
    """``(x, y)`` int64 arrays of shape ``(len(words), block_size)``: ``y`` is ``x`` shifted by
    one, -1 past each name's end token.

    Raises:
        ValueError: a name longer than ``block_size - 1`` characters.
    """
    x = np.zeros((len(words), block_size), dtype=np.int64)
    y = np.full((len(words), block_size), -1, dtype=np.int64)
    for i, w in enumerate(words):
        ix = vocab.encode(w)
        if len(ix) >= block_size:
            raise ValueError(f"name {w!r} has {len(ix)} characters, block_size is {block_size}")
        x[i, 1 : len(ix) + 1] = ix
        y[i, : len(ix)] = ix
        y[i, len(ix)] = 0
    return TensorDataset(x, y)


# model ------------------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t attends to positions <= t.

    Input and output float32 ``(B, T, n_embd)``; ``n_embd`` must divide by ``n_head``.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd {n_embd} is not a multiple of n_head {n_head}")
        self.n_head, self.dropout = n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: idrak.Tensor) -> idrak.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (
            z.reshape(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v)
        )
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(b, t, c)))


class MLP(nn.Module):
    """Linear(n_embd, 4 n_embd) -> GELU -> Linear(4 n_embd, n_embd) -> dropout."""

    def __init__(self, n_embd: int, dropout: float) -> None:
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: idrak.Tensor) -> idrak.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-LayerNorm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x: idrak.Tensor) -> idrak.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token ids int64 ``(B, T)``, ``T <= block_size`` -> logits float32 ``(B, T, vocab_size)``.

    Weights as in GPT-2: normal(0, 0.02), the residual projections scaled by
    ``1 / sqrt(2 n_layer)``, biases zero; the head shares the token embedding's weight.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int,
        n_head: int,
        n_embd: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.block_size = block_size
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(vocab_size, n_embd),
                "wpe": nn.Embedding(block_size, n_embd),
                "drop": nn.Dropout(dropout),
                "h": nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)]),
                "ln_f": nn.LayerNorm(n_embd),
            }
        )
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer["wte"].weight  # weight tying
        for name, p in self.named_parameters():
            with idrak.no_grad():
                if name.endswith("c_proj.weight"):
                    p.assign(idrak.randn(*p.shape) * (0.02 / math.sqrt(2 * n_layer)))
                elif p.ndim == 2:
                    p.assign(idrak.randn(*p.shape) * 0.02)
                elif name.endswith(".bias"):
                    p.assign(idrak.zeros(*p.shape))

    def forward(self, idx: idrak.Tensor) -> idrak.Tensor:
        _, t = idx.shape
        if t > self.block_size:
            raise ValueError(f"sequence of length {t} is longer than block_size {self.block_size}")
        tr = self.transformer
        pos = idrak.arange(t, dtype=idrak.int64, device=idx.device)
        x = tr["drop"](tr["wte"](idx) + tr["wpe"](pos))
        for block in tr["h"]:
            x = block(x)
        return self.lm_head(tr["ln_f"](x))

    def parameter_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups: matrices (linear and token-embedding weights) decay, the rest do not."""
        decay = [p for n, p in self.named_parameters() if p.ndim >= 2 and "wpe" not in n]
        rest = [p for n, p in self.named_parameters() if not (p.ndim >= 2 and "wpe" not in n)]
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ]

    def generate(
        self,
        idx: idrak.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> idrak.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` int64 ``(B, T)``.

        Each step samples from ``softmax(logits / temperature)``, restricted to the ``top_k``
        most likely tokens when given (idrak's generator: seed with ``idrak.manual_seed``).

        Raises:
            ValueError: ``temperature <= 0`` or ``top_k < 1``.
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        with idrak.no_grad():
            for _ in range(max_new_tokens):
                cond = idx if idx.shape[1] <= self.block_size else idx[:, -self.block_size :]
                logits = self(cond)[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = idrak.topk(logits, min(top_k, logits.shape[-1]))
                    logits = logits.masked_fill(logits < v[:, [-1]], -math.inf)
                nxt = idrak.multinomial(F.softmax(logits, dim=-1), num_samples=1)
                idx = idrak.cat([idx, nxt], dim=1)
        return idx


def lr_lambda(warmup: int, total: int, lr: float, min_lr: float) -> Any:
    """The factor of the base learning rate at each step: linear warm-up over ``warmup`` steps,
    then cosine decay to ``min_lr`` at ``total`` (nanoGPT's ``get_lr``)."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        ratio = min(1.0, (step - warmup) / max(1, total - warmup))
        return (min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (lr - min_lr)) / lr

    return factor


def step(state: Any) -> dict[str, Any]:
    """Cross-entropy of every next character (targets -1 ignored)."""
    x, y = state.batch
    logits = state.net(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1)
    return {"loss": loss}


def sample(
    model: GPT, vocab: Vocabulary, n: int, temperature: float, top_k: int | None
) -> list[str]:
    """``n`` names generated from the start token, cut at the first end token."""
    model.eval()
    idx = idrak.zeros(n, 1, dtype=idrak.int64, device=next(model.parameters()).device)
    out = model.generate(idx, model.block_size - 1, temperature, top_k).numpy()[:, 1:]
    names = []
    for row in out.tolist():
        names.append(vocab.decode(row[: row.index(0)] if 0 in row else row))
    model.train()
    return names


def build(args: Any, words: list[str]) -> tuple[Config, Vocabulary, GPT, Any, Any]:
    """Config, vocabulary, model, train and dev datasets for ``args`` (the parsed options)."""
    cfg = Config.from_object(GPTConfig)
    for key in ("n_layer", "n_head", "n_embd", "epochs", "batch_size", "seed", "learning_rate"):
        cfg[key] = getattr(args, key)
    train_w, dev_w, _ = split_words(words, cfg.seed)
    vocab = Vocabulary(train_w)
    block_size = max(len(w) for w in words) + 1
    train = sequences(train_w, vocab, block_size)
    dev = sequences([w for w in dev_w if all(c in vocab.stoi for c in w)], vocab, block_size)
    idrak.manual_seed(cfg.seed)
    model = GPT(len(vocab), block_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.dropout)
    return cfg, vocab, model, train, dev


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, evaluate and sample; returns ``{"dev_loss", "samples", "history", "seconds"}``."""
    p = _cli.parser(PROG, __doc__ or "")
    p.add_argument("--path", type=Path, default=None, help="names file, one name per line")
    for key in ("n_layer", "n_head", "n_embd", "epochs", "batch_size"):
        default = getattr(GPTConfig, key)
        p.add_argument(f"--{key.replace('_', '-')}", type=_cli.positive_int, default=default)
    p.add_argument("--learning-rate", type=float, default=GPTConfig.learning_rate)
    p.add_argument("--max-words", type=_cli.positive_int, default=None, help="first N names only")
    p.add_argument("--samples", type=int, default=10, help="names to sample at the end")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest")
    p.add_argument("--seed", type=int, default=GPTConfig.seed, help="random seed")
    p.add_argument("--quiet", action="store_true", help="print no per-epoch lines")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    words = [w for w in (args.path or default_path()).read_text().split() if w][: args.max_words]
    cfg, vocab, model, train, dev = build(args, words)
    steps = cfg.epochs * math.ceil(len(train) / cfg.batch_size)
    opt = idrak.optim.AdamW(
        model.parameter_groups(cfg.weight_decay), lr=cfg.learning_rate, betas=cfg.betas
    )
    sched = idrak.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda(cfg.warmup_steps, steps, cfg.learning_rate, cfg.min_lr)
    )
    cfg.lr_scheduler_interval = "step"
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{len(words)} names, vocabulary {len(vocab)}, block {model.block_size}; GPT with "
        f"{n_params} parameters, {steps} steps"
    )
    runner = Runner(
        config=cfg,
        model=model,
        optimizer=opt,
        lr_scheduler=sched,
        quiet=args.quiet,
        extra=["n_layer", "n_head", "n_embd", "dropout", "min_lr", "warmup_steps"],
    )
    history = runner.train(step, train, dev)
    dev_loss = history["eval_loss"][-1]
    seconds = time.perf_counter() - t0
    print(f"dev loss {dev_loss:.4f} nats per character ({seconds:.1f}s)")
    idrak.manual_seed(cfg.seed)
    names = sample(model, vocab, args.samples, args.temperature, args.top_k) if args.samples else []
    if names:
        print("samples: " + ", ".join(names))
    return {"dev_loss": dev_loss, "samples": names, "history": history, "seconds": seconds}


if __name__ == "__main__":
    _cli.run(main, PROG)
