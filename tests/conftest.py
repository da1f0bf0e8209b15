"""Shared fixtures for idrak's own tests.

Fixtures only (no autouse fixtures, no collection hooks), so a test gets exactly what it asks
for. One configuration hook: under pytest-xdist each worker gets one host thread, since
``-n 2`` workers that each spin two OpenBLAS threads on two cores make matrix products up to 40x
slower.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

import idrak
import idrak.runtime.plugins
from idrak.contract.backend import Backend

#: hypothesis also caches the constants it finds in the source (``.hypothesis/constants``,
#: whatever the database setting): keep that out of the checkout too
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "idrak-hypothesis")
)

#: hypothesis profiles: ``ci`` (the default: derandomized, no example database written, no
#: deadline, the fuzz suite's fixed number of examples per op) and ``thorough`` for long local
#: runs (``pytest tests/fuzz --hypothesis-profile=thorough``). Tests that pass their own
#: ``max_examples`` keep it under either profile.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "thorough",
    derandomize=False,
    database=None,
    deadline=None,
    max_examples=1000,
    suppress_health_check=_QUIET,
)
settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
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
