"""``idrak.accelerator``: PyTorch's ``torch.accelerator`` queries over the plugin registry.

An accelerator is any registered backend other than the host's ``numpy`` one that can run here
(``cuda`` first when there are several, then by name). Nothing is imported beyond the registry.
"""

from __future__ import annotations

from idrak.runtime import plugins as _plugins
from idrak.runtime.devices import Device
from idrak.runtime.devices import device as _device

__all__ = ["current_accelerator", "device_count", "is_available"]

_HOST = "numpy"


def _accelerators() -> list[str]:
    names = [n for n in _plugins.available_backends() if n != _HOST]
    return sorted(names, key=lambda n: (n != "cuda", n))


def is_available() -> bool:
    """Whether any non-host backend is available (and has a device)."""
    return bool(_accelerators())


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator's device 0, or ``None`` when there is none (PyTorch also returns
    ``None`` then; ``check_available`` is accepted and changes nothing, since idrak only ever
    names available backends here)."""
    names = _accelerators()
    return _device(f"{names[0]}:0") if names else None


def device_count() -> int:
    """The number of devices of the current accelerator (0 without one)."""
    names = _accelerators()
    if not names:
        return 0
    return int(_plugins.get_backend(names[0]).capabilities().device_count)
