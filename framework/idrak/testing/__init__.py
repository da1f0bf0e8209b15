"""idrak's backend conformance suite: a pytest plugin and the tests it runs.

A backend author runs it from their own repository, with no test code of their own::

    pytest --pyargs idrak.testing --idrak-backend=NAME [--idrak-xfails FILE] [--idrak-report PATH]
    idrak conformance NAME [--json PATH] [--xfails FILE]

The suite is layered in dependency order (runtime, primitive, capabilities, optional, autograd,
model, transfer, random); a check whose dependency failed is skipped naming that root cause, so
one bug shows as one failure. Every failure comes with a Python snippet that reproduces it.
See ``docs/conformance.md`` for the layers, checks, tolerances and report format, and
:mod:`idrak.testing.tolerances` for the tolerance table.

Importing this package is cheap (pytest imports it in every run through the ``pytest11`` entry
point); the suite's machinery loads only when a backend is given.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_conformance", "tolerances"]


def __getattr__(name: str) -> Any:
    # lazy: `import idrak.testing` must not import numpy, hypothesis or the suite
    if name == "run_conformance":
        from idrak.testing.runner import run_conformance

        return run_conformance
    raise AttributeError(f"module 'idrak.testing' has no attribute {name!r}")
