"""Samplers: the order in which a DataLoader visits a dataset's indices (PyTorch's names).

Every random sampler draws on the host from a NumPy generator seeded from an idrak
:class:`~idrak.core.random.Generator` (``generator=``; the global one, seeded by
:func:`idrak.manual_seed`, when ``None``). Each ``iter(sampler)`` consumes two words of that
generator, so successive epochs differ and the whole sequence replays after the same seed, as in
PyTorch (the numbers themselves differ from PyTorch's: another generator).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from idrak.core import random as _random

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "host_rng",
]


_CHUNK = 4096  # indices drawn at a time with replacement


def host_rng(generator: Any = None) -> np.random.Generator:
    """A NumPy generator for one host-side draw, seeded from ``generator``.

    Args:
        generator: an idrak ``Generator`` (two of its words are consumed), a
            ``numpy.random.Generator`` (returned as is), or ``None`` for idrak's global generator.

    Raises:
        TypeError: anything else (its type is named).
    """
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None:
        generator = _random.default_generator
    if not isinstance(generator, _random.Generator):
        raise TypeError(
            "generator must be an idrak.Generator, a numpy.random.Generator or None, got "
            f"{type(generator).__name__}"
        )
    k0, k1, counter = generator.take(2)
    return np.random.default_rng([k0, k1, counter])


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


class Sampler:
    """Base class: ``iter(sampler)`` yields dataset indices; ``len`` when the count is known.

    Args:
        data_source: accepted for PyTorch compatibility (PyTorch ignores it too).
    """

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, in order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``data_source``'s indices.

    Args:
        data_source: a sized dataset.
        replacement: draw ``num_samples`` indices independently (with repetition) instead of
            permuting.
        num_samples: how many to draw (default ``len(data_source)``); without replacement and
            larger than the dataset, whole permutations follow each other (as PyTorch).
        generator: see :func:`host_rng`.

    Raises:
        ValueError: ``num_samples`` not a positive integer. TypeError: ``replacement`` not a bool.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement must be a bool, got {replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = (
            None if num_samples is None else _positive_int(num_samples, "num_samples")
        )
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        rng = host_rng(self.generator)
        if n == 0:
            return iter(())
        return self._draw(rng, n, k)

    def _draw(self, rng: np.random.Generator, n: int, k: int) -> Iterator[int]:
        """Lazily, a chunk at a time: ``num_samples`` may be huge (makemore asks for 1e10)."""
        left = k
        while left > 0:
            chunk = rng.integers(0, n, size=min(left, _CHUNK)) if self.replacement else None
            if chunk is None:
                chunk = rng.permutation(n)[: min(left, n)]
            left -= len(chunk)
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one each epoch).

    Raises:
        TypeError: indices that are not integers.
    """

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        idx = np.asarray(indices)
        if idx.size and (idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError(
                f"SubsetRandomSampler indices must be 1-d integers, got dtype {idx.dtype} "
                f"shape {idx.shape}"
            )
        self.indices = indices
        self._indices = idx.astype(np.int64)
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        perm = host_rng(self.generator).permutation(len(self._indices))
        return iter(self._indices[perm].tolist())

    def __len__(self) -> int:
        return len(self._indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Args:
        weights: one non-negative weight per index (need not sum to 1); a sequence, array or
            Tensor.
        num_samples: how many indices to draw.
        replacement: with repetition (default, as PyTorch); without, ``num_samples`` must not
            exceed the number of positive weights.
        generator: see :func:`host_rng`.

    Raises:
        ValueError: weights that are not 1-d, negative, non-finite or all zero; ``num_samples``
            not a positive int, or too large without replacement (both named).
        TypeError: ``replacement`` not a bool.
    """

    def __init__(
        self,
        weights: Any,
        num_samples: int,
        replacement: bool = True,
        generator: Any = None,
    ) -> None:
        from idrak.data._convert import to_numpy

        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, got {replacement!r}")
        w = to_numpy(weights).astype(np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights must be 1-d, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(
                f"weights must be finite, non-negative and not all zero, got {w[:8].tolist()}"
            )
        self.num_samples = _positive_int(num_samples, "num_samples")
        positive = int(np.count_nonzero(w))
        if not replacement and self.num_samples > positive:
            raise ValueError(
                f"cannot draw num_samples={self.num_samples} without replacement from "
                f"{positive} positive weights"
            )
        self.weights, self.replacement, self.generator = w, replacement, generator

    def __iter__(self) -> Iterator[int]:
        rng = host_rng(self.generator)
        p = self.weights / self.weights.sum()
        picks = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(picks.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: any iterable of indices (a Sampler, a range, a list).
        batch_size: indices per batch, ``>= 1``.
        drop_last: drop a last batch smaller than ``batch_size``.

    Raises:
        ValueError: ``batch_size`` not a positive int. TypeError: ``drop_last`` not a bool.
    """

    def __init__(self, sampler: Iterable[Any], batch_size: int, drop_last: bool) -> None:
        self.batch_size = _positive_int(batch_size, "batch_size")
        if not isinstance(drop_last, bool):
            raise TypeError(f"drop_last should be a boolean value, got {drop_last!r}")
        self.sampler, self.drop_last = sampler, drop_last

    def __iter__(self) -> Iterator[list[Any]]:
        batch: list[Any] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
