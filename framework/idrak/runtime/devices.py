"""Device strings, the default device, and their backends.

A device string is ``"<backend>[:index]"``: ``"numpy"``, ``"cuda"``, ``"cuda:1"``, ``"myvendor:0"``.
``"cpu"`` is an alias of ``"numpy"``. The default device is ``"cpu"`` unless ``IDRAK_DEVICE`` or
:func:`set_default_device` says otherwise.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from idrak.errors import DeviceError
from idrak.runtime.plugins import backend_entries, generation, get_backend

if TYPE_CHECKING:
    from idrak.contract.backend import Backend

__all__ = ["Device", "device", "get_default_device", "set_default_device"]

_ALIASES = {"cpu": "numpy"}


class Device:
    """A backend plus a device index. Compare and hash by ``(type, index)``.

    Attributes:
        type: the backend name (``"numpy"``, ``"cuda"``).
        index: the device number within that backend.
        backend: the :class:`~idrak.contract.backend.Backend` instance.
    """

    __slots__ = ("backend", "index", "type")

    def __init__(self, type: str, index: int, backend: Backend) -> None:
        self.type, self.index, self.backend = type, index, backend

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except DeviceError:
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __deepcopy__(self, memo: dict[int, object]) -> Device:
        return self  # a device names hardware; copying a tensor must not copy its backend

    def __copy__(self) -> Device:
        return self

    def __str__(self) -> str:
        return f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"


DeviceLike = str | Device
_cache: dict[str, object] = {}
_default: str | None = None


def device(spec: DeviceLike | None = None, index: int | None = None) -> Device:
    """Resolve a device string (or ``None`` for the default) to a :class:`Device`.

    ``index`` is PyTorch's two-argument form: ``device("cuda", 1)`` is ``device("cuda:1")``.

    Raises:
        DeviceError: malformed string, unknown backend (the message lists the known ones), an
            index beyond the backend's device count, or an ``index`` given twice.
        BackendUnavailableError: the backend exists but cannot run here (with the reason).
    """
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise DeviceError(f"device index must be a non-negative int, got {index!r}")
        if not isinstance(spec, str) or ":" in spec:
            raise DeviceError(f"device({spec!r}, {index}): give the index once")
        spec = f"{spec}:{index}"
    if isinstance(spec, Device):
        return spec
    if spec is None:
        spec = get_default_device_string()
    if not isinstance(spec, str):  # before the cache lookup: spec may not even be hashable
        raise DeviceError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
    gen = generation()
    if _cache.get("__generation__") != gen:
        _cache.clear()
        _cache["__generation__"] = gen
    hit = _cache.get(spec)
    if hit is not None:
        return hit  # type: ignore[return-value]
    name, colon, idx = spec.strip().lower().partition(":")
    name = _ALIASES.get(name, name)
    if colon and not idx.isdigit():  # "numpy:x", "numpy:-1" and "numpy:" alike
        raise DeviceError(f"malformed device {spec!r}: index {idx!r} is not a non-negative int")
    index = int(idx) if idx else 0
    entries = backend_entries()
    if name not in entries:
        aliases = [a for a, target in _ALIASES.items() if target in entries]
        known = ", ".join([*aliases, *sorted(entries)]) or "none (no backend is registered)"
        raise DeviceError(f"unknown device {spec!r}; known devices: {known}")
    be = get_backend(name)
    count = be.capabilities().device_count
    if index >= count:
        raise DeviceError(
            f"device {spec!r} does not exist: backend {name!r} has {count} "
            f"device(s) (indices 0..{count - 1})"
        )
    dev = Device(name, index, be)
    _cache[spec] = dev
    return dev


def get_default_device_string() -> str:
    return _default or os.environ.get("IDRAK_DEVICE") or "cpu"


def get_default_device() -> Device:
    """The device new tensors go to when none is given."""
    return device(None)


def set_default_device(spec: DeviceLike | None) -> None:
    """Set the default device (``None`` restores ``IDRAK_DEVICE`` or ``"cpu"``).

    Raises the same errors as :func:`device`, so a bad default fails here, not later.
    """
    global _default
    if spec is not None:
        device(spec)
    _default = str(spec) if isinstance(spec, Device) else spec
