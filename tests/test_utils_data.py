"""idrak.utils.data: PyTorch's dataset / sampler / DataLoader API (compared with torch's where
the result is deterministic; random orders checked for their properties and reproducibility)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.data
from idrak.utils import data

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def test_same_objects_as_idrak_data_and_torch_names() -> None:
    assert data.DataLoader is idrak.data.DataLoader
    assert idrak.utils.data is data
    for name in (
        "Dataset", "IterableDataset", "TensorDataset", "DataLoader", "Sampler", "RandomSampler",
        "SequentialSampler", "BatchSampler", "WeightedRandomSampler", "SubsetRandomSampler",
        "Subset", "random_split", "ConcatDataset", "default_collate", "get_worker_info",
    ):  # fmt: skip
        assert hasattr(data, name) and hasattr(tdata, name), name
    assert data.get_worker_info() is None


class Squares(data.Dataset):
    """A torch-style subclass of Dataset with its own __init__."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.array([i, i * i], dtype=np.float32), i % 3


def test_subclassed_dataset_batches_like_torch() -> None:
    ours = [(x.numpy(), y.numpy()) for x, y in data.DataLoader(Squares(7), batch_size=3)]

    class TSquares(tdata.Dataset):
        def __len__(self) -> int:
            return 7

        def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
            return np.array([i, i * i], dtype=np.float32), i % 3

    theirs = [(x.numpy(), y.numpy()) for x, y in tdata.DataLoader(TSquares(), batch_size=3)]
    assert len(ours) == len(theirs) == 3
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_sequential_and_batch_sampler_match_torch() -> None:
    for drop_last in (False, True):
        ours = list(data.BatchSampler(data.SequentialSampler(range(10)), 4, drop_last))
        theirs = list(tdata.BatchSampler(tdata.SequentialSampler(range(10)), 4, drop_last))
        assert ours == theirs
        assert len(data.BatchSampler(range(10), 4, drop_last)) == len(theirs)


def test_random_samplers_are_permutations_and_replay_after_manual_seed() -> None:
    idrak.manual_seed(0)
    a = list(data.RandomSampler(range(20)))
    b = list(data.RandomSampler(range(20)))
    idrak.manual_seed(0)
    assert list(data.RandomSampler(range(20))) == a  # replays
    assert sorted(a) == list(range(20)) and a != b  # a permutation; the next epoch differs
    g = idrak.Generator(7)
    wr = list(data.RandomSampler(range(5), replacement=True, num_samples=50, generator=g))
    assert len(wr) == 50 and set(wr) <= set(range(5)) and len(set(wr)) == 5
    long = list(data.RandomSampler(range(4), num_samples=10, generator=g))
    assert sorted(long[:4]) == sorted(long[4:8]) == [0, 1, 2, 3] and len(long) == 10
    sub = list(data.SubsetRandomSampler([3, 9, 11], generator=g))
    assert sorted(sub) == [3, 9, 11]


