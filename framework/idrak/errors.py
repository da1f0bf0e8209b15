"""The exceptions idrak raises. Every message names the offending values.

PyTorch raises ``RuntimeError`` for shape mismatches and most argument errors, so every idrak
error is a ``RuntimeError`` too (``except RuntimeError`` ports unchanged), while the errors that
were ``ValueError`` / ``TypeError`` / ``NotImplementedError`` keep those bases (multiple
inheritance): both kinds of ``except`` catch them.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "DeviceError",
    "IdrakError",
    "NotSupportedError",
    "PluginError",
    "ShapeError",
]


class IdrakError(RuntimeError):
    """Base class of idrak's own errors; a ``RuntimeError``, as PyTorch's errors are."""


class ShapeError(IdrakError, ValueError):
    """Shapes that do not fit an op (broadcasting, matmul, reshape, cat, ...).

    Both a ``RuntimeError`` (what PyTorch raises) and a ``ValueError`` (what idrak raised before).
    """


class NotSupportedError(IdrakError, NotImplementedError):
    """A backend was asked for an op, or an op at a dtype, that it does not declare.

    Attributes:
        backend: the backend's registered name.
        op: the op's name (``"MATMUL"``) or a runtime method (``"from_numpy"``).
        dtype: the dtype name involved, if any.
    """

    def __init__(self, backend: str, op: str, dtype: str | None = None, detail: str = "") -> None:
        self.backend, self.op, self.dtype = backend, op, dtype
        msg = f"backend {backend!r} does not support {op}"
        if dtype is not None:
            msg += f" for dtype {dtype}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


class DeviceError(IdrakError, RuntimeError):
    """An unknown or unavailable device, or tensors on different devices in one op."""


class BackendUnavailableError(DeviceError):
    """A backend is registered but cannot run here (no driver, no library, ...)."""


class PluginError(IdrakError):
    """A plugin failed to load, register or validate. ``plugin`` names it."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")
