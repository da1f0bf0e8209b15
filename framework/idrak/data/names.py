"""makemore's ``names.txt`` (32,033 names, one a line): found on disk or downloaded, checksummed."""

from __future__ import annotations

import os
from pathlib import Path

from idrak.data.download import Checksum, DatasetNotFoundError, cache_dir, download_url, verify_file

__all__ = ["NAMES_SHA256", "NAMES_URL", "names_file"]

#: Andrej Karpathy's makemore data set, over https
NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
#: the SHA-256 of that file (computed from a copy of it; every download is checked against it)
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"


def _candidates(root: str | os.PathLike[str] | None) -> list[Path]:
    dirs = [] if root is None else [Path(root)]
    if env := os.environ.get("IDRAK_DATA"):
        dirs.append(Path(env) / "names")
    dirs.append(cache_dir("names"))
    return [d / "names.txt" for d in dirs]


def names_file(
    root: str | os.PathLike[str] | None = None, download: bool = False, *, url: str | None = None
) -> Path:
    """The path of ``names.txt``: in ``root``, ``$IDRAK_DATA/names/`` or the user cache
    (``~/.cache/idrak/names/``), else downloaded there (``download=True``) from
    :data:`NAMES_URL` (or ``url``) and checked against :data:`NAMES_SHA256`.

    Raises:
        DatasetNotFoundError: not found and not downloaded; one paragraph saying how to get it.
        ChecksumError: the download does not match the recorded digest.
    """
    looked = _candidates(root)
    for path in looked:
        if path.is_file():
            return path
    target = looked[0]
    how = (
        f"names.txt not found (looked in {', '.join(str(p.parent) for p in looked)}). To get it: "
        "python -m idrak.data download names; or pass the file's path (one name per line); or "
        "set IDRAK_DATA to a directory holding names/names.txt"
    )
    if not download:
        raise DatasetNotFoundError(how + ".")
    source = url or NAMES_URL
    try:
        download_url(source, target, [Checksum("sha256", NAMES_SHA256)])
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetNotFoundError(
            f"downloading {source} failed ({reason}). "
            + how.split("To get it: ", 1)[0]
            + f"Put names.txt from {source} in {target.parent}, or set IDRAK_DATA."
        ) from None
    verify_file(target, [Checksum("sha256", NAMES_SHA256)])
    return target
