"""Turning a list of samples into one batch, and a NumPy batch into Tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from idrak.data._convert import to_numpy, to_tensor

__all__ = ["default_collate", "tensorize"]


def _stack(samples: Sequence[Any]) -> np.ndarray:
    arrays = [to_numpy(s) for s in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"cannot batch samples of different shapes: {sorted(shapes)}")
    return np.stack(arrays)


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into one NumPy batch, keeping the samples' structure.

    - arrays (and Tensors, via ``.numpy()``) of one shape ``S`` -> an array ``(B, *S)``, dtype kept;
    - Python ``bool`` -> ``bool``; ``int`` -> ``int64``; ``float`` -> ``float32``; NumPy scalars
      keep their dtype;
    - tuples / lists -> a tuple (or list) of batches, position by position;
    - dicts -> a dict of batches, key by key;
    - strings -> a list of strings.

    Raises:
        ValueError: an empty list, samples of different shapes, lengths or dict keys.
        TypeError: a sample type not listed above (the type is named).
    """
    if len(samples) == 0:
        raise ValueError("default_collate got an empty list of samples")
    first = samples[0]
    if isinstance(first, str | bytes):
        return list(samples)
    if isinstance(first, bool | np.bool_):
        return np.asarray(samples, dtype=np.bool_)
    if isinstance(first, np.generic | np.ndarray) or hasattr(first, "numpy"):
        return _stack(samples)
    if isinstance(first, int):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, float):
        return np.asarray(samples, dtype=np.float32)
    if isinstance(first, Mapping):
        keys = set(first)
        for s in samples:
            if not isinstance(s, Mapping) or set(s) != keys:
                got = sorted(s) if isinstance(s, Mapping) else type(s).__name__
                raise ValueError(f"cannot batch dict samples with keys {sorted(keys)} and {got}")
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple | list):
        lengths = {len(s) for s in samples}
        if len(lengths) != 1:
            raise ValueError(
                f"cannot batch sequence samples of different lengths {sorted(lengths)}"
            )
        columns = [default_collate(list(col)) for col in zip(*samples)]
        return columns if isinstance(first, list) else tuple(columns)
    raise TypeError(
        f"default_collate cannot batch samples of type {type(first).__name__}; "
        "pass collate_fn= to DataLoader"
    )


def tensorize(batch: Any, device: Any = None) -> Any:
    """Replace every NumPy array in a (nested tuple / list / dict) batch by an idrak Tensor."""
    if isinstance(batch, np.ndarray):
        return to_tensor(batch, device=device)
    if isinstance(batch, dict):
        return {k: tensorize(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return tuple(tensorize(v, device) for v in batch)
    if isinstance(batch, list) and not all(isinstance(v, str | bytes) for v in batch):
        return [tensorize(v, device) for v in batch]
    return batch
