"""The loop inside :meth:`Runner.train <idrak.train.Runner.train>`: one pass over a loader, the
training step (``zero_grad``, the step function, ``backward``, clipping, ``optimizer.step()``)
and its :func:`idrak.jit` form.

:class:`RunnerLoop` is a mixin of :class:`~idrak.train.Runner` (its only subclass): the methods
here read and update the Runner's attributes, declared below for the type checker only (the
class that runs holds just the methods). The epoch loop, evaluation, inference and checkpoints
stay in :mod:`idrak.train.runner`. See ``docs/training.md``.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from idrak.compile.state import JitError
from idrak.train.callbacks import Callback
from idrak.train.state import (
    RunnerState,
    batch_size,
    check_outputs,
    clip_gradients,
    metric_value,
    scalar_outputs,
    update_metrics,
)

if TYPE_CHECKING:
    from idrak.train.config import Config
    from idrak.train.distributed import DistributedState
    from idrak.train.runner import Runner

__all__ = ["RunnerLoop", "StepFn"]

StepFn = Callable[[RunnerState], Any]


class RunnerLoop:
    """The per-pass loop and the (jitted) training step of :class:`~idrak.train.Runner`.

    ``_run`` makes one pass over a loader (training or evaluation), ``_train_step`` is one
    optimizer step, ``_jitted_step`` its :func:`idrak.jit` recording (kept across epochs) and
    ``_jit_off`` the fallback to plain steps when a step cannot be replayed (the recording is
    :attr:`Runner.jitted_step <idrak.train.Runner.jitted_step>`).
    """

    if TYPE_CHECKING:
        # the Runner's attributes and helper these methods use (set in Runner.__init__)
        model: Any
        config: Config
        device: Any
        optimizer: Any
        lr_scheduler: Any
        step: int
        jit: bool
        distributed: DistributedState | None
        _jitted: tuple[tuple[Any, ...], Any] | None
        _jit_state: RunnerState | None

        def _to_device(self, batch: Any) -> Any: ...

    def _run(
        self,
        fn: StepFn,
        loader: Any,
        metrics: list[Any],
        *,
        training: bool,
        epoch: int,
        callbacks: Sequence[Callback] = (),
    ) -> dict[str, Any]:
        """One pass over ``loader``; returns ``{"loss": mean, <metric>: value, <extra>: mean}``."""
        import idrak

        runner = cast("Runner", self)  # the Runner itself, for the state and the callbacks
        if hasattr(loader, "set_epoch") and training:
            loader.set_epoch(epoch)  # the shuffle of epoch e depends only on (seed, e): resumable
        metrics = [copy.deepcopy(m) for m in metrics]
        for m in metrics:
            m.reset()
        was_training = bool(getattr(self.model, "training", True))
        if hasattr(self.model, "train"):
            self.model.train(training)
        state = RunnerState(
            self.model if self.distributed is None else self.distributed.ddp,
            self.config,
            self.device,
            self.optimizer,
            runner,
            epoch=epoch,
            step=self.step,
            training=training,
        )
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        clip = self.config.get("grad_clip_norm")
        per_step = self.lr_scheduler is not None and (
            self.config.get("lr_scheduler_interval", "epoch") == "step"
        )
        grad_ctx = idrak.enable_grad() if training else idrak.no_grad()
        jitted = self._jitted_step(fn, clip, state) if training and self.jit else None
        try:
            with grad_ctx:
                seen = 0
                for i, raw in enumerate(loader):
                    seen += 1
                    state.batch, state.batch_idx, state.step = self._to_device(raw), i, self.step
                    if jitted is not None:  # the same work, traced once, then replayed
                        try:
                            out = jitted(state.batch)
                        except JitError as e:  # raised before the optimizer step
                            self._jit_off(e)
                            jitted = None
                            out = self._train_step(fn, state, clip)
                    elif training:
                        out = self._train_step(fn, state, clip)
                    else:
                        out = check_outputs(fn(state), training)
                    state.outputs = out
                    if training:
                        if per_step:
                            self.lr_scheduler.step()
                        self.step += 1
                    n = batch_size(state.batch)
                    values = scalar_outputs(out)
                    for key, v in values.items():
                        sums[key] = sums.get(key, 0.0) + v * n
                        counts[key] = counts.get(key, 0) + n
                    if metrics:
                        update_metrics(metrics, out, state.batch)
                    if training:
                        logs = {"loss": values["loss"]}
                        for cb in callbacks:
                            cb.on_batch_end(runner, state, logs)
                    else:
                        for cb in callbacks:
                            cb.on_eval_batch_end(runner, state)
        finally:
            if hasattr(self.model, "train"):
                self.model.train(was_training)
        if not seen:
            raise ValueError(
                f"the {'train' if training else 'eval'} dataset yielded no batches in epoch "
                f"{epoch + 1} (an iterator is used up after one pass: pass a DataLoader, a "
                "Dataset or a re-iterable object)"
            )
        result: dict[str, Any] = {k: sums[k] / counts[k] for k in sums}
        for m in metrics:
            result[m.name] = metric_value(m)
        return result

    def _train_step(self, fn: StepFn, state: RunnerState, clip: Any) -> dict[str, Any]:
        """zero_grad, the step function, backward, clipping, optimizer step; the outputs."""
        self.optimizer.zero_grad()
        out = check_outputs(fn(state), True)
        out["loss"].backward()
        if clip is not None:
            clip_gradients(self.model, clip)
        self.optimizer.step()
        return out

    def _jit_off(self, error: Exception) -> None:
        """Turn jit off for this Runner after the step could not be traced, with one warning.

        A :class:`~idrak.compile.state.JitError` comes from a value read while tracing (a
        ``.item()``, a host-side check on a tensor computed in the step), always before the
        optimizer step, so running the same batch plain next (``zero_grad`` first) is exact.
        """
        self.jit, self._jitted = False, None
        warnings.warn(
            f"Runner: the training step cannot be replayed by idrak.jit ({error}); it runs "
            "without jit from now on (pass jit=False to choose that and silence this)",
            RuntimeWarning,
            stacklevel=4,
        )

    def _jitted_step(self, fn: StepFn, clip: Any, state: RunnerState) -> Any:
        """``idrak.jit`` of :meth:`_train_step` called with the batch, kept across epochs.

        Its state is the model and the optimizer only (not the Runner's counters, which
        would change the signature every step); the batch is the argument. The learning
        rate (betas, momentum) is a replay input of the recording, not part of its
        signature, so a scheduler stepping per epoch or per step retraces nothing.
        """
        import idrak

        self._jit_state = state
        key = (fn, self.optimizer, clip)
        if self._jitted is None or self._jitted[0] != key:

            def step(batch: Any) -> dict[str, Any]:
                st = self._jit_state
                assert st is not None
                st.batch = batch
                return self._train_step(fn, st, clip)

            self._jitted = (key, idrak.jit(step, state=[self.model, self.optimizer]))
        return self._jitted[1]
