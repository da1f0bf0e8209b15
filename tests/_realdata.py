"""Where the real datasets live, and how tests that need them skip or fail.

A test marked ``@pytest.mark.realdata`` calls :func:`need` for each path it reads. A missing
path skips the test, unless ``IDRAK_REQUIRE_DATA=1``, in which case it fails (CI sets this on
machines that must have the data).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: the shared data checkout: $IDRAK_SHARED, else ../shared next to the repository root
SHARED = Path(
    os.environ.get("IDRAK_SHARED") or Path(__file__).resolve().parents[1].parent / "shared"
)
MNIST_DIR = SHARED / "data" / "mnist"  # the MNIST test split (t10k-*.gz)
NAMES_FILE = SHARED / "data" / "names" / "names.txt"  # makemore's names, one per line
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist


def required() -> bool:
    """True when missing data must fail tests instead of skipping them."""
    return os.environ.get("IDRAK_REQUIRE_DATA", "") == "1"


def need(path: Path, what: str, *files: str) -> Path:
    """Return ``path`` if it (and every name in ``files`` inside it) exists; else skip or fail."""
    missing = [p for p in [path, *(path / f for f in files)] if not p.exists()]
    if not missing:
        return path
    msg = f"{what} not found: missing {[str(p) for p in missing]}"
    if required():
        pytest.fail(f"{msg} (IDRAK_REQUIRE_DATA=1 requires it)")
    pytest.skip(f"{msg}; set IDRAK_REQUIRE_DATA=1 to fail instead")
