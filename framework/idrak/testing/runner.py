"""``idrak conformance NAME``: run the conformance suite in-process and print its report."""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["run_conformance"]


def run_conformance(
    backend: str, json_path: str | None = None, xfails: str | None = None, extra: Sequence[str] = ()
) -> int:
    """Run idrak's conformance suite on ``backend``; return pytest's exit code (0: all passed).

    Equivalent to ``pytest --pyargs idrak.testing --idrak-backend=BACKEND``, run in this process,
    except that the ``addopts`` and ``filterwarnings`` of the current project's pytest
    configuration are ignored, so it behaves the same in any directory. The per-op table is
    printed at the end.

    Args:
        backend: the registered backend name (see ``idrak backends``).
        json_path: also write the JSON report here.
        xfails: TOML or JSON file of expected failures and relaxed tolerances.
        extra: more pytest arguments (``-x``, ``-k MAX``, ``-v``...).
    """
    import pytest

    args = [
        "--pyargs",
        "idrak.testing",
        "--idrak-backend",
        backend,
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-o",
        "filterwarnings=",
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "idrak.testing.plugin"]
    if json_path:
        args += ["--idrak-report", str(json_path)]
    if xfails:
        args += ["--idrak-xfails", str(xfails)]
    return int(pytest.main([*args, *extra]))
