"""``RunnerState``: what a user's step function sees, and how batches are taken apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from idrak.train.config import Config
    from idrak.train.runner import Runner

__all__ = [
    "RunnerState",
    "batch_inputs",
    "batch_size",
    "batch_target",
    "check_metrics",
    "check_outputs",
    "read_checkpoint",
    "write_checkpoint",
]

#: dict-batch keys searched for the target, in order
TARGET_KEYS = ("y", "target", "targets", "label", "labels")
#: dict-batch keys searched for the model input, in order
INPUT_KEYS = ("x", "input", "inputs", "image", "images")


@dataclass
class RunnerState:
    """The state a step function receives from the :class:`~idrak.train.Runner`.

    Attributes:
        net: the model (an ``idrak.nn.Module``, e.g. a ``Net`` or ``Pipeline``); in train mode
            while training, in eval mode during evaluation.
        batch: the current batch as the DataLoader yields it: a tuple ``(x, y)`` of Tensors
            (``x`` float32 ``(B, ...)``, ``y`` int64 ``(B,)`` for classification), or a dict.
        epoch: the current epoch, 0-based.
        step: optimizer steps taken so far in the whole run (0 for the first batch).
        batch_idx: the index of ``batch`` within the current epoch.
        training: True in the training loop, False in evaluation (run under ``no_grad``).
        device: the device batches are on (an ``idrak.Device``).
        config: the run's :class:`~idrak.train.Config`.
        optimizer: the optimizer (None outside :meth:`Runner.train`).
        runner: the Runner itself (for callbacks and advanced steps).
        outputs: the last dict the step returned (read by callbacks).
    """

    net: Any
    config: Config
    device: Any
    optimizer: Any = None
    runner: Runner | None = None
    batch: Any = None
    epoch: int = 0
    step: int = 0
    batch_idx: int = 0
    training: bool = True
    outputs: dict[str, Any] = field(default_factory=dict)


def batch_target(batch: Any) -> Any:
    """The target of a batch: ``batch[1]`` for a tuple / list of two or more, the first of
    ``y``, ``target``, ``targets``, ``label``, ``labels`` for a dict, else None."""
    if isinstance(batch, tuple | list) and len(batch) >= 2:
        return batch[1]
    if isinstance(batch, Mapping):
        for key in TARGET_KEYS:
            if key in batch:
                return batch[key]
    return None


def batch_inputs(batch: Any) -> Any:
    """The model input of a batch: ``batch[0]`` for a tuple / list, the first of ``x``,
    ``input``, ``inputs``, ``image``, ``images`` for a dict, else the batch itself.

    Raises:
        KeyError: a dict batch with none of those keys (its keys are named).
    """
    if isinstance(batch, tuple | list):
        return batch[0]
    if isinstance(batch, Mapping):
        for key in INPUT_KEYS:
            if key in batch:
                return batch[key]
        raise KeyError(f"a dict batch needs one of the keys {INPUT_KEYS}, got {sorted(batch)}")
    return batch


def batch_size(batch: Any) -> int:
    """The number of samples in a batch: the length of its first array-like leaf (1 if none)."""
    leaf = batch
    if isinstance(leaf, Mapping):
        leaf = next(iter(leaf.values()), None)
    while isinstance(leaf, tuple | list) and leaf:
        leaf = leaf[0]
    shape = getattr(leaf, "shape", None)
    if shape:
        return int(shape[0])
    return len(leaf) if isinstance(leaf, list) else 1


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "numpy") and hasattr(x, "shape") and hasattr(x, "dtype")


# step outputs ----------------------------------------------------------------------------------
def check_outputs(result: Any, training: bool) -> dict[str, Any]:
    """The step function's result as a dict with a scalar ``loss`` Tensor.

    A bare Tensor is taken as the loss. In evaluation ``loss`` may be missing.

    Raises:
        TypeError: a result that is neither a dict nor a Tensor, or a non-Tensor loss.
        ValueError: a loss with more than one element, or (training) one that does not
            require grad; the shapes and the likely cause are named.
    """
    if _is_tensor(result):
        result = {"loss": result}
    if not isinstance(result, Mapping):
        raise TypeError(
            "the step function must return a dict like {'loss': loss, 'y_pred': logits} or a "
            f"loss Tensor, got {type(result).__name__}"
        )
    out = dict(result)
    loss = out.get("loss")
    if loss is None:
        if training:
            raise ValueError(
                f"the training step returned no 'loss' (keys: {sorted(out)}); return "
                "{'loss': loss, ...} with a scalar loss Tensor"
            )
        return out
    if not _is_tensor(loss):
        raise TypeError(
            f"the step's 'loss' must be an idrak Tensor, got {type(loss).__name__} {loss!r}"
        )
    if int(np.prod(loss.shape)) != 1:
        raise ValueError(
            f"the step's 'loss' must be a scalar Tensor, got shape {tuple(loss.shape)}; "
            "reduce it with .mean() or .sum()"
        )
    if training and not getattr(loss, "requires_grad", False):
        raise ValueError(
            "the step's 'loss' does not require grad, so backward() cannot train anything: "
            "were the model's parameters frozen, or the loss computed under no_grad() / "
            ".detach()?"
        )
    return out


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.number):
        return float(value)
    if _is_tensor(value) and int(np.prod(value.shape)) == 1:
        return float(np.asarray(value.numpy()).reshape(()))
    return None


def scalar_outputs(out: Mapping[str, Any]) -> dict[str, float]:
    """The step result's scalar entries (``loss`` and any extra numbers or 1-element Tensors)
    as floats; ``y_pred`` and ``target`` are skipped."""
    values = {}
    for key, value in out.items():
        if key in ("y_pred", "target"):
            continue
        v = _scalar(value)
        if v is not None:
            values[key] = v
    return values


def update_metrics(metrics: list[Any], out: Mapping[str, Any], batch: Any) -> None:
    """``m.update(y_pred, target)`` for each metric; target from ``out["target"]`` or the batch.

    Raises:
        ValueError: metrics were given but the step returned no ``y_pred``, or no target was
            found (the batch structure is named).
    """
    if "y_pred" not in out:
        raise ValueError(
            f"metrics {[m.name for m in metrics]} need 'y_pred' in the dict the step returns "
            f"(got keys {sorted(out)})"
        )
    target = out["target"] if "target" in out else batch_target(batch)
    if target is None:
        raise ValueError(
            "metrics need a target: return it as 'target' from the step, or use batches that "
            f"are (x, y) tuples or dicts with a 'y' key (got a {type(batch).__name__} batch)"
        )
    preds = out["y_pred"]
    preds = preds.detach() if hasattr(preds, "detach") else preds
    for m in metrics:
        m.update(preds, target)


def metric_value(metric: Any) -> Any:
    """``metric.compute()`` as a float when it is a scalar, else as it is (e.g. an array)."""
    value = metric.compute()
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 and arr.dtype.kind in "biuf" else value


def to_device(batch: Any, device: Any) -> Any:
    """``batch`` with NumPy arrays made Tensors on ``device`` and Tensors on another device
    moved there; tuples, lists and dicts are walked."""
    if isinstance(batch, np.ndarray):
        import idrak

        return idrak.tensor(batch, device=device)
    if _is_tensor(batch):
        return batch if batch.device == device else batch.to(device)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple | list) and not all(isinstance(v, str | bytes) for v in batch):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def to_tensors(tree: Any, device: Any) -> Any:
    """``tree`` with every NumPy array made a Tensor on ``device`` (for optimizer state)."""
    if isinstance(tree, np.ndarray):
        import idrak

        return idrak.tensor(tree, device=device)
    if isinstance(tree, Mapping):
        return {k: to_tensors(v, device) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(to_tensors(v, device) for v in tree)
    return tree


def resolve_device(model: Any, device: Any) -> Any:
    """``device`` (the model is moved there), else the first parameter's, else the default."""
    import idrak

    if device is not None:
        dev = idrak.device(device)
        if hasattr(model, "to"):
            model.to(dev)
        return dev
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else idrak.get_default_device()


