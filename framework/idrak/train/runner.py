"""``Runner``: the loops around a user's step function (train, evaluate, predict, resume).

The user writes one function, ``step(state) -> {"loss": Tensor, "y_pred": Tensor}``; the Runner
owns everything else: batching, ``backward``, gradient clipping, the optimizer and scheduler
steps, metrics, evaluation under ``no_grad``, callbacks, progress output, checkpoints and
experiment logging. See ``docs/training.md``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from idrak.train.callbacks import Callback, ExperimentLogger, ProgressLogger, check_callbacks
from idrak.train.config import Config
from idrak.train.history import History
from idrak.train.registry import build_optimizer, build_scheduler, current_lr, step_scheduler
from idrak.train.runner_loop import RunnerLoop, StepFn
from idrak.train.state import (
    RunnerState,
    _is_tensor,
    batch_inputs,
    check_metrics,
    read_checkpoint,
    resolve_device,
    to_device,
    to_tensors,
    write_checkpoint,
)

__all__ = ["Runner"]


def _default_jit() -> bool:
    """Whether a Runner jits its training step when neither it nor the config says
    (``IDRAK_JIT=0`` turns it off)."""
    return os.environ.get("IDRAK_JIT", "1").strip().lower() not in ("0", "false", "no", "")


class Runner(RunnerLoop):
    """Runs training, evaluation and inference for a model, driven by a :class:`Config`.

    Args:
        config: a :class:`Config`, a dict, a dataclass, or a plain class / instance whose
            attributes are the settings (see :meth:`Config.from_object`). Keys the Runner reads
            (all optional): ``epochs`` (1), ``batch_size`` (32), ``optimizer`` ("Adam"),
            ``learning_rate`` (1e-3), ``weight_decay``, ``momentum``, ``betas``, ``eps``,
            ``nesterov``, ``optimizer_kwargs`` (a table), ``lr_scheduler`` (a scheduler class
            name, or a table with ``name`` and its arguments), ``lr_scheduler_kwargs``,
            ``lr_scheduler_interval`` ("epoch" or "step"), ``lr_scheduler_monitor``,
            ``grad_clip_norm``, ``seed`` (data shuffling), ``drop_last``, ``eval_batch_size``,
            ``jit`` (True unless ``IDRAK_JIT=0``).
        model: an ``idrak.nn.Module`` (``Net``, ``Pipeline``, ...). Default: built from the config
            by :func:`idrak.train.build_net` (``block_type`` or ``layers`` keys).
        optimizer: an ``idrak.optim`` optimizer; default: built from the config at ``train``.
        device: where batches (and the model) go; default: the device of the model's first
            parameter, else idrak's default device.
        experiment: an :class:`~idrak.train.Experiment` that receives the config, every
            epoch's values and the final checkpoint.
        callbacks: :class:`~idrak.train.callbacks.Callback` objects, called in order.
        quiet: print nothing (no progress bar, no per-epoch lines).
        lr_scheduler: a scheduler object (wins over the config's ``lr_scheduler``).
        jit: run each training step (``zero_grad``, the step function, ``backward``,
            clipping, ``optimizer.step()``) through :func:`idrak.jit`: traced once per
            signature (batch shapes, flags...; not the learning rate, a replay input), then
            replayed; a step that cannot be replayed runs plain, with one warning naming why.
            Default: the config's ``jit`` key, else True (``IDRAK_JIT=0`` turns the default
            off). Metrics, ``.item()`` reads, the scheduler and callbacks stay outside;
            evaluation is not jitted. See ``docs/training.md``.
        distributed: data-parallel training over the processes of ``mpirun`` (or of
            ``idrak.distributed.launch``): DDP, a DistributedSampler, output and checkpoints on
            rank 0 only, jit off. Default: the config's ``distributed`` key (False). See
            :mod:`idrak.train.distributed` and ``docs/distributed.md``.
        extra: the config keys of your own (names, or ``{name: type}``): every other key must
            be one the Runner, the optimizer or the built-in blocks read
            (:data:`idrak.train.config_check.KNOWN_KEYS`), so a typo is an error.

    Attributes:
        model (alias ``net``), config, optimizer, lr_scheduler, device, history (a
        :class:`History`), epoch (epochs completed), step (optimizer steps taken),
        stop_training (set True by a callback to stop after the current epoch).

    Raises:
        TypeError: a model that is not callable or has no ``parameters()``.
        ConfigError: a config the schema rejects, an unknown key (with a "did you mean"), or a
            value of the wrong type or range (the key, value and expectation named).
    """

    def __init__(
        self,
        config: Any = None,
        model: Any = None,
        optimizer: Any = None,
        device: Any = None,
        experiment: Any = None,
        callbacks: Iterable[Callback] = (),
        quiet: bool = False,
        lr_scheduler: Any = None,
        jit: bool | None = None,
        extra: Iterable[str] | Mapping[str, Any] | None = None,
        distributed: bool | None = None,
    ) -> None:
        from idrak.train.config_check import check_training_config

        self.config: Config = Config() if config is None else Config.from_object(config)
        self.config.validate()
        check_training_config(self.config, extra)
        if model is None:
            from idrak.train.registry import build_net

            model = build_net(self.config)
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(
                f"model must be an idrak.nn.Module (callable, with parameters()), got "
                f"{type(model).__name__}"
            )
        self.model = model
        self.device = resolve_device(model, device)
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.experiment = experiment
        self.callbacks: list[Callback] = check_callbacks(callbacks)
        self.quiet = bool(quiet)
        self.history = History()
        self.epoch = 0
        self.step = 0
        self.stop_training = False
        self.total_epochs = 0
        self.batches_per_epoch: int | None = None
        self.training_step_fn: StepFn | None = None
        self._pending: tuple[Any, Any] | None = None  # checkpoint state for a later scheduler
        use_jit = self.config.get("jit", _default_jit()) if jit is None else jit
        if not isinstance(use_jit, bool):
            raise ValueError(f"jit must be True or False, got {use_jit!r}")
        self.jit = use_jit
        # the jitted training step and what it was made for: (step fn, optimizer, clip)
        self._jitted: tuple[tuple[Any, ...], Any] | None = None
        self._jit_state: RunnerState | None = None  # the state the jitted step passes on
        from idrak.train import distributed as _distributed

        self.distributed = _distributed.setup(self, distributed)  # None: one process

    @property
    def net(self) -> Any:
        """The model (the seed's name for it)."""
        return self.model

    def log(self, message: str) -> None:
        """Print one line to stdout unless quiet (above a progress bar if one is shown)."""
        if self.quiet:
            return
        try:
            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stdout)
        except ImportError:  # pragma: no cover - tqdm is a dependency
            print(message, flush=True)

    # training ------------------------------------------------------------------------------
    def train(
        self,
        training_step_fn: StepFn,
        train_dataset: Any,
        eval_dataset: Any = None,
        metrics: Sequence[Any] = (),
        epochs: int | None = None,
        *,
        eval_step_fn: StepFn | None = None,
        resume_from: str | os.PathLike[str] | None = None,
        callbacks: Iterable[Callback] = (),
    ) -> History:
        """Train until ``epochs`` epochs are complete (counting epochs of a resumed run).

        Args:
            training_step_fn: ``f(state) -> {"loss": Tensor, "y_pred": Tensor, ...}`` (or just
                the loss Tensor). ``loss`` must be a scalar Tensor that requires grad. Metrics
                get ``y_pred`` and the target: the dict's ``"target"`` if present, else
                ``batch[1]`` of a tuple batch or ``batch["y"]`` (``target``, ``label``...) of a
                dict batch. Other scalar entries are averaged per epoch into the History.
            train_dataset: a DataLoader (used as is), a Dataset (wrapped in a DataLoader with
                ``config.batch_size``, shuffled with ``config.seed``), a tuple of arrays
                ``(X, Y)`` (made a TensorDataset, then as a Dataset), a list of ready-made
                batches ``[(x, y), ...]`` (used as is every epoch) or any iterable of batches (an
                iterator is used up after one epoch: a second one raises ValueError).
            eval_dataset: evaluated after every epoch with the same step function (or
                ``eval_step_fn``) under ``no_grad``, model in eval mode, ``state.training`` False.
            metrics: streaming metrics (``idrak.metrics``); copies are updated per phase, so
                the History gets ``train_<name>`` and ``eval_<name>``.
            epochs: the total number of epochs; default ``config.epochs`` (else 1).
            eval_step_fn: a different step for evaluation.
            resume_from: a checkpoint of :meth:`save_checkpoint` to continue from.
            callbacks: more callbacks for this call only.

        Returns:
            The run's :class:`History` (also ``runner.history``).

        Raises:
            TypeError / ValueError: a bad step function result, dataset, metric or config value;
                the messages name the offending value.
        """
        if not callable(training_step_fn):
            raise TypeError(f"training_step_fn must be callable(state), got {training_step_fn!r}")
        total = self.config.get("epochs", 1) if epochs is None else epochs
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"epochs must be an int >= 0, got {total!r}")
        self.training_step_fn = training_step_fn
        eval_fn = eval_step_fn or training_step_fn
        metric_list = check_metrics(metrics)
        train_loader = self._loader(train_dataset, train=True, what="train_dataset")
        eval_loader = self._loader(eval_dataset, train=False, what="eval_dataset")
        if self.optimizer is None:
            self.optimizer = build_optimizer(self.config, self.model)
        interval = self.config.get("lr_scheduler_interval", "epoch")
        if interval not in ("epoch", "step"):
            raise ValueError(f"lr_scheduler_interval must be 'epoch' or 'step', got {interval!r}")
        if self.lr_scheduler is None and self.config.get("lr_scheduler"):
            steps = _len_or_none(train_loader)
            t_max = total if interval == "epoch" else total * (steps or 1)
            self.lr_scheduler = build_scheduler(self.config, self.optimizer, t_max)
        if resume_from is not None:
            self.load_checkpoint(resume_from)
        if self._pending is not None and self.lr_scheduler is not None:
            # a new scheduler resets the learning rate: put the saved optimizer state back first
            opt_state, sched_state = self._pending
            if opt_state is not None:
                self.optimizer.load_state_dict(to_tensors(opt_state, self.device))
            self.lr_scheduler.load_state_dict(sched_state)
            self._pending = None
        self.total_epochs = total
        self.batches_per_epoch = _len_or_none(train_loader)
        self.stop_training = False
        cbs: list[Callback] = [ProgressLogger(self.quiet)]
        if self.experiment is not None:  # first: an epoch is recorded before user code runs
            cbs.append(ExperimentLogger(self.experiment))
        cbs += [*self.callbacks, *check_callbacks(callbacks)]
        if self.epoch >= total:
            warnings.warn(
                f"Runner.train: nothing to do, {self.epoch} of {total} epochs are done already "
                "(epochs counts the whole run; pass a larger epochs= to train further)",
                RuntimeWarning,
                stacklevel=2,
            )
        for cb in cbs:
            cb.on_train_begin(self)
        for epoch in range(self.epoch, total):
            for cb in cbs:
                cb.on_epoch_begin(self, epoch)
            t0 = time.perf_counter()
            lr = current_lr(self.optimizer)
            logs = _prefixed(
                "train",
                self._run(
                    training_step_fn,
                    train_loader,
                    metric_list,
                    training=True,
                    epoch=epoch,
                    callbacks=cbs,
                ),
            )
            if eval_loader is not None:
                for cb in cbs:
                    cb.on_eval_begin(self, epoch, _len_or_none(eval_loader))
                evaluated = self._run(
                    eval_fn, eval_loader, metric_list, training=False, epoch=epoch, callbacks=cbs
                )
                for cb in cbs:
                    cb.on_eval_end(self, epoch)
                logs.update(_prefixed("eval", evaluated))
            if lr is not None:
                logs["lr"] = lr
            logs["epoch_time"] = time.perf_counter() - t0
            if self.lr_scheduler is not None and interval == "epoch":
                step_scheduler(self.lr_scheduler, self.config, logs)
            self.history.record(epoch, logs)
            self.epoch = epoch + 1
            for cb in cbs:
                cb.on_epoch_end(self, epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(self, self.history)
        return self.history

    @property
    def jitted_step(self) -> Any:
        """The :class:`idrak.compile.tracing.Jitted` training step (``.stats``: traces, replays),
        or None
        when ``jit`` is off or nothing was trained yet."""
        return None if self._jitted is None else self._jitted[1]

    # evaluation and inference --------------------------------------------------------------
    def evaluate(
        self, dataset: Any, metrics: Sequence[Any] = (), step_fn: StepFn | None = None
    ) -> dict[str, Any]:
        """Run ``step_fn`` (default: the last training step) over ``dataset`` under ``no_grad``
        with the model in eval mode. Returns ``{"loss": mean, <metric name>: value, ...}``.

        Raises:
            ValueError: no step function given and ``train`` was never called.
        """
        fn = step_fn or self.training_step_fn
        if fn is None:
            raise ValueError("evaluate needs step_fn= (no training step has been run yet)")
        loader = self._loader(dataset, train=False, what="dataset")
        return self._run(fn, loader, check_metrics(metrics), training=False, epoch=self.epoch)

    def predict(self, dataset: Any, fn: Callable[[Any, Any], Any] | None = None) -> Any:
        """The model's outputs for every sample of ``dataset``, concatenated along dim 0.

        Each batch's input is ``batch[0]`` (tuple batches), ``batch["x"]`` (dict batches) or the
        batch itself; ``fn(model, x)`` replaces ``model(x)`` if given. Runs in eval mode under
        ``no_grad``; the training mode is restored afterwards.

        Returns:
            A Tensor ``(N, ...)`` on the runner's device.
        """
        import idrak

        loader = self._loader(dataset, train=False, what="dataset")
        was_training = bool(getattr(self.model, "training", True))
        self.model.eval()
        outputs = []
        try:
            with idrak.no_grad():
                for raw in loader:
                    x = batch_inputs(self._to_device(raw))
                    y = fn(self.model, x) if fn is not None else self.model(x)
                    outputs.append(np.asarray(y.numpy()))
        finally:
            self.model.train(was_training)
        if not outputs:
            raise ValueError("predict: the dataset yielded no batches")
        return idrak.tensor(np.concatenate(outputs), device=self.device)

    # checkpoints ---------------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path:
        """Write model, optimizer and scheduler state, epoch, step, history, config and the
        random generator's state to a safetensors file (temp file + rename: never half-written).

        Returns the path written.
        """
        import idrak.core.random

        if self.distributed is not None and not self.distributed.is_main:
            return Path(path)  # rank 0 writes the one checkpoint every rank resumes from
        payload: dict[str, Any] = {
            "format": 1,
            "epoch": self.epoch,
            "step": self.step,
            "model": self.model.state_dict(),
            "history": self.history.to_dict(),
            "config": self.config.to_dict(),
            "rng": list(idrak.core.random.default_generator.get_state()),
        }
        if self.optimizer is not None and hasattr(self.optimizer, "state_dict"):
            payload["optimizer"] = self.optimizer.state_dict()
        if self.lr_scheduler is not None and hasattr(self.lr_scheduler, "state_dict"):
            payload["lr_scheduler"] = self.lr_scheduler.state_dict()
        return write_checkpoint(Path(path), payload)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Restore what :meth:`save_checkpoint` wrote; training continues at the saved epoch.

        Returns the checkpoint's contents (tensors as NumPy arrays).

        Raises:
            FileNotFoundError, ValueError: a missing file or one that is not a checkpoint.
            idrak.nn.StateDictError: weights whose names or shapes do not fit the model.
        """
        import idrak.core.random

        ckpt = read_checkpoint(Path(path), self.device)
        self.model.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:
            if self.optimizer is None:
                self.optimizer = build_optimizer(self.config, self.model)
            self.optimizer.load_state_dict(to_tensors(ckpt["optimizer"], self.device))
        if "lr_scheduler" in ckpt:
            if self.lr_scheduler is not None:
                self.lr_scheduler.load_state_dict(ckpt["lr_scheduler"])
            else:  # built by train() from the config; restored there (see _restore_pending)
                self._pending = (ckpt.get("optimizer"), ckpt["lr_scheduler"])
        self.epoch, self.step = int(ckpt["epoch"]), int(ckpt["step"])
        self.history = History.from_dict(ckpt["history"])
        if "rng" in ckpt:
            idrak.core.random.default_generator.set_state(tuple(ckpt["rng"]))
        return ckpt

    @classmethod
    def resume(cls, path: str | os.PathLike[str], model: Any = None, **kwargs: Any) -> Runner:
        """A Runner restored from a checkpoint: the config saved in it (unless ``config=`` is
        given), ``model`` (default: rebuilt from that config with ``build_net``), then weights,
        optimizer, epoch and history. Other ``kwargs`` go to :class:`Runner`; continue with
        ``runner.train(...)``.
        """
        ckpt = read_checkpoint(Path(path))
        kwargs.setdefault("config", ckpt.get("config") or {})
        runner = cls(model=model, **kwargs)
        runner.load_checkpoint(path)
        return runner

    # helpers for callbacks -----------------------------------------------------------------
    def model_state_numpy(self) -> dict[str, np.ndarray]:
        """A copy of the model's state_dict as NumPy arrays."""
        return {k: np.array(v.numpy()) for k, v in self.model.state_dict().items()}

    def load_model_state_numpy(self, state: Mapping[str, np.ndarray]) -> None:
        """Load a :meth:`model_state_numpy` copy back into the model."""
        self.model.load_state_dict(dict(state))

    def _loader(self, dataset: Any, *, train: bool, what: str) -> Any:
        if dataset is None:
            return None
        from idrak.data import DataLoader

        if isinstance(dataset, DataLoader):
            return dataset
        if _is_array_tuple(dataset):  # Keras-style (X, Y): arrays sharing their first dimension
            from idrak.data import TensorDataset

            dataset = TensorDataset(*dataset)
        elif _is_batch_list(dataset):  # ready-made batches: used as they are, every epoch
            return dataset
        if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
            bs = self.config.get("batch_size", 32)
            if not train:
                bs = self.config.get("eval_batch_size", bs)
            if train and self.distributed is not None:
                from idrak.train.distributed import sampler_for

                return DataLoader(
                    dataset, batch_size=bs, sampler=sampler_for(self, dataset), device=self.device
                )
            return DataLoader(
                dataset,
                batch_size=bs,
                shuffle=train,
                seed=self.config.get("seed"),
                drop_last=bool(self.config.get("drop_last", False)) and train,
                device=self.device,
            )
        if hasattr(dataset, "__iter__"):
            return dataset
        raise TypeError(
            f"{what} must be a DataLoader, a Dataset (len and indexing) or an iterable of "
            f"batches, got {type(dataset).__name__}"
        )

    def _to_device(self, batch: Any) -> Any:
        return to_device(batch, self.device)

    def __repr__(self) -> str:
        return (
            f"Runner(model={type(self.model).__name__}, device={self.device}, "
            f"epoch={self.epoch}, step={self.step})"
        )


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{k}": v for k, v in values.items()}


def _leading(x: Any) -> int | None:
    """The first dimension of an array or Tensor (``None`` for anything else or a 0-d one)."""
    shape = getattr(x, "shape", None) if (isinstance(x, np.ndarray) or _is_tensor(x)) else None
    return int(shape[0]) if shape else None


def _is_array_tuple(data: Any) -> bool:
    """``(X, Y, ...)``: a tuple of at least two arrays or Tensors with one common first size."""
    if not isinstance(data, tuple) or len(data) < 2:
        return False
    sizes = {_leading(a) for a in data}
    return len(sizes) == 1 and None not in sizes


def _is_batch_list(data: Any) -> bool:
    """A list whose first element is a batch: a tuple/list/dict of arrays or Tensors, all at
    least 1-d with one common first size. A sample ``(image, label)`` has a 0-d label (or sizes
    that differ) and so reads as a dataset of samples instead."""
    if not isinstance(data, list) or not data:
        return False
    first = data[0]
    parts = list(first.values()) if isinstance(first, Mapping) else first
    if not isinstance(parts, tuple | list) or not parts:
        return False
    sizes = {_leading(a) for a in parts}
    return len(sizes) == 1 and None not in sizes


def _len_or_none(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None
