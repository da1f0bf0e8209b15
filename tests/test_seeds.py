"""The seeds' README examples, run as written: Idrak's 4 steps, Axon's 4 steps and its dynamic
architecture section, abdou_torch's MNIST loop; ``axon`` / ``abdou_torch`` / ``nw`` are idrak.

Besides the package name, only what the seeds leave undefined is supplied here: the data
(``my_train_data``, ``train_loader``, ...: small random arrays shaped so the seed's model fits
them, so the tests check the workflow, not accuracy) and the ``model`` the dynamic-architecture
section assumes. The one place a seed's own code cannot run is marked ``# ADAPTED:`` with the
reason (Idrak's Step 2 feeds a conv's 4-d output to a Linear over channels and then to 1-d
classification metrics; the Idrak seed also uses ``nn`` without importing it, which this module
imports).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idrak
import idrak as nw
from idrak import nn
from idrak.data import DataLoader, TensorDataset


def images(n: int, channels: int = 3, size: int = 8, seed: int = 0) -> TensorDataset:
    """``n`` random float32 images ``(n, channels, size, size)`` with int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, channels, size, size)).astype(np.float32)
    return TensorDataset(x, rng.integers(0, 10, n).astype(np.int64))


def test_idrak_seed_four_steps(capsys: pytest.CaptureFixture[str]) -> None:
    # Step 1: Define the Truth (Config)
    class TrainingConfig:
        in_channels = 3
        base_channels = 64
        block_type = "ResBlock"
        learning_rate = 1e-3
        batch_size = 128
        epochs = 10
        optimizer = "Adam"

    # Step 2: Build the State (Net)
    from idrak.factories import resnet_block

    config = TrainingConfig()
    model = nn.Net()

    model.add("entry_conv", nn.conv2d(config.in_channels, config.base_channels, kernel_size=7))
    model.add("block1", resnet_block(config.base_channels))
    model.add("block2", resnet_block(config.base_channels))
    # ADAPTED: the seed feeds the conv's (N, C, H, W) output straight into a Linear over C;
    # a global average pool and a flatten make it (N, C) first
    model.add("pool", nn.AdaptiveAvgPool2d(1))
    model.add("flatten", nn.Flatten())
    model.add("head", nn.linear(config.base_channels, 10))

    # Step 3: Define YOUR Logic (training_step)
    def my_training_step(runner_state: Any) -> dict[str, Any]:
        net = runner_state.net
        batch = runner_state.batch

        x, y_true = batch

        y_pred = net(x)

        loss = nw.functional.cross_entropy(y_pred, y_true)

        return {"loss": loss, "y_pred": y_pred}

    # the data the seed assumes: 10x10 images survive the 7x7 entry conv
    my_train_data, my_eval_data = images(8, size=10), images(4, size=10, seed=1)

    # Step 4: Let the Runner Execute
    runner = nw.Runner(config=config, model=model)

    history = runner.train(
        training_step_fn=my_training_step,
        train_dataset=my_train_data,
        eval_dataset=my_eval_data,
        metrics=[nw.metrics.Accuracy(), nw.metrics.F1Score()],
    )

    assert history.num_epochs == 10 and runner.config.batch_size == 128
    for key in ("train_loss", "eval_loss", "train_accuracy", "eval_accuracy", "eval_f1"):
        assert len(history[key]) == 10 and np.isfinite(history[key]).all(), key
    assert history["train_loss"][-1] < history["train_loss"][0]  # it learns the training data
    assert "epoch 10/10" in capsys.readouterr().out


def test_idrak_seed_hackability() -> None:
    net = nn.Net().add("fc1", nn.Linear(4, 8)).add("act", nn.ReLU()).add("fc2", nn.Linear(8, 2))
    assert set(net.params) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    net["fc2"] = nn.Linear(8, 3)  # swap any layer
    assert net(idrak.randn(5, 4)).shape == (5, 3)

    def custom_linear(layer: Any, x: Any) -> Any:  # replace functions on the fly
        return x @ layer.weight.T

    net["fc1"]["fn"] = custom_linear
    x = idrak.randn(2, 4)
    np.testing.assert_allclose(net["fc1"](x).numpy(), (x @ net["fc1"].weight.T).numpy())


