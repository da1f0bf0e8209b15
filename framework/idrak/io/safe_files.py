"""File access that never follows symlinks out of a folder idrak owns (a run directory).

Used by :class:`idrak.train.Experiment` for every file it writes or truncates: the path is
checked to lie inside the run folder after resolving, every folder on the way is created (or
checked) without following links, and files are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

__all__ = [
    "inside",
    "make_dirs",
    "open_nofollow",
    "remove_stale_temps",
    "write_error",
]

#: the names :func:`idrak.io.atomic.atomic_path` gives its temporary files
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")


def write_error(e: OSError, path: str | os.PathLike[str], written: int | None = None) -> OSError:
    """``e`` re-made to name ``path`` (and the bytes written, if known): a full disk or a
    file-size limit then says which file it hit."""
    extra = f", {written} bytes written" if written is not None else ""
    msg = f"{e.strerror or e} (writing {os.fspath(path)!r}{extra})"
    new = type(e)(e.errno, msg, os.fspath(path)) if e.errno is not None else OSError(msg)
    return new


def inside(root: Path, path: Path) -> Path:
    """``path`` (under ``root``, or relative to it) after checking it stays inside ``root``:
    no component between ``root`` and the file may be a symlink, and the resolved parent must
    be ``root`` or below it.

    Raises:
        ValueError: a symlink on the way, or a path that leaves ``root`` (both named).
    """
    root_r = root.resolve()
    try:
        rel, full = path.relative_to(root), path  # a path that starts with ``root``
    except ValueError:
        if path.is_absolute():
            raise ValueError(f"{str(path)!r} is not inside {str(root)!r}") from None
        rel, full = path, root / path
    cur = root
    for part in rel.parts:
        cur = cur / part
        if cur.is_symlink():
            raise ValueError(
                f"{str(cur)!r} is a symlink; idrak does not write through links in {str(root)!r}"
            )
    parent = full.parent.resolve()
    if parent != root_r and root_r not in parent.parents:
        raise ValueError(f"{str(full)!r} resolves outside {str(root)!r}")
    return full


def make_dirs(root: Path, rel: Path) -> Path:
    """Create ``root/rel`` folder by folder, refusing any component that is a symlink.

    Raises:
        ValueError: a component is a symlink or not a folder (named).
    """
    cur = root
    for part in rel.parts:
        cur = cur / part
        try:
            os.mkdir(cur)
        except FileExistsError:
            st = os.lstat(cur)
            if not stat.S_ISDIR(st.st_mode):
                raise ValueError(
                    f"{str(cur)!r} is a symlink or a file, not a folder; idrak does not write "
                    "through links"
                ) from None
    return cur


def open_nofollow(path: Path, flags: int, mode: int = 0o666) -> int:
    """``os.open`` with ``O_NOFOLLOW`` (and ``O_CLOEXEC``): a symlink at ``path`` is refused.

    Raises:
        ValueError: ``path`` is a symlink. OSError: from ``open``.
    """
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(
                f"{str(path)!r} is a symlink; idrak does not write through links"
            ) from None
        raise


def remove_stale_temps(root: Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic write left under ``root`` (links are
    not followed); returns what was removed."""
    removed = []
    for dirpath, _dirs, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            p = Path(dirpath) / name
            if _TEMP.match(name) and not p.is_symlink():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed
