"""TensorBoard and MLflow callbacks, checked by reading back with each tool's own reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idrak
from idrak import nn
from idrak.data import TensorDataset


def _train(callback: Any, epochs: int = 2) -> idrak.train.History:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    data = TensorDataset(x, (x[:, 0] > 0).astype(np.int64))
    config = idrak.Config(batch_size=8, epochs=epochs, learning_rate=0.1, optimizer="SGD")

    def step(state: Any) -> Any:
        xb, yb = state.batch
        logits = state.net(xb)
        return {"loss": idrak.functional.cross_entropy(logits, yb), "y_pred": logits}

    runner = idrak.Runner(config=config, model=nn.Linear(4, 2), quiet=True)
    return runner.train(step, data, data, metrics=[idrak.metrics.Accuracy()], callbacks=[callback])


def test_tensorboard_event_files_read_back(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    loader = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    from idrak.train import TensorBoardLogger

    history = _train(TensorBoardLogger(tmp_path / "tb"))
    acc = loader.EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train_loss", "eval_loss", "eval_accuracy", "lr", "epoch_time"} <= tags
    events = acc.Scalars("eval_loss")
    assert [e.step for e in events] == [1, 2]
    np.testing.assert_allclose([e.value for e in events], history["eval_loss"], rtol=1e-6)


def test_mlflow_run_reads_back(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from idrak.train import MLflowLogger

    uri = (tmp_path / "mlruns").as_uri()
    logger = MLflowLogger(experiment_name="idrak-test", run_name="sinks", tracking_uri=uri)
    history = _train(logger)
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.data.params["batch_size"] == "8"
    points = client.get_metric_history(logger.run_id, "eval_loss")
    assert [p.step for p in points] == [1, 2]
    np.testing.assert_allclose([p.value for p in points], history["eval_loss"], rtol=1e-6)


def test_missing_tools_say_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from idrak.train import MLflowLogger, TensorBoardLogger

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r"idrak\[tensorboard\]"):
        TensorBoardLogger()
    with pytest.raises(ImportError, match=r"idrak\[mlflow\]"):
        MLflowLogger()
