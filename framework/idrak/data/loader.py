"""DataLoader: batches, per-epoch shuffling, and one background thread that prefetches."""

from __future__ import annotations

import numbers
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from idrak.data.collate import default_collate, tensorize
from idrak.data.dataset import Dataset, Subset, TensorDataset

__all__ = ["DataLoader"]

_DONE = object()  # end-of-epoch marker put on the prefetch queue


class _Raised:
    """An exception from the prefetch thread, re-raised in the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _array_source(dataset: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray | None] | None:
    """``(arrays, index_map)`` when batches can be cut from whole arrays by fancy indexing.

    True for a plain TensorDataset (or a subclass that keeps its ``__getitem__``) and for Subsets
    of one, nested to any depth. ``index_map`` maps loader positions to array rows.
    """
    if isinstance(dataset, TensorDataset):
        if type(dataset).__getitem__ is TensorDataset.__getitem__:
            return dataset.arrays, None
        return None
    if isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        inner = _array_source(dataset.dataset)
        if inner is None:
            return None
        arrays, imap = inner
        return arrays, dataset.indices if imap is None else imap[dataset.indices]
    return None


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: any :class:`~idrak.data.Dataset` (``len`` and integer indexing).
        batch_size: samples per batch, ``>= 1``.
        shuffle: draw a new permutation every epoch, from ``numpy.random.default_rng``
            seeded with ``(seed, epoch)``: the same seed replays the same epochs.
        seed: the shuffle seed; ``None`` draws one from the OS once, at construction.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch; its result is yielded as is. Default:
            :func:`~idrak.data.default_collate`, then every array becomes a Tensor on ``device``
            (dtypes kept: ``float32`` stays ``float32``, ``int64`` stays ``int64``).
        device: the device of the yielded Tensors (``None``: idrak's default device).
        prefetch: build the next NumPy batch in a background thread while the current one is
            used. Tensors are still made on the consuming thread (the backends' device state is
            per thread).
        to_tensor: ``False`` yields the NumPy batches of the default collate instead of Tensors.
        sampler: an iterable of dataset indices with ``len`` (e.g.
            :class:`~idrak.data.DistributedSampler`) that gives each epoch's order instead of
            ``shuffle`` (the two are exclusive, as in torch); :meth:`set_epoch` is passed on to
            it.

    A :class:`~idrak.data.TensorDataset` (or a :class:`~idrak.data.Subset` of one) is batched by
    fancy-indexing its arrays with all of a batch's indices at once: no per-sample Python loop.

    Raises:
        TypeError / ValueError: an argument of the wrong type or value (named in the message).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        device: Any = None,
        prefetch: bool = True,
        to_tensor: bool = True,
        sampler: Any = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                "DataLoader dataset must have __len__ and __getitem__, "
                f"got {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        for flag, value in (
            ("shuffle", shuffle),
            ("drop_last", drop_last),
            ("prefetch", prefetch),
            ("to_tensor", to_tensor),
        ):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} must be a bool, got {value!r}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
        ):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle=True")
        if sampler is not None and not (
            hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")
        ):
            raise TypeError(f"sampler must be an iterable with len, got {type(sampler).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset: Dataset = dataset
        self.batch_size: int = int(batch_size)
        self.shuffle: bool = shuffle
        self.seed: int = int(seed) if seed is not None else int(np.random.SeedSequence().entropy)
        self.drop_last: bool = drop_last
        self.collate_fn: Callable[[list[Any]], Any] | None = collate_fn
        self.device: Any = device
        self.prefetch: bool = prefetch
        self.to_tensor: bool = to_tensor
        self.epoch: int = 0  # the next epoch's number; __iter__ increments it
        self.sampler: Any = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` use the permutation of ``epoch`` (for resuming)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)
        if self.sampler is not None and hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.epoch)

    def _order(self, epoch: int) -> np.ndarray:
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if self.shuffle:
            return np.random.default_rng([self.seed, epoch]).permutation(n)
        return np.arange(n)

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        """Yield the NumPy (or collate_fn) batches of one epoch; runs on the prefetch thread."""
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        source = _array_source(self.dataset) if self.collate_fn is None else None
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            if source is not None:
                arrays, imap = source
                rows = idx if imap is None else imap[idx]
                yield tuple(a[rows] for a in arrays)
            else:
                samples = [self.dataset[int(i)] for i in idx]
                yield (self.collate_fn or default_collate)(samples)

    def __iter__(self) -> Iterator[Any]:
        order = self._order(self.epoch)
        self.epoch += 1
        batches = self._batches(order)
        convert = self.collate_fn is None and self.to_tensor
        if not self.prefetch:
            return (tensorize(b, self.device) if convert else b for b in batches)
        return _PrefetchIterator(batches, convert, self.device)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )


def _produce(batches: Iterator[Any], q: queue.Queue[Any], stop: threading.Event) -> None:
    """Prefetch thread body. Holds no reference to the iterator object, so that can be GC'd."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        for batch in batches:
            if not put(batch):
                return
        put(_DONE)
    except BaseException as exc:  # handed to the consumer, which re-raises it
        put(_Raised(exc))


def _shutdown(stop: threading.Event, q: queue.Queue[Any], thread: threading.Thread) -> None:
    stop.set()
    while True:  # unblock a producer waiting on a full queue
        try:
            q.get_nowait()
        except queue.Empty:
            break
    if thread is not threading.current_thread():
        thread.join(timeout=5.0)


class _PrefetchIterator:
    """Yields batches built one ahead by a daemon thread; stops it when exhausted, closed or
    garbage-collected."""

    def __init__(self, batches: Iterator[Any], convert: bool, device: Any) -> None:
        self._convert, self._device = convert, device
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_produce,
            args=(batches, self._queue, self._stop),
            name="idrak-dataloader-prefetch",
            daemon=True,
        )
        self._thread.start()
        self._finalizer = weakref.finalize(self, _shutdown, self._stop, self._queue, self._thread)
        self._finished = False

    def __iter__(self) -> _PrefetchIterator:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Raised):
            self.close()
            raise item.exc
        return tensorize(item, self._device) if self._convert else item

    def close(self) -> None:
        """Stop the prefetch thread now (also done on exhaustion and garbage collection)."""
        self._finished = True
        self._finalizer()
