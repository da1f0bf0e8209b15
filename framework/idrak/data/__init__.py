"""Datasets, samplers, the DataLoader, and dataset loaders with checksums (MNIST, Fashion-MNIST,
names). ``idrak.utils.data`` is the same API under PyTorch's path.

Everything here works on NumPy arrays; only :class:`DataLoader` makes idrak Tensors (one per
batch leaf, on the requested device).
"""

from __future__ import annotations

from idrak.data.collate import default_collate
from idrak.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from idrak.data.distributed_sampler import DistributedSampler
from idrak.data.download import (
    Checksum,
    ChecksumError,
    DatasetNotFoundError,
    cache_dir,
    download_url,
)
from idrak.data.idx import IdxFormatError, read_idx, write_idx
from idrak.data.loader import DataLoader
from idrak.data.names import names_file
from idrak.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from idrak.data.text import CharDataset, names_dataset
from idrak.data.vision import ImageDataset, fashion_mnist, mnist

__all__ = [
    "BatchSampler",
    "CharDataset",
    "Checksum",
    "ChecksumError",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "DistributedSampler",
    "IdxFormatError",
    "ImageDataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "cache_dir",
    "default_collate",
    "download_url",
    "fashion_mnist",
    "mnist",
    "names_dataset",
    "names_file",
    "random_split",
    "read_idx",
    "write_idx",
]
