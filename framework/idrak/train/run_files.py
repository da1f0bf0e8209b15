"""Reading a run folder's JSON files without following symlinks; errors name the file."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from idrak.io.safe_files import open_nofollow

__all__ = ["read_json", "read_metrics"]


def read_json(path: Path, default: Any) -> Any:
    """The JSON object in ``path`` (``default`` if there is no file).

    Raises:
        ValueError: the file is a symlink, not valid UTF-8 / JSON, or not an object (named).
    """
    if not path.is_file() and not path.is_symlink():
        return default
    try:
        fd = open_nofollow(path, os.O_RDONLY)
        with os.fdopen(fd, "rb") as f:
            value = json.loads(f.read())
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"{path}: not a valid JSON file (truncated or corrupted?): {exc}"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _jsonable(key: str, value: Any) -> Any:
    """``value`` as plain JSON types (NumPy scalars/arrays, tuples and paths converted)."""
    if hasattr(value, "tolist") and callable(value.tolist):  # NumPy scalars and arrays
        value = value.tolist()
    elif isinstance(value, os.PathLike):
        value = os.fspath(value)
    elif isinstance(value, tuple):
        value = list(value)
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"hyperparameter {key!r} has a value of type {type(value).__name__} that is not "
            f"JSON-serializable: {value!r}"
        ) from exc


def read_metrics(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Records of a metrics.jsonl and the byte length of its intact part.

    A last line without its newline is a write cut short by a crash: it is skipped. Any other
    line that is not a record is skipped with a warning naming the file and the line.

    Raises:
        ValueError: ``path`` is a symlink.
    """
    if not path.is_file() and not path.is_symlink():
        return [], 0
    with os.fdopen(open_nofollow(path, os.O_RDONLY), "rb") as f:
        data = f.read()
    good = data.rfind(b"\n") + 1  # everything after the last newline is a truncated write
    records = []
    for lineno, line in enumerate(data[:good].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            float(rec["value"]), int(rec["step"]), str(rec["name"])
        except (ValueError, KeyError, TypeError, RecursionError):
            warnings.warn(
                f"{path}: line {lineno} is not a metric record, skipped: {line[:80]!r}",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        records.append(rec)
    return records, good
