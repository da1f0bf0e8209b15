"""The names and behaviours the seeds' examples rely on, each checked on its own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import idrak
from idrak import nn


def test_mlp_sizes_and_top_level_names() -> None:
    model = idrak.MLP(784, [64, 64, 64, 10])
    assert model is not None and idrak.nn.MLP is idrak.MLP
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, 64),
        (64, 64),
        (64, 64),
        (64, 10),
    ]
    assert sum(isinstance(m, nn.ReLU) for m in model) == 3 and isinstance(model[-1], nn.Linear)
    assert model(idrak.randn(5, 784)).shape == (5, 10)
    with pytest.raises(ValueError, match=r"got sizes=\[\]"):
        nn.MLP(4, [])
    with pytest.raises(ValueError, match="-3"):
        nn.MLP(4, [8, -3])


def test_wadam_is_adamw() -> None:
    assert idrak.optim.WAdam is idrak.optim.AdamW is idrak.WAdam


def test_core_tensor_module_is_the_layer_type() -> None:
    import idrak.core.tensor as T

    assert isinstance(nn.Linear(2, 3), T.Module) and isinstance(nn.Pipeline(), T.Module)
    assert not isinstance(idrak.ones(2), T.Module)
    assert "Module" not in idrak.core.tensor.__all__  # not in the top-level namespace


def test_pipeline_of_a_composed_pipeline_is_flat() -> None:
    a, b, c = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    p = nn.Pipeline(a >> b >> c)
    assert len(p) == 3 and p[0] is a and p[2] is c
    hooked = a >> b
    hooked.register_forward_hook(lambda m, i, o: None)
    assert len(nn.Pipeline(hooked)) == 1  # a Pipeline with hooks of its own stays one step


def test_experiment_save_marks_finished(tmp_path: Path) -> None:
    from idrak.experiment import Experiment

    exp = Experiment(id="abc", name="run", root=tmp_path)
    exp.log_hyperparameter("lr", 0.1)
    exp.log_metric("loss", 1.0, step=3)

    def status() -> str:
        return json.loads((exp.path / "meta.json").read_text())["status"]

    assert status() == "running"
    exp.save("running")
    assert status() == "running"
    exp.save()
    assert status() == "finished"
    with pytest.raises(ValueError, match="'done'"):
        exp.save("done")  # type: ignore[arg-type]


def test_metric_functions_match_the_losses() -> None:
    import idrak.metrics as metrics
    from idrak.nn import functional as F

    rng = np.random.default_rng(0)
    x = idrak.tensor(rng.normal(size=(6, 4)).astype(np.float32))
    y = idrak.tensor(rng.integers(0, 4, 6))
    onehot = F.one_hot(y, 4).float()
    np.testing.assert_allclose(
        metrics.bce(x, y).item(), F.binary_cross_entropy_with_logits(x, onehot).item(), rtol=1e-6
    )
    np.testing.assert_allclose(metrics.bce(x, onehot).item(), metrics.bce(x, y).item())
    np.testing.assert_allclose(
        metrics.cross_entropy(x, y).item(), F.cross_entropy(x, y).item(), rtol=1e-6
    )
    t = idrak.tensor(rng.normal(size=(6, 4)).astype(np.float32))
    np.testing.assert_allclose(metrics.mse(x, t).item(), F.mse_loss(x, t).item(), rtol=1e-6)
    np.testing.assert_allclose(metrics.mae(x, t).item(), F.l1_loss(x, t).item(), rtol=1e-6)
    want = float((x.numpy().argmax(-1) == y.numpy()).mean())
    assert metrics.accuracy(x, y) == want
    x.requires_grad_(True)
    metrics.bce(x, y).backward()
    assert x.grad is not None and x.grad.shape == (6, 4)
    with pytest.raises(ValueError, match=r"\(5,\).*\(6, 4\)"):
        metrics.bce(x, np.zeros(5, np.int64))


def _runner_history(train: object, epochs: int = 2) -> idrak.train.History:
    idrak.manual_seed(0)
    model = nn.Linear(784, 10)
    config = idrak.Config(batch_size=16, epochs=epochs, learning_rate=1e-2, optimizer="SGD")

    def step(state: object) -> object:
        x, y = state.batch  # type: ignore[attr-defined]
        return idrak.functional.cross_entropy(state.net(x), y)  # type: ignore[attr-defined]

    runner = idrak.Runner(config=config, model=model, quiet=True)
    return runner.train(training_step_fn=step, train_dataset=train)


def _arrays(n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 784)).astype(np.float32), rng.integers(0, 10, n)


def test_runner_takes_a_list_of_batches() -> None:
    x, y = _arrays()
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 48, 16)]
    history = _runner_history(batches)
    assert history.num_epochs == 2 and np.isfinite(history["train_loss"]).all()


def test_runner_takes_an_iterator_of_batches_for_one_epoch() -> None:
    x, y = _arrays()
    batches = iter([(x[i : i + 16], y[i : i + 16]) for i in range(0, 48, 16)])
    history = _runner_history(batches, epochs=1)
    assert history.num_epochs == 1 and len(history["train_loss"]) == 1


def test_runner_takes_keras_style_arrays() -> None:
    history = _runner_history(_arrays())
    assert history.num_epochs == 2 and np.isfinite(history["train_loss"]).all()
