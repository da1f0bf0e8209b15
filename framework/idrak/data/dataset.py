"""Datasets: the protocol, an in-memory dataset over arrays, iterable and concatenated datasets,
subsets and random splits."""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from idrak.data._convert import to_numpy
from idrak.data.sampler import host_rng

__all__ = [
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


@runtime_checkable
class Dataset(Protocol):
    """Anything with a length and integer indexing is a dataset.

    ``dataset[i]`` for ``0 <= i < len(dataset)`` returns one sample: an array, a number, or a
    tuple / dict of those. No base class is needed; a list of samples is a dataset. Subclassing
    it, as PyTorch code does (``class Names(Dataset): ...``), works too.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def _check_index(index: Any, length: int, owner: str) -> int:
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"{owner} index must be an integer, got {type(index).__name__} {index!r}")
    i = int(index)
    if not -length <= i < length:
        raise IndexError(f"{owner} index {i} is out of range for length {length}")
    return i + length if i < 0 else i


class TensorDataset:
    """A dataset over arrays sharing their first dimension; sample ``i`` is ``(a[i], b[i], ...)``.

    Args:
        *arrays: NumPy arrays, idrak Tensors (copied to host NumPy arrays once, here) or anything
            ``np.asarray`` accepts. All must have the same length along dim 0.

    Attributes:
        arrays: the tuple of NumPy arrays. :class:`~idrak.data.DataLoader` batches a
            ``TensorDataset`` (or a :class:`Subset` of one) by indexing these arrays with a whole
            batch of indices at once, so no Python loop runs per sample.

    Raises:
        ValueError: no arrays, a 0-d array, or arrays whose first dimensions differ (all lengths
            are named in the message).
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        converted = tuple(to_numpy(a) for a in arrays)
        for k, a in enumerate(converted):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset array {k} is 0-d (shape ()); it needs a dim 0")
        lengths = [a.shape[0] for a in converted]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"TensorDataset arrays must have the same size in dim 0, got lengths {lengths} "
                f"(shapes {[a.shape for a in converted]})"
            )
        self.arrays: tuple[np.ndarray, ...] = converted

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        i = _check_index(index, len(self), type(self).__name__)
        return tuple(a[i] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


class Subset:
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: any :class:`Dataset`.
        indices: integer positions into ``dataset`` (negative positions count from the end).

    Raises:
        IndexError: an index outside ``[-len(dataset), len(dataset))``.
        TypeError: non-integer indices.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(
                f"Subset indices must be a 1-d sequence of integers, got dtype {idx.dtype} "
                f"shape {idx.shape}"
            )
        n = len(dataset)
        bad = idx[(idx < -n) | (idx >= n)]
        if bad.size:
            raise IndexError(f"Subset indices {bad[:5].tolist()} are out of range for length {n}")
        self.dataset = dataset
        self.indices: np.ndarray = np.where(idx < 0, idx + n, idx).astype(np.int64)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> Any:
        i = _check_index(index, len(self), "Subset")
        return self.dataset[int(self.indices[i])]

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} samples)"


class IterableDataset:
    """Base class of datasets that are streams: ``iter(dataset)`` yields samples; no indexing.

    A :class:`~idrak.data.DataLoader` batches the stream in order (``shuffle`` and samplers do
    not apply). With ``num_workers > 0`` PyTorch runs one copy per worker process; idrak runs
    the one stream in-process, so nothing is duplicated and no worker sharding is needed.
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class ConcatDataset:
    """The samples of several datasets, one after the other.

    Args:
        datasets: a non-empty iterable of indexable datasets (not :class:`IterableDataset`).

    Attributes:
        datasets: the list of datasets. cumulative_sizes: running totals of their lengths.

    Raises:
        ValueError: no datasets. TypeError: an :class:`IterableDataset` among them.
        IndexError: an index outside ``[-len, len)``.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for k, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset (dataset {k})")
        self.cumulative_sizes: list[int] = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        i = _check_index(index, len(self), "ConcatDataset")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][i - start]

    def __repr__(self) -> str:
        return f"ConcatDataset({len(self.datasets)} datasets, {len(self)} samples)"


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: Any = None,
    *,
    seed: int | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Args:
        dataset: any :class:`Dataset`.
        lengths: sizes that sum to ``len(dataset)``, or fractions that sum to 1 (each fraction's
            size is rounded down and the remainder goes round-robin to the first subsets, as in
            PyTorch).
        generator: an idrak ``Generator`` to draw the permutation from (PyTorch's argument);
            ``None``: idrak's global generator, so :func:`idrak.manual_seed` fixes the split.
        seed: instead of ``generator``, the seed of a ``numpy.random.Generator``; the same seed
            gives the same split.

    Raises:
        ValueError: negative lengths, or lengths / fractions with the wrong sum (both named).
    """
    n = len(dataset)
    lens = list(lengths)
    if not lens:
        raise ValueError("random_split needs at least one length")
    if any(isinstance(x, bool) or not isinstance(x, numbers.Real) or x < 0 for x in lens):
        raise ValueError(f"random_split lengths must be non-negative numbers, got {lens}")
    if all(isinstance(x, numbers.Integral) for x in lens):
        sizes = [int(x) for x in lens]
    elif math.isclose(float(sum(lens)), 1.0, abs_tol=1e-9) and all(x <= 1 for x in lens):
        sizes = [math.floor(n * float(x)) for x in lens]
        for k in range(n - sum(sizes)):
            sizes[k % len(sizes)] += 1
    else:
        raise ValueError(
            f"random_split lengths must be integers summing to len(dataset)={n} or fractions "
            f"summing to 1, got {lens} (sum {sum(lens)})"
        )
    if sum(sizes) != n:
        raise ValueError(
            f"random_split lengths {sizes} sum to {sum(sizes)}, but len(dataset) is {n}"
        )
    if seed is not None:
        rng = np.random.default_rng(seed)
    else:
        rng = host_rng(generator)
    perm = rng.permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, perm[a:b]) for a, b in itertools.pairwise(bounds)]
