"""MNIST and Fashion-MNIST: found on disk or downloaded, checksummed, read as NumPy arrays."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from idrak.data.dataset import TensorDataset
from idrak.data.download import (
    Checksum,
    ChecksumError,
    DatasetNotFoundError,
    cache_dir,
    download_url,
)
from idrak.data.idx import IdxFormatError, parse_idx, read_bytes

__all__ = [
    "FASHION_MNIST",
    "MNIST",
    "DatasetSpec",
    "ImageDataset",
    "RemoteFile",
    "fashion_mnist",
    "mnist",
]


@dataclass(frozen=True)
class RemoteFile:
    """One published file.

    Attributes:
        name: the file name on the server and on disk.
        checksums: digests of the file exactly as published (all are checked on download).
        raw_sha256: SHA-256 of the decompressed content; identifies a local copy even when a
            distribution recompressed it (Debian's ``dataset-fashion-mnist`` did).
    """

    name: str
    checksums: tuple[Checksum, ...]
    raw_sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives: its files per split, official URL, and system install paths."""

    name: str
    title: str
    base_url: str
    files: dict[str, tuple[RemoteFile, RemoteFile]]  # split -> (images, labels)
    classes: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None


def _file(name: str, sha256: str, md5: str, raw_sha256: str) -> RemoteFile:
    return RemoteFile(name, (Checksum("sha256", sha256), Checksum("md5", md5)), raw_sha256)


# The mirror torchvision uses; the files are byte-identical to Yann LeCun's originals (their
# published MD5s are checked too). SHA-256s of the test files were computed from local copies.
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    files={
        "train": (
            _file(
                "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            _file(
                "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
        ),
        "test": (
            _file(
                "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "9fb629c4189551a2d022fa330f9573f3",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            _file(
                "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                "ec29112dd5afa0611ce80d1b7f02629c",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        ),
    },
    classes=tuple(str(d) for d in range(10)),
)

# Official Zalando files, served over https from the project's own repository (the same bytes as
# its S3 bucket, whose website endpoint is plain http; the md5s are those Zalando publishes); the
# raw SHA-256s were computed from Debian's recompressed copies and agree with published ones.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    base_url="https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    files={
        "train": (
            _file(
                "train-images-idx3-ubyte.gz",
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            _file(
                "train-labels-idx1-ubyte.gz",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
        ),
        "test": (
            _file(
                "t10k-images-idx3-ubyte.gz",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "bef4ecab320f06d8554ea6380940ec79",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            _file(
                "t10k-labels-idx1-ubyte.gz",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                "bb300cfdad3c16e7a12a480ee83cd310",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        ),
    },
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    apt_package="dataset-fashion-mnist",
)


class ImageDataset(TensorDataset):
    """Images and labels of one split; a :class:`TensorDataset` of ``(images, labels)``.

    Attributes:
        images: ``uint8 (N, 28, 28)``; with ``normalize=True`` ``float32 (N, 1, 28, 28)`` in
            ``[0, 1]``; with ``flatten=True`` ``(N, 784)`` of either dtype.
        labels: ``int64 (N,)``, class indices into ``classes``.
        classes: the class names.
        split: ``"train"`` or ``"test"``.
        root: the directory the files were read from.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        classes: tuple[str, ...],
        split: str,
        root: Path,
    ) -> None:
        super().__init__(images, labels)
        self.classes, self.split, self.root = classes, split, root

    @property
    def images(self) -> np.ndarray:
        return self.arrays[0]

    @property
    def labels(self) -> np.ndarray:
        return self.arrays[1]


def _search_dirs(spec: DatasetSpec, root: str | os.PathLike[str] | None) -> list[Path]:
    """``root``, ``$IDRAK_DATA/<name>``, the user cache, then system install directories."""
    dirs = [] if root is None else [Path(root)]
    if env := os.environ.get("IDRAK_DATA"):
        dirs.append(Path(env) / spec.name)
    dirs.append(cache_dir(spec.name))
    dirs.extend(Path(d) for d in spec.system_dirs)
    return dirs


def _how_to_get(spec: DatasetSpec, names: list[str], looked: list[Path], target: Path) -> str:
    """One paragraph: what is missing, where idrak looked, and the ways to get the files."""
    ways = [f"python -m idrak.data download {spec.name}"]
    if spec.apt_package:
        ways.append(f"apt-get install {spec.apt_package} (as root; else with sudo)")
    ways.append(f"put {', '.join(names)} from {spec.base_url} in {target}")
    ways.append(f"set IDRAK_DATA to a directory holding {spec.name}/ with those files")
    return (
        f"{spec.title} not found (looked in {', '.join(str(p) for p in looked)}). "
        f"To get it: {'; or '.join(ways)}."
    )


def _read_verified(path: Path, f: RemoteFile, verify: bool) -> np.ndarray:
    raw = read_bytes(path)
    if verify:
        got = hashlib.sha256(raw).hexdigest()
        if got != f.raw_sha256:
            raise ChecksumError(
                f"{path}: decompressed content sha256 mismatch: expected {f.raw_sha256}, got "
                f"{got}; delete the file to download it again, or pass verify=False"
            )
    return parse_idx(raw, str(path))


def load_split(
    spec: DatasetSpec,
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    normalize: bool = False,
    flatten: bool = False,
    base_url: str | None = None,
    verify: bool = True,
) -> ImageDataset:
    """Find (or download) one split of ``spec`` and read it; see :func:`mnist` for the args."""
    if split not in spec.files:
        raise ValueError(f"{spec.title} split must be one of {sorted(spec.files)}, got {split!r}")
    wanted = spec.files[split]
    names = [f.name for f in wanted]
    looked = _search_dirs(spec, root)
    found = next((d for d in looked if all((d / n).is_file() for n in names)), None)
    if found is None:
        target = Path(root) if root is not None else cache_dir(spec.name)
        if not download:
            raise DatasetNotFoundError(_how_to_get(spec, names, looked, target))
        url = base_url or os.environ.get("IDRAK_DATA_URL") or spec.base_url
        url = url.replace("{name}", spec.name).rstrip("/") + "/"
        for f in wanted:
            if (target / f.name).is_file():
                continue
            try:
                download_url(url + f.name, target / f.name, f.checksums)
            except OSError as exc:  # URLError is an OSError; ChecksumError is not caught
                reason = getattr(exc, "reason", None) or exc
                raise DatasetNotFoundError(
                    f"downloading {url + f.name} failed ({reason}). "
                    + _how_to_get(spec, names, looked, target).replace(
                        f"python -m idrak.data download {spec.name}; or ", ""
                    )
                ) from None
        found = target
    images = _read_verified(found / wanted[0].name, wanted[0], verify)
    labels = _read_verified(found / wanted[1].name, wanted[1], verify)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise IdxFormatError(
            f"{found}: expected images (N, H, W) and labels (N,), got {images.shape} and "
            f"{labels.shape}"
        )
    out: np.ndarray = images
    if normalize:
        out = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    if flatten:
        out = out.reshape(out.shape[0], -1)
    return ImageDataset(out, labels.astype(np.int64), spec.classes, split, found)


Split = Literal["train", "test"]


def mnist(
    split: Split = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    normalize: bool = False,
    flatten: bool = False,
    base_url: str | None = None,
    verify: bool = True,
) -> ImageDataset:
    """The MNIST handwritten digits (LeCun et al., 1998): 60,000 train / 10,000 test images.

    Args:
        split: ``"train"`` or ``"test"``.
        root: a directory holding the ``.gz`` files. The first directory holding the split's
            two files wins: ``root``, ``$IDRAK_DATA/mnist``, ``$XDG_CACHE_HOME/idrak/mnist``
            (default ``~/.cache/idrak/mnist``). Downloads go to ``root``, else to that cache.
        download: fetch missing files from ``base_url`` (default ``$IDRAK_DATA_URL`` or the
            official mirror; ``{name}`` in it becomes ``mnist``), checked against SHA-256 and MD5.
        normalize: ``float32`` images in ``[0, 1]`` of shape ``(N, 1, 28, 28)``; default ``uint8``
            ``(N, 28, 28)``.
        flatten: images of shape ``(N, 784)``.
        verify: check the SHA-256 of the decompressed files on every load (~0.1 s).

    Returns:
        An :class:`ImageDataset` (a TensorDataset of images and ``int64`` labels).

    Raises:
        DatasetNotFoundError: the files are missing and cannot be downloaded; the message lists
            the directories searched and how to get the files.
        ChecksumError: a downloaded or local file does not match its recorded digest.
        IdxFormatError: a file is not valid IDX.
    """
    return load_split(
        MNIST,
        split,
        root,
        download,
        normalize=normalize,
        flatten=flatten,
        base_url=base_url,
        verify=verify,
    )


def fashion_mnist(
    split: Split = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    normalize: bool = False,
    flatten: bool = False,
    base_url: str | None = None,
    verify: bool = True,
) -> ImageDataset:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017, arXiv:1708.07747): 10 clothing classes.

    Same arguments, result and errors as :func:`mnist`; the directory name is ``fashion-mnist``,
    and ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package ``dataset-fashion-mnist``)
    is searched last.
    """
    return load_split(
        FASHION_MNIST,
        split,
        root,
        download,
        normalize=normalize,
        flatten=flatten,
        base_url=base_url,
        verify=verify,
    )
