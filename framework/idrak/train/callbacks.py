"""Callbacks: code the :class:`~idrak.train.Runner` calls at fixed points of the loop.

Order of calls in ``Runner.train``::

    on_train_begin(runner)
    for each epoch:
        on_epoch_begin(runner, epoch)
        for each batch: (step, backward, optimizer step)  on_batch_end(runner, state, logs)
        (evaluation)
        on_epoch_end(runner, epoch, logs)      # logs: {"train_loss": ..., "eval_accuracy": ...}
    on_train_end(runner, history)

A callback stops training by setting ``runner.stop_training = True``.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from idrak.train.history import History
    from idrak.train.runner import Runner
    from idrak.train.state import RunnerState

__all__ = [
    "Callback",
    "EarlyStopping",
    "ExperimentLogger",
    "LambdaCallback",
    "ModelCheckpoint",
    "ProgressLogger",
]

Mode = Literal["auto", "min", "max"]
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "nll", "perplexity")


class Callback:
    """Base class: override any of the hooks; each does nothing by default."""

    def on_train_begin(self, runner: Runner) -> None:
        """Before the first epoch (after a resumed checkpoint is loaded)."""

    def on_epoch_begin(self, runner: Runner, epoch: int) -> None:
        """Before the first batch of ``epoch`` (0-based)."""

    def on_batch_end(self, runner: Runner, state: RunnerState, logs: dict[str, float]) -> None:
        """After each optimizer step; ``logs`` holds ``loss`` (a float) of that batch."""

    def on_eval_begin(self, runner: Runner, epoch: int, batches: int | None) -> None:
        """Before evaluating ``epoch``; ``batches`` is the eval loader's length (None: unknown)."""

    def on_eval_batch_end(self, runner: Runner, state: RunnerState) -> None:
        """After each evaluation batch."""

    def on_eval_end(self, runner: Runner, epoch: int) -> None:
        """After the evaluation of ``epoch`` (before :meth:`on_epoch_end`)."""

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        """After training and evaluation of ``epoch``; ``logs`` are the epoch's History values."""

    def on_train_end(self, runner: Runner, history: History) -> None:
        """After the last epoch, or after a callback stopped training."""


def check_callbacks(callbacks: Iterable[Any]) -> list[Callback]:
    out = list(callbacks)
    for cb in out:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"callbacks must be idrak.train.Callback instances, got {type(cb).__name__} "
                "(wrap functions in LambdaCallback)"
            )
    return out


class LambdaCallback(Callback):
    """A callback made of functions with the hooks' signatures (any subset).

    Example: ``LambdaCallback(on_epoch_end=lambda runner, epoch, logs: print(epoch, logs))``.

    Raises:
        TypeError: a hook that is not callable.
    """

    def __init__(
        self,
        on_train_begin: Callable[..., Any] | None = None,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_batch_end: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
    ) -> None:
        hooks = {
            "on_train_begin": on_train_begin,
            "on_epoch_begin": on_epoch_begin,
            "on_batch_end": on_batch_end,
            "on_epoch_end": on_epoch_end,
            "on_train_end": on_train_end,
        }
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback {name} must be callable, got {fn!r}")
            setattr(self, name, fn)


def _resolve_mode(monitor: str, mode: Mode) -> Literal["min", "max"]:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "min" if any(k in monitor.lower() for k in _LOWER_IS_BETTER) else "max"


def _monitored(logs: Mapping[str, float], monitor: str, who: str) -> float:
    if monitor not in logs:
        raise KeyError(
            f"{who} monitors {monitor!r}, which this run does not record; recorded: "
            f"{sorted(logs)} (eval_* needs an eval_dataset)"
        )
    return float(logs[monitor])