def test_weighted_random_sampler_follows_the_weights() -> None:
    w = [0.0, 1.0, 3.0, 6.0]
    picks = np.array(list(data.WeightedRandomSampler(w, 20000, generator=idrak.Generator(1))))
    freq = np.bincount(picks, minlength=4) / len(picks)
    np.testing.assert_allclose(freq, np.array(w) / 10, atol=0.015)
    no_rep = list(data.WeightedRandomSampler(w, 3, replacement=False, generator=idrak.Generator(2)))
    assert sorted(no_rep) == [1, 2, 3]
    with pytest.raises(ValueError, match="num_samples=4 without replacement from 3 positive"):
        data.WeightedRandomSampler(w, 4, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        data.WeightedRandomSampler([1.0, -1.0], 2)
    with pytest.raises(ValueError, match="num_samples must be a positive integer, got 0"):
        data.WeightedRandomSampler(w, 0)


def test_loader_sampler_batch_sampler_and_exclusions() -> None:
    ds = data.TensorDataset(np.arange(10))
    order = [9, 0, 8, 1, 7, 2, 6, 3, 5, 4]
    got = [b[0].numpy().tolist() for b in data.DataLoader(ds, batch_size=4, sampler=order)]
    assert got == [[9, 0, 8, 1], [7, 2, 6, 3], [5, 4]]
    bs = [[0, 1], [5], [2, 3, 4]]
    got = [b[0].numpy().tolist() for b in data.DataLoader(ds, batch_sampler=bs)]
    assert got == bs
    loader = data.DataLoader(ds, batch_size=3, shuffle=True, generator=idrak.Generator(3))
    assert isinstance(loader.sampler, data.RandomSampler) and len(loader) == 4
    seen = np.concatenate([b[0].numpy() for b in loader])
    assert sorted(seen.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        data.DataLoader(ds, sampler=order, shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        data.DataLoader(ds, batch_sampler=bs, batch_size=2)
    with pytest.raises(ValueError, match="num_workers option should be non-negative, got -1"):
        data.DataLoader(ds, num_workers=-1)


def test_torch_only_arguments_are_accepted() -> None:
    ds = data.TensorDataset(np.arange(6), np.arange(6) * 2)
    calls: list[int] = []
    loader = data.DataLoader(
        ds,
        batch_size=4,
        shuffle=False,
        num_workers=4,
        pin_memory=True,
        drop_last=True,
        timeout=5,
        worker_init_fn=calls.append,
        persistent_workers=True,
        prefetch_factor=2,
    )
    (x, y), = list(loader)  # fmt: skip
    assert x.numpy().tolist() == [0, 1, 2, 3] and y.numpy().tolist() == [0, 2, 4, 6]
    assert calls == [0]  # worker_init_fn ran once, for the one in-process worker


def test_collate_fn_with_idrak_stack() -> None:
    samples = [np.full(2, i, np.float32) for i in range(5)]

    def collate(batch: list[np.ndarray]) -> idrak.Tensor:
        return idrak.stack([idrak.tensor(b) for b in batch])

    out = [b.numpy() for b in data.DataLoader(samples, batch_size=2, collate_fn=collate)]
    assert [o.shape for o in out] == [(2, 2), (2, 2), (1, 2)]


def test_batch_size_none_yields_samples() -> None:
    out = list(data.DataLoader(Squares(3), batch_size=None))
    assert len(out) == 3 and isinstance(out[1][0], idrak.Tensor) and out[1][1] == 1


class Count(data.IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.n))


def test_iterable_dataset_matches_torch() -> None:
    ours = [b.numpy().tolist() for b in data.DataLoader(Count(7), batch_size=3)]

    class TCount(tdata.IterableDataset):
        def __iter__(self) -> Iterator[int]:
            return iter(range(7))

    theirs = [b.numpy().tolist() for b in tdata.DataLoader(TCount(), batch_size=3)]
    assert ours == theirs
    dropped = [b.numpy().tolist() for b in data.DataLoader(Count(7), 3, drop_last=True)]
    assert dropped == theirs[:2]
    with pytest.raises(ValueError, match="IterableDataset: shuffle, sampler and batch_sampler"):
        data.DataLoader(Count(3), shuffle=True)


def test_concat_dataset_matches_torch() -> None:
    parts: list[Any] = [list(range(3)), list(range(10, 12)), list(range(20, 24))]
    ours, theirs = data.ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 9
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    with pytest.raises(IndexError, match="index 9 is out of range for length 9"):
        ours[9]
    with pytest.raises(ValueError, match="at least one dataset"):
        data.ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        data.ConcatDataset([Count(2)])


def test_random_split_with_generator_and_fractions() -> None:
    ds = list(range(10))
    a = data.random_split(ds, [0.6, 0.4], generator=idrak.Generator(42))
    b = data.random_split(ds, [6, 4], generator=idrak.Generator(42))
    assert [list(s) for s in a] == [list(s) for s in b]
    assert [len(s) for s in data.random_split(ds, [0.34, 0.33, 0.33])] == [
        len(s) for s in tdata.random_split(ds, [0.34, 0.33, 0.33])
    ]
    assert sorted(x for s in a for x in s) == ds
    with pytest.raises(TypeError, match=r"generator must be an idrak\.Generator"):
        data.random_split(ds, [5, 5], generator=3)
