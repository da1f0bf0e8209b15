"""DataLoader: batches, samplers, per-epoch shuffling, and one background thread that
prefetches (PyTorch's arguments; ``num_workers`` processes are not used, see DataLoader)."""

from __future__ import annotations

import numbers
import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from idrak.data.collate import default_collate, tensorize
from idrak.data.dataset import IterableDataset, Subset, TensorDataset
from idrak.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

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


class _SeededShuffle(Sampler):
    """The loader's own ``shuffle=True`` order: epoch ``e`` is the permutation drawn by
    ``numpy.random.default_rng([seed, e])``, so the same seed replays the same epochs and
    :meth:`DataLoader.set_epoch` resumes one."""

    def __init__(self, data_source: Any, seed: int) -> None:
        self.data_source, self.seed, self.epoch = data_source, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(self.order().tolist())

    def __len__(self) -> int:
        return len(self.data_source)


def _check_bool(flag: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{flag} must be a bool, got {value!r}")


class DataLoader:
    """Iterate over a dataset in batches, with PyTorch's arguments.

    Args:
        dataset: a map-style dataset (``len`` and integer indexing, see
            :class:`~idrak.data.Dataset`) or an :class:`~idrak.data.IterableDataset` (batched
            in stream order).
        batch_size: samples per batch, ``>= 1``; ``None`` turns batching off: each sample is
            yielded alone, its arrays made Tensors (``collate_fn`` applied to it, if given).
        shuffle: draw a new permutation every epoch. Without ``generator`` it comes from
            ``numpy.random.default_rng`` seeded with ``(seed, epoch)``: the same seed replays the
            same epochs, and :meth:`set_epoch` resumes one. With ``generator`` it is a
            :class:`~idrak.data.RandomSampler` on that generator.
        sampler: the order of indices (a :class:`~idrak.data.Sampler` or any iterable of
            indices); excludes ``shuffle``.
        batch_sampler: yields whole lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: accepted for PyTorch compatibility; idrak builds batches in ONE background
            thread whatever the number (``prefetch``), never in worker processes, so datasets
            need not be picklable and nothing is duplicated. ``> 0`` runs ``worker_init_fn(0)``
            in that thread at the start of every epoch.
        collate_fn: turns a list of samples into a batch; its result is yielded as is. Default:
            :func:`~idrak.data.default_collate`, then every array becomes a Tensor on ``device``
            (dtypes kept: ``float32`` stays ``float32``, ``int64`` stays ``int64``).
        pin_memory: accepted; has no effect (host-to-device copies are the backend's business).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: an idrak ``Generator`` for ``shuffle`` (see above).
        seed: the ``shuffle`` seed; ``None`` draws one from the OS once, at construction.
        device: the device of the yielded Tensors (``None``: idrak's default device).
        prefetch: build the next NumPy batch in a background thread while the current one is
            used. Tensors are still made on the consuming thread (the backends' device state is
            per thread).
        to_tensor: when False, yield the NumPy batches of the default collate, not Tensors.

    ``timeout``, ``worker_init_fn``, ``multiprocessing_context``, ``prefetch_factor``,
    ``persistent_workers``, ``pin_memory_device`` and ``in_order`` are accepted for PyTorch
    compatibility (see ``num_workers``); they change nothing else.

    A :class:`~idrak.data.TensorDataset` (or a :class:`~idrak.data.Subset` of one) is batched by
    fancy-indexing its arrays with all of a batch's indices at once: no per-sample Python loop.

    Raises:
        TypeError / ValueError: an argument of the wrong type or value, or a combination
        PyTorch refuses (``sampler`` with ``shuffle``, ...), named in the message.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[Any] | None = None,
        batch_sampler: Iterable[Any] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], Any] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
        device: Any = None,
        prefetch: bool = True,
        to_tensor: bool = True,
    ) -> None:
        iterable = isinstance(dataset, IterableDataset)
        if not iterable and not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                "DataLoader dataset must be an IterableDataset or have __len__ and __getitem__, "
                f"got {type(dataset).__name__}"
            )
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
                raise TypeError(
                    f"batch_size must be an int or None, got {type(batch_size).__name__}"
                )
            if batch_size < 1:
                raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        shuffle = bool(shuffle) if shuffle is None else shuffle
        for flag, value in (
            ("shuffle", shuffle),
            ("drop_last", drop_last),
            ("prefetch", prefetch),
            ("to_tensor", to_tensor),
            ("pin_memory", pin_memory),
            ("persistent_workers", persistent_workers),
            ("in_order", in_order),
        ):
            _check_bool(flag, value)
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
            raise TypeError(f"num_workers must be an int, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative, got {num_workers}")
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
        ):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        if iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError(
                "DataLoader with an IterableDataset: shuffle, sampler and batch_sampler must be "
                f"unset, got shuffle={shuffle}, sampler={sampler!r}, "
                f"batch_sampler={batch_sampler!r}"
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                f"and drop_last (got batch_size={batch_size}, shuffle={shuffle}, "
                f"sampler={sampler!r}, drop_last={drop_last})"
            )
        if batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        self.dataset: Any = dataset
        self.seed: int = int(seed) if seed is not None else int(np.random.SeedSequence().entropy)
        self.shuffle: bool = shuffle
        self.drop_last: bool = drop_last
        self.generator = generator
        # PyTorch's worker / memory options: kept for inspection (see the class docstring)
        self.num_workers: int = int(num_workers)
        self.pin_memory: bool = pin_memory
        self.timeout: float = timeout
        self.worker_init_fn: Callable[[int], Any] | None = worker_init_fn
        self.multiprocessing_context: Any = multiprocessing_context
        self.prefetch_factor: int | None = prefetch_factor
        self.persistent_workers: bool = persistent_workers
        self.pin_memory_device: str = pin_memory_device
        self.in_order: bool = in_order
        self.collate_fn: Callable[[list[Any]], Any] | None = collate_fn
        self.device: Any = device
        self.prefetch: bool = prefetch
        self.to_tensor: bool = to_tensor
        self.epoch: int = 0  # the next epoch's number; __iter__ increments it
        self.sampler: Any = None
        self.batch_sampler: Any = None
        if batch_sampler is not None:
            self.batch_size: int | None = None
            self.batch_sampler = batch_sampler
        else:
            self.batch_size = None if batch_size is None else int(batch_size)
            if not iterable:
                if sampler is None:
                    if shuffle and generator is not None:
                        sampler = RandomSampler(dataset, generator=generator)
                    elif shuffle:
                        sampler = _SeededShuffle(dataset, self.seed)
                    else:
                        sampler = SequentialSampler(dataset)
                self.sampler = sampler
                if self.batch_size is not None:
                    self.batch_sampler = BatchSampler(sampler, self.batch_size, drop_last)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is None:
            return len(self.sampler)
        return len(self.batch_sampler)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` use the permutation of ``epoch`` (for resuming); a
        ``sampler=`` with a ``set_epoch`` of its own (a DistributedSampler) is told too."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)
        if not isinstance(self.sampler, _SeededShuffle) and hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.epoch)  # e.g. a DistributedSampler

    def _index_batches(self) -> Iterator[Any]:
        """The batches of indices of one epoch (NumPy arrays on the default samplers' path)."""
        bs = self.batch_sampler
        own = isinstance(bs, BatchSampler) and isinstance(
            self.sampler, _SeededShuffle | SequentialSampler
        )
        if own and bs.sampler is self.sampler:
            assert self.batch_size is not None
            order = (
                self.sampler.order()
                if isinstance(self.sampler, _SeededShuffle)
                else np.arange(len(self.dataset))
            )
            n = len(order)
            stop = n - n % self.batch_size if self.drop_last else n
            for start in range(0, stop, self.batch_size):
                yield order[start : start + self.batch_size]
        elif bs is not None:
            yield from bs
        else:  # batch_size=None: one index at a time
            yield from self.sampler

    def _samples(self) -> Iterator[list[Any]]:
        """An IterableDataset's stream, cut into lists of ``batch_size`` samples."""
        assert self.batch_size is not None
        batch: list[Any] = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def _batches(self) -> Iterator[Any]:
        """Yield the NumPy (or collate_fn) batches of one epoch; runs on the prefetch thread."""
        if self.num_workers > 0 and self.worker_init_fn is not None:
            self.worker_init_fn(0)
        collate = self.collate_fn or default_collate
        if isinstance(self.dataset, IterableDataset):
            if self.batch_size is None:
                for sample in self.dataset:
                    yield sample if self.collate_fn is None else self.collate_fn(sample)
                return
            for samples in self._samples():
                yield collate(samples)
            return
        if self.batch_size is None and self.batch_sampler is None:
            for i in self.sampler:
                sample = self.dataset[i]
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            return
        source = _array_source(self.dataset) if self.collate_fn is None else None
        for idx in self._index_batches():
            if source is not None:
                arrays, imap = source
                rows = np.asarray(idx, dtype=np.int64)
                rows = rows if imap is None else imap[rows]
                yield tuple(a[rows] for a in arrays)
            else:
                keys = idx.tolist() if isinstance(idx, np.ndarray) else list(idx)
                yield collate([self.dataset[i] for i in keys])

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.sampler, _SeededShuffle):
            self.sampler.set_epoch(self.epoch)
        self.epoch += 1
        batches = self._batches()
        convert = self.collate_fn is None and self.to_tensor
        if not self.prefetch:
            return (tensorize(b, self.device) if convert else b for b in batches)
        return _PrefetchIterator(batches, convert, self.device)

    def __repr__(self) -> str:
        try:
            count = f", batches={len(self)}"
        except TypeError:
            count = ""
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}{count})"
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
