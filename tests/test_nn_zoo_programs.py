"""Small programs in the style of nanoGPT's model.py and a char-rnn, written once against a
``lib`` (torch or idrak) with torch's spellings, run under both with torch's weights loaded into
idrak: the loss and every parameter gradient must agree (float64)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from _gradcheck import assert_close

import idrak


def gpt(lib: Any, vocab: int = 11, block: int = 6, n_embd: int = 8, n_head: int = 2) -> Any:
    """A two-block decoder-only transformer, nanoGPT-style (causal SDPA, GELU MLP, weight
    tying, ModuleDict / ModuleList, CrossEntropyLoss)."""
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)

        def forward(self, x: Any) -> Any:
            b, t, c = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            q = q.view(b, t, n_head, c // n_head).transpose(1, 2)
            k = k.view(b, t, n_head, c // n_head).transpose(1, 2)
            v = v.view(b, t, n_head, c // n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True
            )
            y = y.transpose(1, 2).contiguous().view(b, t, c)
            return self.c_proj(y)

    class Block(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(n_embd)
            self.mlp = nn.ModuleDict(
                {"c_fc": nn.Linear(n_embd, 4 * n_embd), "c_proj": nn.Linear(4 * n_embd, n_embd)}
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            m = self.mlp
            return x + m.c_proj(F.gelu(m.c_fc(self.ln_2(x))))

    class GPT(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.transformer = nn.ModuleDict(
                {
                    "wte": nn.Embedding(vocab, n_embd),
                    "wpe": nn.Embedding(block, n_embd),
                    "h": nn.ModuleList([Block() for _ in range(2)]),
                    "ln_f": nn.LayerNorm(n_embd),
                }
            )
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
            self.loss = nn.CrossEntropyLoss(ignore_index=-1)

        def forward(self, idx: Any, targets: Any) -> Any:
            t = idx.shape[1]
            pos = lib.arange(0, t, dtype=lib.int64)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for blk in self.transformer.h:
                x = blk(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            return logits, self.loss(logits.view(-1, logits.size(-1)), targets.view(-1))

    return GPT()


def char_rnn(lib: Any, vocab: int = 9, hidden: int = 7) -> Any:
    """Embedding -> 2-layer LSTM (dropout between layers) -> Linear, NLL of log_softmax."""
    nn, F = lib.nn, lib.nn.functional

    class CharRNN(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab, 5)
            self.rnn = nn.LSTM(5, hidden, num_layers=2, batch_first=True, dropout=0.3)
            self.head = nn.Linear(hidden, vocab)
            self.crit = nn.NLLLoss()

        def forward(self, idx: Any, targets: Any) -> Any:
            out, (h, _) = self.rnn(self.emb(idx))
            logp = F.log_softmax(self.head(out), dim=-1)
            return h, self.crit(logp.reshape(-1, vocab), targets.reshape(-1))

    return CharRNN()


def _compare(build: Any, idx: np.ndarray, targets: np.ndarray, what: str) -> None:
    torch = pytest.importorskip("torch")
    tm = build(torch).double().eval()
    im = build(idrak).to(dtype=idrak.float64).eval()
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    im.load_state_dict({k: idrak.tensor(v) for k, v in sd.items()})
    tout, tloss = tm(torch.tensor(idx), torch.tensor(targets))
    iout, iloss = im(idrak.tensor(idx), idrak.tensor(targets))
    assert_close(iout.numpy(), tout.detach().numpy(), 1e-10, 1e-10, f"{what} output")
    assert math.isclose(float(iloss.item()), float(tloss.item()), rel_tol=1e-11)
    tloss.backward()
    iloss.backward()
    tg = {n: p.grad for n, p in tm.named_parameters()}
    ig = {n: p.grad for n, p in im.named_parameters()}
    assert sorted(ig) == sorted(tg), f"{what}: parameter names differ"
    for n in tg:
        assert_close(ig[n].numpy(), tg[n].numpy(), 1e-10, 1e-10, f"{what}: grad of {n}")


def test_nanogpt_style_model_matches_torch() -> None:
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 11, size=(3, 6))
    targets = rng.integers(0, 11, size=(3, 6))
    targets[0, 2] = -1  # ignored position
    _compare(gpt, idx, targets, "gpt")


def test_char_rnn_style_model_matches_torch() -> None:
    rng = np.random.default_rng(1)
    _compare(char_rnn, rng.integers(0, 9, size=(4, 7)), rng.integers(0, 9, size=(4, 7)), "rnn")