def check_metrics(metrics: Sequence[Any]) -> list[Any]:
    out = list(metrics)
    names = []
    for m in out:
        if not (hasattr(m, "update") and hasattr(m, "compute") and hasattr(m, "reset")):
            raise TypeError(
                f"metrics must have update/compute/reset (idrak.metrics), got {type(m).__name__}"
            )
        names.append(m.name)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"metric names must be unique, {dup} appear twice; pass name=... to one")
    if "loss" in names:
        raise ValueError("a metric may not be named 'loss' (the Runner records the loss itself)")
    return out


def clip_gradients(model: Any, max_norm: Any) -> None:
    from idrak.nn.utils import clip_grad_norm_

    if isinstance(max_norm, bool) or not isinstance(max_norm, int | float) or max_norm <= 0:
        raise ValueError(f"config grad_clip_norm must be a number > 0, got {max_norm!r}")
    clip_grad_norm_(model.parameters(), float(max_norm))


# checkpoints -----------------------------------------------------------------------------------
CHECKPOINT_KIND = "idrak.train.Runner checkpoint"  # the ``kind`` in the file's user metadata


def write_checkpoint(path: Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (a tree of dicts / lists of Tensors and JSON values) with
    :func:`idrak.save`: safetensors, written to a temporary file and renamed. Returns ``path``.

    Raises:
        idrak.io.serialization.CheckpointError: a value that cannot be stored (its path named).
    """
    import idrak

    path.parent.mkdir(parents=True, exist_ok=True)
    idrak.save(dict(payload), path, metadata={"kind": CHECKPOINT_KIND, "format": 1})
    return path


def read_checkpoint(path: Path, device: Any = None) -> dict[str, Any]:
    """Read a file written by :func:`write_checkpoint` (tensors on ``device``); no pickle.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a file that is not a Runner checkpoint (e.g. plain weights from
            ``idrak.save(model.state_dict(), ...)``).
        idrak.io.serialization.CheckpointError: a corrupted or malformed file, or a field of
            the wrong type (``epoch``, ``step``, ``model``, ``history``, ``rng``, ...).
    """
    import idrak

    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    from idrak.io.serialization import CheckpointError

    tree, meta = idrak.load(path, device=device, with_metadata=True)
    if meta.get("kind") != CHECKPOINT_KIND or not isinstance(tree, dict):
        raise ValueError(
            f"{path} is not a Runner checkpoint (written by Runner.save_checkpoint); load "
            "plain weights with model.load_state_dict(idrak.load(path))"
        )
    for key, ok, expected in _CHECKPOINT_FIELDS:
        if (key in tree or key in _REQUIRED) and not ok(tree.get(key)):
            raise CheckpointError(
                str(path), f"{key!r} must be {expected}, got {str(tree.get(key))[:80]!r}"
            )
    return tree


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


_REQUIRED = ("epoch", "step", "model", "history")
#: (key, check, what is expected) for the fields a Runner checkpoint holds
_CHECKPOINT_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("epoch", _count, "an int >= 0"),
    ("step", _count, "an int >= 0"),
    ("model", lambda v: isinstance(v, dict), "a dict of tensors"),
    ("history", lambda v: isinstance(v, dict), "a dict"),
    ("config", lambda v: isinstance(v, dict), "a dict"),
    ("optimizer", lambda v: isinstance(v, dict), "a dict"),
    ("lr_scheduler", lambda v: isinstance(v, dict), "a dict"),
    ("rng", lambda v: isinstance(v, list) and all(_count(x) for x in v), "a list of ints"),
)
