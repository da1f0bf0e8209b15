"""A character-level LSTM language model on the names data.

Embedding -> ``nn.LSTM`` (``num_layers`` layers, ``batch_first``) -> Linear over the vocabulary
(Graves 2013, "Generating Sequences With Recurrent Neural Networks"), trained with Adam and
gradient clipping through the Config/Runner workflow on the same sequences as
``idrak.examples.gpt`` (one name per sequence, targets -1 past its end token); then samples
names one character at a time, carrying the LSTM state.

Get the data once with ``python -m idrak.data download names`` (or pass ``--path``), then run
``python -m idrak.examples.char_rnn``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import idrak
import idrak.nn.functional as F
from idrak import nn
from idrak.examples import _cli
from idrak.examples.gpt import Vocabulary, sequences
from idrak.examples.names import default_path, split_words
from idrak.train import Config, Runner

PROG = "python -m idrak.examples.char_rnn"


class CharRNNConfig:
    embedding_dim = 32
    hidden_size = 128
    num_layers = 1
    optimizer = "Adam"
    learning_rate = 3e-3
    grad_clip_norm = 1.0
    batch_size = 64
    epochs = 2
    seed = 42


class CharRNN(nn.Module):
    """Token ids int64 ``(B, T)`` -> logits float32 ``(B, T, vocab_size)`` (and the state)."""

    def __init__(
        self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int
    ) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx: idrak.Tensor, state: Any = None) -> tuple[idrak.Tensor, Any]:
        out, state = self.lstm(self.emb(idx), state)
        return self.head(out), state


def step(s: Any) -> dict[str, Any]:
    """Cross-entropy of every next character (targets -1 ignored)."""
    x, y = s.batch
    logits, _ = s.net(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1)
    return {"loss": loss}


def sample(model: CharRNN, vocab: Vocabulary, n: int, max_len: int) -> list[str]:
    """``n`` names drawn one character at a time from the start token."""
    model.eval()
    names = []
    with idrak.no_grad():
        for _ in range(n):
            idx, state, chars = idrak.zeros(1, 1, dtype=idrak.int64), None, []
            for _ in range(max_len):
                logits, state = model(idx, state)
                idx = idrak.multinomial(F.softmax(logits[:, -1, :], dim=-1), num_samples=1)
                ix = int(idx.item())
                if ix == 0:
                    break
                chars.append(vocab.itos[ix])
            names.append("".join(chars))
    model.train()
    return names


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, evaluate and sample; returns ``{"dev_loss", "samples", "history"}``."""
    p = _cli.parser(PROG, __doc__ or "")
    p.add_argument("--path", type=Path, default=None, help="names file, one name per line")
    p.add_argument("--epochs", type=_cli.positive_int, default=CharRNNConfig.epochs)
    p.add_argument("--hidden-size", type=_cli.positive_int, default=CharRNNConfig.hidden_size)
    p.add_argument("--num-layers", type=_cli.positive_int, default=CharRNNConfig.num_layers)
    p.add_argument("--max-words", type=_cli.positive_int, default=None, help="first N names only")
    p.add_argument("--samples", type=int, default=10, help="names to sample at the end")
    p.add_argument("--seed", type=int, default=CharRNNConfig.seed)
    p.add_argument("--quiet", action="store_true", help="print no per-epoch lines")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    words = [w for w in (args.path or default_path()).read_text().split() if w][: args.max_words]
    cfg = Config.from_object(CharRNNConfig)
    cfg.epochs, cfg.seed = args.epochs, args.seed
    cfg.hidden_size, cfg.num_layers = args.hidden_size, args.num_layers
    train_w, dev_w, _ = split_words(words, cfg.seed)
    vocab = Vocabulary(train_w)
    block = max(len(w) for w in words) + 1
    train = sequences(train_w, vocab, block)
    dev = sequences([w for w in dev_w if all(c in vocab.stoi for c in w)], vocab, block)
    idrak.manual_seed(cfg.seed)
    model = CharRNN(len(vocab), cfg.embedding_dim, cfg.hidden_size, cfg.num_layers)
    runner = Runner(
        config=cfg,
        model=model,
        quiet=args.quiet,
        extra=["embedding_dim", "hidden_size", "num_layers"],
    )
    history = runner.train(step, train, dev)
    dev_loss = history["eval_loss"][-1]
    print(f"LSTM dev loss {dev_loss:.4f} nats per character ({time.perf_counter() - t0:.1f}s)")
    idrak.manual_seed(cfg.seed)
    names = sample(model, vocab, args.samples, block) if args.samples else []
    if names:
        print("samples: " + ", ".join(names))
    return {"dev_loss": dev_loss, "samples": names, "history": history}


if __name__ == "__main__":
    _cli.run(main, PROG)
