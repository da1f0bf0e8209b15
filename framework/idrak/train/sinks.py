"""Logging a run to the tools people already use: TensorBoard and MLflow, as Runner callbacks.

Both are optional extras and import their library only when the callback is made:

* :class:`TensorBoardLogger` (``pip install 'idrak[tensorboard]'``) writes TensorBoard event
  files through tensorboardX: every per-epoch History value as a scalar (tag = its name, step =
  the epoch, from 1), the config as text. ``tensorboard --logdir runs`` shows them.
* :class:`MLflowLogger` (``pip install 'idrak[mlflow]'``) logs the config as MLflow params and
  every per-epoch value as an MLflow metric (step = the epoch, from 1) in one MLflow run, which
  ends with status FINISHED (FAILED if training raised).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idrak.train.callbacks import Callback

if TYPE_CHECKING:
    from idrak.train.history import History
    from idrak.train.runner import Runner

__all__ = ["MLflowLogger", "TensorBoardLogger"]


def _numbers(logs: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in logs.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(float(v))
    }


def _config(runner: Runner) -> dict[str, Any]:
    to_dict = getattr(runner.config, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else {}


class TensorBoardLogger(Callback):
    """Write the run's per-epoch values as TensorBoard scalars (tensorboardX event files).

    Args:
        log_dir: the event-file directory (default: ``runs/tensorboard/<time>``, tensorboardX's
            choice of a fresh directory under ``runs/``).
        flush_secs: how often the writer flushes.

    Raises:
        ImportError: tensorboardX is missing (says which extra to install).
    """

    def __init__(self, log_dir: str | os.PathLike[str] | None = None, flush_secs: int = 10) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                "TensorBoardLogger needs tensorboardX: pip install 'idrak[tensorboard]'"
            ) from None
        self._writer_class = SummaryWriter
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.flush_secs = flush_secs
        self.writer: Any = None

    def on_train_begin(self, runner: Runner) -> None:
        kwargs: dict[str, Any] = {"flush_secs": self.flush_secs}
        if self.log_dir is not None:
            kwargs["logdir"] = str(self.log_dir)
        self.writer = self._writer_class(**kwargs)
        self.log_dir = Path(self.writer.logdir)
        config = _config(runner)
        if config:
            text = json.dumps(config, indent=2, sort_keys=True, default=repr)
            self.writer.add_text("config", f"```\n{text}\n```", 0)

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        for name, value in _numbers(logs).items():
            self.writer.add_scalar(name, value, epoch + 1)
        self.writer.flush()

    def on_train_end(self, runner: Runner, history: History) -> None:
        if self.writer is not None:
            self.writer.close()


class MLflowLogger(Callback):
    """Log the config as MLflow params and per-epoch values as MLflow metrics.

    Args:
        experiment_name: the MLflow experiment (created if missing; default MLflow's default).
        run_name: the MLflow run's name.
        tracking_uri: where MLflow stores runs (default: ``$MLFLOW_TRACKING_URI`` or MLflow's
            default, ``./mlruns``).

    Attributes:
        run_id: the MLflow run's id, once training has begun.

    Raises:
        ImportError: mlflow is missing (says which extra to install).
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        run_name: str | None = None,
        tracking_uri: str | None = None,
    ) -> None:
        try:
            import mlflow
        except ImportError:
            raise ImportError("MLflowLogger needs mlflow: pip install 'idrak[mlflow]'") from None
        self._mlflow = mlflow
        self.experiment_name, self.run_name, self.tracking_uri = (
            experiment_name,
            run_name,
            tracking_uri,
        )
        self.run_id: str | None = None
        self._finished = False

    def on_train_begin(self, runner: Runner) -> None:
        mlflow = self._mlflow
        if self.tracking_uri is not None:
            mlflow.set_tracking_uri(self.tracking_uri)
        if self.experiment_name is not None:
            mlflow.set_experiment(self.experiment_name)
        run = mlflow.start_run(run_name=self.run_name)
        self.run_id = run.info.run_id
        params = {k: json.dumps(v, default=repr) for k, v in _config(runner).items()}
        if params:
            mlflow.log_params(params)

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        values = _numbers(logs)
        if values:
            self._mlflow.log_metrics(values, step=epoch + 1)

    def on_train_end(self, runner: Runner, history: History) -> None:
        if self.run_id is not None and not self._finished:
            self._mlflow.end_run(status="FINISHED")
            self._finished = True