def axon_data(n: int, seed: int) -> Any:
    """Data Axon's Step 2 model fits: (n, 3, 7, 70) images give Conv2d(3, 64, 7) outputs
    (n, 64, 1, 64), which Linear(64, 10) maps to (n, 64, 1, 10) scores; labels in [0, 10) of
    shape (n, 64, 1) are one-hot encoded by ``metrics.bce``. Batches of 4."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3, 7, 70)).astype(np.float32)
    y = rng.integers(0, 10, (n, 64, 1)).astype(np.int64)
    return DataLoader(TensorDataset(x, y), batch_size=4, shuffle=seed == 0, seed=seed)


def test_axon_seed_four_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # Experiment writes to ./runs
    # Step 1: Define Hyperparameters & Initialize Experiment
    import uuid

    import idrak as axon
    from idrak.experiment import Experiment

    # Define your experiment's hyperparameters
    hyperparams = {
        "in_channels": 3,
        "base_channels": 64,
        "block_type": "ResBlock",
        "learning_rate": 1e-3,
        "batch_size": 128,
        "epochs": 10,
        "optimizer": "Adam",
    }

    # Initialize an experiment to track your run
    exp = Experiment(id=str(uuid.uuid4()), name="MyFirstAxonExperiment")
    for key, value in hyperparams.items():
        exp.log_hyperparameter(key, value)

    # Step 2: Build the Model (Pipeline), its bracket fixed as the issue says
    import idrak.metrics as metrics
    from idrak.nn import Conv2d, Linear, Pipeline

    # Layers are composed using the >> operator or passed to the Pipeline constructor
    model = Pipeline(
        Conv2d(hyperparams["in_channels"], hyperparams["base_channels"], kernel_size=7)
        >> Linear(hyperparams["base_channels"], 10)
    )

    # You can reset parameters at any time to start from scratch
    # model.reset_parameters()
    assert len(model) == 2 and isinstance(model[1], Linear)

    # Step 3: Define YOUR Logic (training_step)
    def my_training_step(pipeline_model: Any, batch: Any) -> dict[str, Any]:
        x, y_true = batch
        y_pred = pipeline_model(x)
        loss = metrics.bce(y_pred, y_true)
        return {"loss": loss, "y_pred": y_pred}

    # Step 4: Run the Training Loop & Log with Experiment
    # Assuming my_train_data and my_eval_data are defined
    my_train_data, my_eval_data = axon_data(8, seed=0), axon_data(4, seed=1)
    # Assuming an optimizer is initialized, e.g., optimizer = axon.optim.Adam(model.params, lr=hyperparams["learning_rate"])  # noqa: E501
    optimizer = axon.optim.Adam(model.params, lr=hyperparams["learning_rate"])

    for epoch in range(hyperparams["epochs"]):
        total_loss = 0
        for i, batch in enumerate(my_train_data):
            # Forward pass, backward pass, and optimization
            results = my_training_step(model, batch)
            loss = results["loss"]
            # ... (backward pass and optimizer step would go here) ...
            optimizer.zero_grad()  # the three lines the seed leaves to "would go here"
            loss.backward()
            optimizer.step()

            total_loss += loss.item()
            exp.log_metric("train_loss", loss.item(), step=epoch * len(my_train_data) + i)

        avg_train_loss = total_loss / len(my_train_data)
        exp.log_metric("avg_epoch_train_loss", avg_train_loss, step=epoch)

        # Evaluation loop (simplified)
        eval_loss = 0
        for batch in my_eval_data:
            results = my_training_step(model, batch)  # Using same step for simplicity
            eval_loss += results["loss"].item()
        avg_eval_loss = eval_loss / len(my_eval_data)
        exp.log_metric("avg_epoch_eval_loss", avg_eval_loss, step=epoch)

        print(
            f"Epoch {epoch + 1}: Train Loss = {avg_train_loss:.4f}, Eval Loss = {avg_eval_loss:.4f}"
        )

    exp.save()  # Save experiment results

    saved = Experiment.load(exp.path)
    assert saved.hyperparameters == hyperparams
    assert [s for s, _ in saved.history("train_loss")] == list(range(20))
    losses = [v for _, v in saved.history("avg_epoch_train_loss")]
    assert len(losses) == 10 and losses[-1] < losses[0]
    assert json.loads((exp.path / "meta.json").read_text())["status"] == "finished"


def test_axon_seed_dynamic_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    import idrak.core.tensor as T
    from idrak.nn import Conv2d, Linear, Pipeline

    # Assume 'model' is an existing Pipeline (here: three layers, so model[2] is untouched)
    idrak.manual_seed(0)
    model = Pipeline(Conv2d(3, 64, kernel_size=3), Linear(10, 10), Linear(10, 4))
    third_before = model[2].weight.numpy().copy()

    # Original first layer
    print(f"Original first layer: {model[0]}")

    # Create a new layer with different parameters
    new_first_layer = Conv2d(3, 128, kernel_size=3)

    # --- Scenario 1: Swap and reset parameters of the *entire* pipeline ---
    print("\n--- Swapping layer and resetting ALL parameters ---")
    model[0] = new_first_layer
    model.reset_parameters()  # Re-initializes ALL layers in the pipeline
    print(f"New first layer after full reset: {model[0]}")
    assert model[0] is new_first_layer and model[0].weight.shape == (128, 3, 3, 3)
    assert not np.array_equal(model[2].weight.numpy(), third_before)  # all re-randomized

    # --- Scenario 2: Swap and *only* reset parameters of the new layer ---
    print("\n--- Swapping layer without full pipeline reset ---")
    third_kept = model[2].weight.numpy().copy()
    another_new_layer = Linear(10, 5)  # Assuming this fits the pipeline
    original_layer_at_idx = model[1]  # Save original to compare
    model[1] = another_new_layer
    if isinstance(model[1], T.Module):  # Check if it's a Module to reset
        model[1].reset_parameters()  # Only resets the new layer's parameters
    print(f"Layer at index 1 after swap (only new layer reset): {model[1]}")
    assert model[1] is another_new_layer and model[1] is not original_layer_at_idx
    np.testing.assert_array_equal(model[2].weight.numpy(), third_kept)  # untouched

    # --- Scenario 3: Freezing layers ---
    print("\n--- Freezing a layer ---")
    print(f"Requires grad for first layer before freeze: {model[0].params[0].requires_grad}")
    assert model[0].params[0].requires_grad
    model[0].freeze()  # Freeze the first layer
    print(f"Requires grad for first layer after freeze: {model[0].params[0].requires_grad}")
    assert not model[0].params[0].requires_grad
    assert all(not p.requires_grad for p in model[0].parameters())
    assert all(p.requires_grad for p in model[2].parameters())

    out = capsys.readouterr().out
    assert "Original first layer: Conv2d(3, 64" in out and "after freeze: False" in out


def test_abdou_torch_seed_mnist_loop() -> None:
    import numpy as np

    from idrak import MLP, Tensor, WAdam  # the seed: from abdou_torch import Tensor, MLP, WAdam

    # the data the seed assumes: MNIST-shaped batches (784 features, one-hot targets)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 64)
    features = rng.normal(size=(64, 784)).astype(np.float32) + np.eye(10, 784)[labels] * 3
    onehot = np.eye(10, dtype=np.float32)[labels]
    train_loader = [(features[i : i + 16], onehot[i : i + 16]) for i in range(0, 64, 16)]
    first = None

    # 1. Initialize a Deep MLP (784 -> 64 -> 64 -> 64 -> 10)
    model = MLP(784, [64, 64, 64, 10])
    optimizer = WAdam(model.parameters(), lr=0.0004, weight_decay=1e-4)

    # 2. Training Loop (Vectorized)
    for epoch in range(4):  # noqa: B007 (the seed never reads epoch)
        for batch_x, batch_y in train_loader:
            # Wrap numpy data in Tensors
            inputs = Tensor(batch_x)
            targets = Tensor(batch_y, requires_grad=False)

            # Forward pass & MSE Loss
            preds = model(inputs)
            loss = ((preds - targets) ** 2).sum()

            # Backward pass
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            first = loss.item() if first is None else first

    assert isinstance(optimizer, idrak.optim.AdamW)
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [64, 64, 64, 10]
    assert loss.item() < first


@pytest.mark.realdata
def test_readme_quickstart_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Quickstart code, exactly as written (two epochs on Fashion-MNIST)."""
    from _realdata import FASHION_DIR, need

    need(FASHION_DIR, "Fashion-MNIST", "train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("<!-- quickstart -->", 1)[1].split("<!-- /quickstart -->", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert blocks, "the README quickstart has no python code block"
    try:
        from threadpoolctl import threadpool_limits  # see test_examples.one_blas_thread
    except ImportError:  # pragma: no cover
        threadpool_limits = None
    namespace: dict[str, Any] = {"__name__": "readme_quickstart"}
    limits = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else None
    try:
        for block in blocks:
            exec(compile(block, "README.md:quickstart", "exec"), namespace)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    history = namespace["history"]
    assert history.num_epochs == 2 and history["eval_accuracy"][-1] > 0.8
    assert "epoch 2/2" in capsys.readouterr().out
