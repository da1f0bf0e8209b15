"""Atomic file writes: a temporary file in the target's folder, then ``os.replace``.

Every file idrak writes (checkpoints, configs, experiment records, plots, reports, datasets)
goes through here, so an interrupted write never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from idrak.io.safe_files import write_error

__all__ = ["atomic_path", "atomic_write"]


def _default_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask  # mkstemp makes files private; these are ordinary files


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, else is removed.

    For writers that want a file name (``savefig``); see :func:`atomic_write` for bytes.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _default_mode(p))
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    fsync: bool = True,
    writer: Callable[[IO[bytes], bytes], object] | None = None,
) -> Path:
    """Write ``data`` (str is UTF-8 encoded) to ``path`` atomically; returns the path.

    ``fsync`` flushes the data to disk before the rename, so a crash leaves either the old file or
    the complete new one. ``writer(f, data)`` replaces ``f.write`` (a seam for tests).

    Raises:
        OSError: the write failed (a full disk, a file-size limit); the message names ``path``;
            the previous file is left intact and the temporary file removed.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            if writer is not None:
                writer(f, payload)
            else:
                f.write(payload)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
    except OSError as e:
        if e.filename is not None or e.errno is None:
            raise
        raise write_error(e, path, None) from e  # a full disk names the file it hit
    return Path(path)
