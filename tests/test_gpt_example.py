"""The GPT and char-RNN examples: they run end to end, and the GPT matches its PyTorch twin."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.nn.functional as F
from idrak.examples import char_rnn, gpt

WORDS = [
    "emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail",
    "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery", "mila", "aria", "scarlett",
]  # fmt: skip


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(WORDS * 10) + "\n")
    return path


def test_sequences_shift_targets_and_ignore_the_padding() -> None:
    vocab = gpt.Vocabulary(["ab", "b"])
    x, y = gpt.sequences(["ab", "b"], vocab, 4)[0]
    assert x.tolist() == [0, 1, 2, 0] and y.tolist() == [1, 2, 0, -1]
    with pytest.raises(ValueError, match="block_size is 2"):
        gpt.sequences(["ab"], vocab, 2)
    with pytest.raises(ValueError, match=r"\['z'\]"):
        vocab.encode("az")


def test_gpt_example_trains_and_samples(names_file: Path) -> None:
    small = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "16"]
    result = gpt.main(
        ["--path", str(names_file), "--epochs", "2", "--samples", "4", "--top-k", "5", "--quiet"]
        + small
    )
    losses = result["history"]["train_loss"]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    assert result["dev_loss"] < math.log(27)  # better than uniform over the vocabulary
    assert len(result["samples"]) == 4 and all(isinstance(s, str) for s in result["samples"])


def test_gpt_generate_respects_top_k_and_checks_its_arguments() -> None:
    idrak.manual_seed(0)
    model = gpt.GPT(vocab_size=7, block_size=6, n_layer=1, n_head=1, n_embd=8, dropout=0.0)
    model.eval()
    idx = model.generate(idrak.zeros(3, 1, dtype=idrak.int64), 5, top_k=1)
    # top_k=1 is greedy: every row takes the argmax at every step
    logits = model(idx[:, :-1])
    assert np.array_equal(idx[:, 1:].numpy(), logits.numpy().argmax(-1))
    with pytest.raises(ValueError, match="temperature"):
        model.generate(idx, 1, temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(idx, 1, top_k=0)
    with pytest.raises(ValueError, match="longer than block_size"):
        model(idrak.zeros(1, 7, dtype=idrak.int64))


def test_the_head_is_tied_to_the_token_embedding() -> None:
    model = gpt.GPT(vocab_size=7, block_size=6, n_layer=1, n_head=1, n_embd=8, dropout=0.0)
    assert model.lm_head.weight is model.transformer["wte"].weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and "transformer.wte.weight" in names
    groups = model.parameter_groups(0.1)
    assert sum(len(g["params"]) for g in groups) == len(names)
    assert all(p.ndim >= 2 for p in groups[0]["params"])


def _benchmark() -> Any:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpt.py"
    spec = importlib.util.spec_from_file_location("bench_gpt", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpt_trains_like_its_pytorch_twin() -> None:
    """Ten AdamW steps (groups, warm-up, clipping) from the same weights: the same losses."""
    torch = pytest.importorskip("torch")
    bench = _benchmark()
    args = SimpleNamespace(
        n_layer=2, n_head=2, n_embd=16, epochs=1, batch_size=8, seed=3, learning_rate=1e-2
    )
    _, _, model, train, _ = gpt.build(args, WORDS * 3)
    twin = bench.torch_twin(model, 2)
    x, y = (np.stack(c) for c in zip(*(train[i] for i in range(len(train)))))
    lr_at = gpt.lr_lambda(3, 10, 1e-2, 1e-3)
    opt_i = idrak.optim.AdamW(model.parameter_groups(0.1), lr=1e-2)
    opt_t = torch.optim.AdamW(bench.groups_like(twin, 0.1), lr=1e-2)
    rng = np.random.default_rng(0)
    for step in range(10):
        idx = rng.integers(0, len(x), 8)
        for opt in (opt_i, opt_t):
            for g in opt.param_groups:
                g["lr"] = 1e-2 * lr_at(step)
        opt_i.zero_grad()
        li = model(idrak.tensor(x[idx]))
        loss_i = F.cross_entropy(
            li.reshape(-1, li.shape[-1]), idrak.tensor(y[idx]).reshape(-1), ignore_index=-1
        )
        loss_i.backward()
        idrak.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt_i.step()
        opt_t.zero_grad()
        lt = twin(torch.from_numpy(x[idx]))
        loss_t = torch.nn.functional.cross_entropy(
            lt.view(-1, lt.shape[-1]), torch.from_numpy(y[idx]).view(-1), ignore_index=-1
        )
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), 1.0)
        opt_t.step()
        assert loss_i.item() == pytest.approx(loss_t.item(), rel=1e-4), step
    got = model.transformer["wte"].weight.numpy()
    assert np.allclose(got, twin.transformer["wte"].weight.detach().numpy(), rtol=1e-3, atol=1e-5)


def test_char_rnn_example_trains_and_samples(names_file: Path) -> None:
    result = char_rnn.main(
        ["--path", str(names_file), "--epochs", "2", "--hidden-size", "32", "--samples", "3",
         "--quiet"]
    )  # fmt: skip
    losses = result["history"]["train_loss"]
    assert losses[-1] < losses[0] and result["dev_loss"] < math.log(27)
    assert len(result["samples"]) == 3


@pytest.mark.realdata
def test_gpt_on_the_real_names_learns_beyond_the_unigram() -> None:
    """One epoch on the first 3,000 real names (about 75 jitted steps): the held-out loss falls
    well below the unigram model's (about 2.9 nats)."""
    from _realdata import NAMES_FILE, need

    need(NAMES_FILE, "the names file")
    result = gpt.main(
        ["--path", str(NAMES_FILE), "--max-words", "3000", "--epochs", "1", "--samples", "0",
         "--quiet"]
    )  # fmt: skip
    assert result["dev_loss"] < 2.7
