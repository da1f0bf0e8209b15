"""Verified downloads into idrak's data cache (stdlib ``urllib`` + ``hashlib``)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from idrak.errors import IdrakError

__all__ = [
    "Checksum",
    "ChecksumError",
    "DatasetNotFoundError",
    "cache_dir",
    "download_url",
    "verify_file",
]

_CHUNK = 1 << 20


class ChecksumError(IdrakError, ValueError):
    """A file's digest differs from the recorded one. Names the file, expected and got."""


class DatasetNotFoundError(IdrakError, FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable; the message says how to get them."""


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algorithm`` is a ``hashlib`` name (``"sha256"``, ``"md5"``)."""

    algorithm: str
    hexdigest: str

    def __post_init__(self) -> None:
        if self.algorithm not in hashlib.algorithms_guaranteed:
            raise ValueError(
                f"unknown checksum algorithm {self.algorithm!r}; use one of "
                f"{sorted(hashlib.algorithms_guaranteed)}"
            )
        object.__setattr__(self, "hexdigest", self.hexdigest.lower())

    def new(self) -> hashlib._Hash:
        """A fresh ``hashlib`` object of this algorithm."""
        if self.algorithm == "md5":  # an identity check, not security
            return hashlib.md5(usedforsecurity=False)
        return hashlib.new(self.algorithm)


def cache_dir(name: str = "") -> Path:
    """The per-user data cache: ``$XDG_CACHE_HOME/idrak/<name>``, else ``~/.cache/idrak/<name>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "idrak" / name


def _check_all(label: str, checksums: Iterable[Checksum], hashers: list[hashlib._Hash]) -> None:
    for c, h in zip(checksums, hashers):
        got = h.hexdigest()
        if got != c.hexdigest:
            raise ChecksumError(
                f"{label}: {c.algorithm} mismatch: expected {c.hexdigest}, got {got}"
            )


def verify_file(path: str | os.PathLike[str], checksums: Iterable[Checksum]) -> None:
    """Check a file against every checksum given (reading it once).

    Raises:
        ChecksumError: a digest differs (file, algorithm, expected and got are named).
    """
    sums = list(checksums)
    hashers = [c.new() for c in sums]
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            for h in hashers:
                h.update(chunk)
    _check_all(str(path), sums, hashers)


def download_url(
    url: str,
    dest: str | os.PathLike[str],
    checksums: Iterable[Checksum],
    *,
    timeout: float = 60.0,
    progress: bool | None = None,
) -> Path:
    """Download ``url`` to ``dest``, verifying it against ``checksums`` before it appears there.

    The bytes go to a temporary file next to ``dest``; it is renamed to ``dest`` only once every
    checksum matches, so ``dest`` is either absent or complete and verified.

    Args:
        url: an http(s) or file URL.
        dest: the final path; parent directories are created.
        checksums: at least one :class:`Checksum`; all must match.
        timeout: socket timeout in seconds.
        progress: show a tqdm progress bar (default: when stderr is a terminal).

    Raises:
        ChecksumError: a digest differs; the temporary file is deleted.
        OSError / urllib.error.URLError: the download failed; the temporary file is deleted.
        ValueError: no checksums given.
    """
    sums = list(checksums)
    if not sums:
        raise ValueError(f"download_url({url!r}) needs at least one checksum")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    hashers = [c.new() for c in sums]
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length")
            show = sys.stderr.isatty() if progress is None else progress
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(
                    total=int(total) if total else None,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    leave=False,
                )
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                for h in hashers:
                    h.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
            out.flush()
            os.fsync(out.fileno())
        _check_all(f"download of {url}", sums, hashers)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
