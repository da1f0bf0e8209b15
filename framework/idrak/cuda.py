"""``idrak.cuda``: PyTorch's ``torch.cuda`` queries, answered by the backend plugin registry.

``idrak.cuda.is_available()`` asks the registry for the backend registered as ``"cuda"``
(:mod:`idrak.runtime.plugins`); whether CuPy is importable is that backend's business, and
nothing here imports it. With no ``cuda`` plugin, or one that reports itself unavailable, the
answers are ``False`` / ``0``, as ``torch.cuda`` answers on a machine without a GPU.

Seeding: idrak has ONE counter-based generator for every device (the same seed gives the same
numbers on every backend), so :func:`manual_seed` and :func:`manual_seed_all` seed it, like
:func:`idrak.manual_seed`.
"""

from __future__ import annotations

from idrak.core import random as _random
from idrak.errors import DeviceError
from idrak.runtime import plugins as _plugins
from idrak.runtime.devices import Device
from idrak.runtime.devices import device as _device

__all__ = [
    "current_device",
    "device_count",
    "get_device_name",
    "initial_seed",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "synchronize",
]

_NAME = "cuda"


def _backend_count(name: str) -> int:
    """Devices of the backend registered as ``name``; 0 when absent or unavailable."""
    if name not in _plugins.backend_entries():
        return 0
    try:
        return int(_plugins.get_backend(name).capabilities().device_count)
    except DeviceError:  # BackendUnavailableError included
        return 0


def is_available() -> bool:
    """Whether a ``cuda`` backend is registered, starts, and sees at least one device."""
    return _backend_count(_NAME) > 0


def device_count() -> int:
    """The number of devices of the ``cuda`` backend (0 when it is absent or unavailable)."""
    return _backend_count(_NAME)


def _check_index(device: int | str | Device | None) -> int:
    if device is None:
        return 0
    if isinstance(device, int) and not isinstance(device, bool):
        index = device
    else:
        d = _device(device) if isinstance(device, str) else device
        if not isinstance(d, Device) or d.type != _NAME:
            raise DeviceError(f"expected a cuda device, got {device!r}")
        index = d.index
    count = device_count()
    if not 0 <= index < count:
        raise DeviceError(f"cuda device {index} does not exist: {count} cuda device(s) here")
    return index


def current_device() -> int:
    """The index of the current cuda device: always 0 (idrak picks devices per tensor).

    Raises:
        DeviceError: no cuda device is available.
    """
    return _check_index(0)


def get_device_name(device: int | str | Device | None = None) -> str:
    """A label for a cuda device: ``"cuda:<index>"`` plus the backend's description.

    Raises:
        DeviceError: no such cuda device.
    """
    index = _check_index(device)
    description = _plugins.backend_entries()[_NAME].description
    return f"cuda:{index} ({description})" if description else f"cuda:{index}"


def synchronize(device: int | str | Device | None = None) -> None:
    """Block until the queued work of a cuda device has finished.

    Raises:
        DeviceError: no such cuda device.
    """
    index = _check_index(device)
    _plugins.get_backend(_NAME).synchronize(index)


def manual_seed(seed: int) -> None:
    """Seed idrak's generator (shared by all devices; see the module docstring)."""
    _random.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed idrak's generator (shared by all devices; see the module docstring)."""
    _random.manual_seed(seed)


def seed() -> None:
    """Seed idrak's generator from the OS entropy pool."""
    _random.seed()


def seed_all() -> None:
    """Seed idrak's generator from the OS entropy pool."""
    _random.seed()


def initial_seed() -> int:
    """The seed idrak's generator was last seeded with."""
    return _random.initial_seed()
