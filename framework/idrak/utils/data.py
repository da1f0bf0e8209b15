"""``idrak.utils.data``: the datasets, samplers and DataLoader of :mod:`idrak.data`, under
PyTorch's ``torch.utils.data`` path (``from idrak.utils.data import DataLoader, Dataset``).

The same objects, not copies: ``idrak.utils.data.DataLoader is idrak.data.DataLoader``.
``default_convert`` and ``get_worker_info`` are the two names here that :mod:`idrak.data`
does not spell.
"""

from __future__ import annotations

from typing import Any

from idrak.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)
from idrak.data.collate import tensorize

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]


def default_convert(data: Any) -> Any:
    """Every NumPy array in a (nested tuple / list / dict) sample made an idrak Tensor; other
    values as they are (PyTorch's ``default_convert``, used when ``batch_size=None``)."""
    return tensorize(data)


def get_worker_info() -> None:
    """Always ``None``: idrak's DataLoader builds batches in-process, never in worker processes
    (PyTorch returns ``None`` in the main process too)."""
    return None
