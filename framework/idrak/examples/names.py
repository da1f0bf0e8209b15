"""Character-level language models on a names file (makemore-style).

1. A bigram model: count character pairs (add-one smoothed) and read off probabilities.
2. An MLP in the style of makemore part 3 (Bengio et al. 2003): the previous ``block_size``
   characters are embedded, concatenated, passed through Linear -> BatchNorm1d -> tanh, and a
   Linear layer predicts the next character; trained with the Runner.

Both report the mean negative log-likelihood per character on held-out names (lower is better);
then the MLP samples new names (seeded). Get the data once with
`python -m idrak.data download names`, then run `python -m idrak.examples.names`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import idrak
import idrak.nn.functional as F
from idrak import nn
from idrak.data import CharDataset, names_dataset
from idrak.examples import _cli
from idrak.train import Config, Runner


class NamesConfig:
    block_size = 3  # characters of context
    embedding_dim = 10
    hidden = 200
    activation = "tanh"
    optimizer = "Adam"
    learning_rate = 3e-3
    batch_size = 128
    epochs = 3
    seed = 42


PROG = "python -m idrak.examples.names"


def default_path() -> Path:
    """``names.txt`` from ``$IDRAK_DATA/names/`` or idrak's cache (see
    :func:`idrak.data.names_file`); never downloads.

    Raises:
        SystemExit: no file there (telling the user to pass --path or download it).
    """
    from idrak.data import DatasetNotFoundError, names_file

    try:
        return names_file()
    except DatasetNotFoundError as exc:
        looked = str(exc).split("(looked in ", 1)[-1].split(")", 1)[0]
        raise SystemExit(
            "no names file: pass --path FILE (one name per line, e.g. makemore's names.txt), "
            "run `python -m idrak.data download names`, or set IDRAK_DATA to a directory "
            f"containing names/names.txt (looked in {looked})"
        ) from None


def split_words(words: list[str], seed: int) -> tuple[list[str], list[str], list[str]]:
    """80% / 10% / 10% of the words, shuffled with ``seed`` (makemore's split)."""
    order = np.random.default_rng(seed).permutation(len(words))
    shuffled = [words[i] for i in order]
    a, b = int(0.8 * len(words)), int(0.9 * len(words))
    return shuffled[:a], shuffled[a:b], shuffled[b:]


def bigram_nll(train: CharDataset, words: list[str]) -> float:
    """Mean NLL per character of ``words`` under add-one-smoothed bigram counts of ``train``."""
    v = train.vocab_size
    counts = np.ones((v, v), dtype=np.float64)  # add-one smoothing: no zero probabilities
    for w in train.words:
        ix = [0, *train.encode(w), 0]
        np.add.at(counts, (ix[:-1], ix[1:]), 1)
    logp = idrak.tensor(counts).log() - idrak.tensor(counts.sum(1, keepdims=True)).log()
    pairs = [(a, b) for w in words for a, b in zip([0, *train.encode(w)], [*train.encode(w), 0])]
    rows, cols = (idrak.tensor(np.array(c, dtype=np.int64)) for c in zip(*pairs))
    return float(-logp[rows, cols].mean().item())


def build_model(cfg: Config, vocab_size: int) -> nn.Net:
    """embedding (V, E) -> flatten -> Linear(B*E, H, no bias) -> BatchNorm1d(H) -> act ->
    Linear(H, V). Input int64 ``(N, block_size)``, output logits float32 ``(N, V)``."""
    act = nn.Tanh() if cfg.activation == "tanh" else nn.ReLU()
    net = nn.Net()
    net.add("emb", nn.Embedding(vocab_size, cfg.embedding_dim))
    net.add("flatten", nn.Flatten())
    net.add("fc1", nn.Linear(cfg.block_size * cfg.embedding_dim, cfg.hidden, bias=False))
    net.add("bn1", nn.BatchNorm1d(cfg.hidden)).add("act1", act)
    net.add("head", nn.Linear(cfg.hidden, vocab_size))
    with idrak.no_grad():  # a less confident head at init (makemore's "fix the initial loss")
        net["head"].weight.assign(net["head"].weight * 0.1)
    return net


def step(state: Any) -> dict[str, Any]:
    """Cross-entropy of the next character: x int64 (B, block_size), y int64 (B,)."""
    x, y = state.batch
    logits = state.net(x)
    return {"loss": F.cross_entropy(logits, y), "y_pred": logits}


def sample(net: nn.Net, ds: CharDataset, n: int, seed: int, max_len: int = 30) -> list[str]:
    """``n`` names drawn from the model (eval mode: BatchNorm uses its running statistics)."""
    rng = np.random.default_rng(seed)
    net.eval()
    out = []
    with idrak.no_grad():
        for _ in range(n):
            context, chars = [0] * ds.block_size, []
            for _ in range(max_len):
                logits = net(idrak.tensor(np.array([context], dtype=np.int64)))
                probs = logits.softmax(-1).numpy()[0].astype(np.float64)
                ix = int(rng.choice(len(probs), p=probs / probs.sum()))
                if ix == 0:
                    break
                chars.append(ds.itos[ix])
                context = [*context[1:], ix]
            out.append("".join(chars))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train both models; returns ``{"bigram_nll", "mlp_nll", "samples", "history"}``."""
    p = _cli.parser(PROG, __doc__ or "")
    p.add_argument(
        "--path",
        type=Path,
        default=None,
        help="names file, one name per line (default: names.txt from $IDRAK_DATA/names/ or "
        "idrak's cache, where `python -m idrak.data download names` puts it)",
    )
    p.add_argument("--epochs", type=_cli.positive_int, default=NamesConfig.epochs, help="epochs")
    p.add_argument(
        "--batch-size", type=_cli.positive_int, default=NamesConfig.batch_size, help="batch size"
    )
    p.add_argument(
        "--max-words", type=_cli.positive_int, default=None, help="use only the first N names"
    )
    p.add_argument("--samples", type=int, default=10, help="names to sample at the end")
    p.add_argument("--seed", type=int, default=NamesConfig.seed, help="random seed")
    p.add_argument("--quiet", action="store_true", help="print no per-epoch lines")
    args = p.parse_args(argv)
    t0 = time.perf_counter()

    path = args.path or default_path()
    words = names_dataset(path).words[: args.max_words]
    cfg = Config.from_object(NamesConfig)
    cfg.epochs, cfg.seed, cfg.batch_size = args.epochs, args.seed, args.batch_size
    train_w, dev_w, _ = split_words(words, cfg.seed)
    train = CharDataset(train_w, cfg.block_size)
    dev = CharDataset(dev_w, cfg.block_size, chars=train.itos[1:])

    bigram = bigram_nll(train, dev_w)
    print(f"{len(words)} names, vocabulary {train.vocab_size}; {len(train)} training examples")
    print(f"bigram model: dev NLL {bigram:.4f}")

    idrak.manual_seed(cfg.seed)
    net = build_model(cfg, train.vocab_size)
    runner = Runner(config=cfg, model=net, quiet=args.quiet, extra=["block_size", "embedding_dim"])
    history = runner.train(step, train, dev)
    mlp = history["eval_loss"][-1]
    print(
        f"MLP model ({sum(p.numel() for p in net.parameters())} parameters): dev NLL {mlp:.4f}"
        f" ({'better' if mlp < bigram else 'worse'} than the bigram's {bigram:.4f})"
    )
    names = sample(net, train, args.samples, cfg.seed)
    if names:
        print("samples: " + ", ".join(names))
    print(f"({time.perf_counter() - t0:.1f}s)")
    return {"bigram_nll": bigram, "mlp_nll": mlp, "samples": names, "history": history}


if __name__ == "__main__":
    _cli.run(main, PROG)
