"""pytest plugin entry point (``pytest11``); inert unless ``--idrak-backend`` is given."""

from __future__ import annotations

from typing import Any


def pytest_addoption(parser: Any) -> None:
    g = parser.getgroup("idrak", "idrak backend conformance")
    g.addoption("--idrak-backend", default=None, help="backend to run the conformance suite on")
    g.addoption("--idrak-xfails", default=None, help="file listing expected failures")
    g.addoption("--idrak-report", default=None, help="write a JSON report to this path")
