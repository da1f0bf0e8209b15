"""Shared fixtures for idrak's own tests.

Fixtures only: no autouse fixtures and no collection hooks, so a test gets exactly what it asks
for and new fixtures can be added here without changing the behaviour of existing tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import idrak
import idrak.plugins
from idrak.backend import Backend

#: environment variables that change plugin discovery or device resolution
PLUGIN_ENV = ("IDRAK_PLUGINS", "IDRAK_DISABLE_PLUGINS", "IDRAK_DEVICE")


@pytest.fixture(scope="session")
def numpy_backend() -> Backend:
    """The reference NumPy backend, found through its entry point like any other plugin."""
    return idrak.plugins.get_backend("numpy")


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear the plugin environment variables and forget discovered plugins, before and after.

    Tests that set ``IDRAK_PLUGINS`` & co. (with ``monkeypatch.setenv``) or register plugins
    should depend on this fixture; the next test then re-discovers from the restored environment.
    """
    for var in PLUGIN_ENV:
        monkeypatch.delenv(var, raising=False)
    idrak.plugins.reset()
    try:
        yield
    finally:
        idrak.set_default_device(None)
        idrak.plugins.reset()