class _Monitor(Callback):
    """Tracks the best value of one logged metric."""

    def __init__(self, monitor: str, mode: Mode, min_delta: float) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be a metric name such as 'eval_loss', got {monitor!r}")
        if not isinstance(min_delta, int | float) or min_delta < 0:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode)
        self.min_delta = float(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: a History name, e.g. ``"eval_loss"`` or ``"eval_accuracy"``.
        patience: epochs without improvement before stopping (``>= 0``).
        mode: ``"min"``, ``"max"`` or ``"auto"`` (min for names with loss / error / mse ...).
        min_delta: the least change that counts as an improvement.
        restore_best_weights: load the model weights of the best epoch when training ends.

    Attributes:
        best, best_epoch: the best value seen and its epoch; ``stopped_epoch``: the epoch after
        which training stopped (None if it ran to the end).

    Raises:
        ValueError: a negative ``patience`` / ``min_delta`` or an unknown ``mode``.
        KeyError: (during training) ``monitor`` is not recorded by the run.
    """

    def __init__(
        self,
        monitor: str = "eval_loss",
        patience: int = 3,
        mode: Mode = "auto",
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch: int | None = None
        self._best_weights: dict[str, Any] | None = None

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = runner.model_state_numpy()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            runner.stop_training = True
            runner.log(
                f"early stopping after epoch {epoch + 1}: {self.monitor} has not improved on "
                f"{self.best:.4g} (epoch {self.best_epoch + 1}) for {self.wait} epochs"
            )

    def on_train_end(self, runner: Runner, history: History) -> None:
        if self.restore_best_weights and self._best_weights is not None:
            runner.load_model_state_numpy(self._best_weights)


class ModelCheckpoint(_Monitor):
    """Save a checkpoint (model, optimizer, epoch, history) after epochs, atomically.

    Args:
        path: the file (``.safetensors``); may hold format fields filled from the epoch's logs,
            e.g. ``"ckpt/epoch{epoch:02d}-{eval_loss:.3f}.safetensors"`` (``epoch`` is 1-based).
        monitor: the History name compared between epochs.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        save_best_only: write only when ``monitor`` improved; else after every epoch.
        min_delta: the least change that counts as an improvement.

    Attributes:
        best, best_epoch; ``best_path``: the last file written for an improvement;
        ``saved``: every path written.

    Raises:
        KeyError: (during training) ``monitor`` is not recorded, or ``path`` names a field
            that is not (only when ``save_best_only`` needs it / the path needs it).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "eval_loss",
        mode: Mode = "auto",
        save_best_only: bool = True,
        min_delta: float = 0.0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.path = os.fspath(path)
        self.save_best_only = save_best_only
        self.best_path: Path | None = None
        self.saved: list[Path] = []

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        improved = False
        if self.save_best_only or self.monitor in logs:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            improved = self._improved(value)
            if improved:
                self.best, self.best_epoch = value, epoch
        if self.save_best_only and not improved:
            return
        try:
            path = Path(self.path.format(epoch=epoch + 1, **logs))
        except KeyError as exc:
            raise KeyError(
                f"ModelCheckpoint path {self.path!r} names {exc}, which is not recorded; "
                f"available: ['epoch', {', '.join(map(repr, sorted(logs)))}]"
            ) from None
        runner.save_checkpoint(path)
        self.saved.append(path)
        if improved:
            self.best_path = path


class ProgressLogger(Callback):
    """Shows progress: a tqdm bar per epoch when ``stream`` is a terminal, else one line per
    epoch (on stdout); nothing when ``quiet``. The Runner adds one itself."""

    def __init__(self, quiet: bool = False, stream: Any = None) -> None:
        self.quiet = quiet
        self.stream = stream
        self._bar: Any = None
        self._t0 = 0.0

    def _tty(self) -> bool:
        stream = self.stream if self.stream is not None else sys.stderr
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())

    def on_epoch_begin(self, runner: Runner, epoch: int) -> None:
        self._t0 = time.perf_counter()
        if self.quiet or not self._tty():
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=runner.batches_per_epoch,
            desc=f"epoch {epoch + 1}/{runner.total_epochs}",
            file=self.stream or sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def on_batch_end(self, runner: Runner, state: RunnerState, logs: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if state.batch_idx % 10 == 0:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_eval_begin(self, runner: Runner, epoch: int, batches: int | None) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        if self.quiet or not self._tty():
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=batches,
            desc=f"eval {epoch + 1}/{runner.total_epochs}",
            file=self.stream or sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def on_eval_batch_end(self, runner: Runner, state: RunnerState) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def on_eval_end(self, runner: Runner, epoch: int) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.quiet:
            return
        shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch_time", "lr"))
        runner.log(
            f"epoch {epoch + 1}/{runner.total_epochs}  {shown}  "
            f"({time.perf_counter() - self._t0:.1f}s)"
        )

    def on_train_end(self, runner: Runner, history: History) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class ExperimentLogger(Callback):
    """Logs to an :class:`~idrak.train.Experiment`: the config as hyperparameters at the start,
    every epoch's values (step = epoch, 0-based), and the final checkpoint as the artifact
    ``checkpoint.safetensors``. The Runner adds one when given ``experiment=``, ahead of the
    user's callbacks, so an epoch is recorded before any of them can end the process.

    Nothing is lost or doubled across a kill and a resume: at the start, every epoch of the
    Runner's history (restored from the checkpoint) that the experiment lacks is logged, and a
    value the experiment already holds for a ``(name, epoch)`` is not logged again."""

    def __init__(self, experiment: Any, checkpoint_name: str = "checkpoint.safetensors") -> None:
        self.experiment = experiment
        self.checkpoint_name = checkpoint_name

    def on_train_begin(self, runner: Runner) -> None:
        for key, value in runner.config.to_dict().items():
            try:
                self.experiment.log_hyperparameter(key, value)
            except TypeError:  # not JSON-serializable: record its repr instead
                self.experiment.log_hyperparameter(key, repr(value))
        history = runner.history
        for i, epoch in enumerate(history.epochs):  # epochs a kill kept out of the experiment
            self._log(epoch, {k: v[i] for k, v in history.items() if i < len(v)})

    def _log(self, epoch: int, logs: Mapping[str, Any]) -> None:
        have = self.experiment.metrics
        for k, v in logs.items():
            if not isinstance(v, float) or math.isnan(v):
                continue
            if any(step == epoch for step, _ in have.get(k, ())):
                continue  # recorded before a kill; the resumed epoch reproduces it
            self.experiment.log_metric(k, v, step=epoch)

    def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
        self._log(epoch, logs)

    def on_train_end(self, runner: Runner, history: History) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            written = runner.save_checkpoint(Path(tmp) / self.checkpoint_name)
            self.experiment.log_artifact(written)  # copied in atomically, base name kept
        self.experiment.save()
