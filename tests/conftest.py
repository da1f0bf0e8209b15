"""Shared fixtures for idrak's own tests.

Fixtures only (no autouse fixtures, no collection hooks), so a test gets exactly what it asks
for. One configuration hook: under pytest-xdist each worker gets one host thread, since
``-n 2`` workers that each spin two OpenBLAS threads on two cores make matrix products up to 40x
slower.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import idrak
import idrak.runtime.plugins
from idrak.contract.backend import Backend


def pytest_configure(config: pytest.Config) -> None:
    import os

    if os.environ.get("PYTEST_XDIST_WORKER"):
        idrak.set_num_threads(1)  # idrak's thread policy: BLAS, fused engine and numexpr


#: environment variables that change plugin discovery or device resolution
PLUGIN_ENV = ("IDRAK_PLUGINS", "IDRAK_DISABLE_PLUGINS", "IDRAK_DEVICE")


@pytest.fixture(scope="session")
def numpy_backend() -> Backend:
    """The reference NumPy backend, found through its entry point like any other plugin."""
    return idrak.runtime.plugins.get_backend("numpy")


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear the plugin environment variables and forget discovered plugins, before and after.

    Tests that set ``IDRAK_PLUGINS`` & co. (with ``monkeypatch.setenv``) or register plugins
    should depend on this fixture; the next test then re-discovers from the restored environment.
    """
    for var in PLUGIN_ENV:
        monkeypatch.delenv(var, raising=False)
    idrak.runtime.plugins.reset()
    try:
        yield
    finally:
        idrak.set_default_device(None)
        idrak.runtime.plugins.reset()
