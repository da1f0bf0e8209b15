"""A port test in the style of Karpathy's nanoGPT (model.py and train.py): a GPT with a
bias-optional LayerNorm, causal self-attention through F.scaled_dot_product_attention when it
exists (the slow masked path otherwise), weight tying, the _init_weights scheme,
configure_optimizers with decay / no-decay parameter groups (and the fused-AdamW probe), a
cosine learning rate with warm-up set in param_groups, gradient clipping, estimate_loss and
generate with temperature and top-k. A short built-in text stands in for shakespeare_char.

Runs unchanged on idrak: tests/test_ports.py swaps the one import line.
"""

import argparse
import inspect
import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

TEXT = (
    "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
    "First Citizen: You are all resolved rather to die than to famish? All: Resolved. resolved. "
    "First Citizen: First, you know Caius Marcius is chief enemy to the people. "
    "All: We know't, we know't. First Citizen: Let us kill him, "
    "and we'll have corn at our own price. "
)


class LayerNorm(torch.nn.Module):
    """LayerNorm but with an optional bias."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(ndim))
        self.bias = torch.nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return torch.nn.functional.layer_norm(
            input, self.weight.shape, self.weight, self.bias, 1e-5
        )


class CausalSelfAttention(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = torch.nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = torch.nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = torch.nn.Dropout(config.dropout)
        self.resid_dropout = torch.nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.flash = hasattr(torch.nn.functional, "scaled_dot_product_attention")
        if not self.flash:
            self.register_buffer(
                "bias",
                torch.tril(torch.ones(config.block_size, config.block_size)).view(
                    1, 1, config.block_size, config.block_size
                ),
            )

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = torch.nn.functional.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=None,
                dropout_p=self.dropout if self.training else 0,
                is_causal=True,
            )
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = torch.nn.functional.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y


class MLP(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = torch.nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = torch.nn.GELU()
        self.c_proj = torch.nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = torch.nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 16
    vocab_size: int = 64
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    dropout: float = 0.0
    bias: bool = True


class GPT(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = torch.nn.ModuleDict(
            dict(
                wte=torch.nn.Embedding(config.vocab_size, config.n_embd),
                wpe=torch.nn.Embedding(config.block_size, config.n_embd),
                drop=torch.nn.Dropout(config.dropout),
                h=torch.nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = torch.nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def get_num_params(self):
        return sum(p.numel() for p in self.parameters())

    def _init_weights(self, module):
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size
        pos = torch.arange(0, t, dtype=torch.long, device=device)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
        else:
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        param_dict = {pn: p for pn, p in self.named_parameters()}
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        extra_args = dict(fused=True) if use_fused else dict()
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = (
                idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size :]
            )
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = torch.nn.functional.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


def set_weights(model, seed):
    """Overwrite every parameter from NumPy (tied weights get one array), to compare runs."""
    state = {}
    for name, value in model.state_dict().items():
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])  # order-independent
        shape = tuple(value.shape)
        if name == "lm_head.weight":
            continue
        if name.endswith(".attn.bias"):  # the causal mask of the slow path (not c_attn.bias)
            state[name] = value
            continue
        w = rng.standard_normal(shape) * (0.1 if len(shape) > 1 else 0.02)
        if (
            name.endswith("ln_1.weight")
            or name.endswith("ln_2.weight")
            or name.endswith("ln_f.weight")
        ):
            w = 1.0 + w
        state[name] = torch.from_numpy(w.astype(np.float32))
    state["lm_head.weight"] = state["transformer.wte.weight"]
    model.load_state_dict(state)


def main(argv=None):
    parser = argparse.ArgumentParser(description="nanoGPT-style")
    parser.add_argument("--max-iters", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--warmup-iters", type=int, default=3)
    parser.add_argument("--weight-decay", type=float, default=1e-1)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument(
        "--fixed-batches", action="store_true", help="deterministic batches (to compare runs)"
    )
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    device = "cpu"
    device_type = "cuda" if "cuda" in device else "cpu"

    chars = sorted(list(set(TEXT)))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[c] for c in TEXT], dtype=np.uint16)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]
    config = GPTConfig(vocab_size=len(chars))
    block_size = config.block_size

    def get_batch(split, it):
        d = train_data if split == "train" else val_data
        if args.fixed_batches:
            ix = [(it * 37 + j * 11) % (len(d) - block_size) for j in range(args.batch_size)]
        else:
            ix = torch.randint(len(d) - block_size, (args.batch_size,)).tolist()
        x = torch.stack([torch.from_numpy((d[i : i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack(
            [torch.from_numpy((d[i + 1 : i + 1 + block_size]).astype(np.int64)) for i in ix]
        )
        return x.to(device), y.to(device)

    model = GPT(config)
    set_weights(model, args.seed)
    model.to(device)
    optimizer = model.configure_optimizers(
        args.weight_decay, args.learning_rate, (0.9, 0.95), device_type
    )

    def get_lr(it):
        if it < args.warmup_iters:
            return args.learning_rate * (it + 1) / (args.warmup_iters + 1)
        decay_ratio = (it - args.warmup_iters) / (args.max_iters - args.warmup_iters)
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return args.learning_rate * 0.1 + coeff * (args.learning_rate * 0.9)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(3)
            for k in range(3):
                X, Y = get_batch(split, 100 + k)
                logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    losses, lrs = [], []
    X, Y = get_batch("train", 0)
    for it in range(args.max_iters):
        lr = get_lr(it)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        logits, loss = model(X, Y)
        X, Y = get_batch("train", it + 1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        lrs.append(lr)
    est = estimate_loss()
    start = torch.zeros((2, 1), dtype=torch.long, device=device)
    sample = model.generate(start, 8, temperature=0.8, top_k=5)[:, 1:].tolist()
    return {
        "losses": losses,
        "lrs": lrs,
        "estimate": est,
        "sample": sample,
        "vocab_size": len(chars),
        "num_params": model.get_num_params(),
    }


if __name__ == "__main__":
    print(main())
