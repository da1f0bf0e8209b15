"""Datasets, the DataLoader, and dataset loaders with checksums (MNIST, Fashion-MNIST, names).

Everything here works on NumPy arrays; only :class:`DataLoader` makes idrak Tensors (one per
batch leaf, on the requested device).
"""

from __future__ import annotations

from .collate import default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .download import Checksum, ChecksumError, DatasetNotFoundError, cache_dir, download_url
from .idx import IdxFormatError, read_idx, write_idx
from .loader import DataLoader
from .text import CharDataset, names_dataset
from .vision import ImageDataset, fashion_mnist, mnist

__all__ = [
    "CharDataset",
    "Checksum",
    "ChecksumError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "IdxFormatError",
    "ImageDataset",
    "Subset",
    "TensorDataset",
    "cache_dir",
    "default_collate",
    "download_url",
    "fashion_mnist",
    "mnist",
    "names_dataset",
    "random_split",
    "read_idx",
    "write_idx",
]
