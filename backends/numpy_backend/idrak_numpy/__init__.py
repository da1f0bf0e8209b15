"""idrak's reference backend: NumPy on the CPU.

Registered through the ``idrak`` entry-point group exactly as a third-party backend would be; the
backend class is imported only when the backend is first used. Public classes:
:class:`~idrak_numpy.array_backend.ArrayBackend` (every op over an array module with NumPy's API:
the base of this backend and of ``idrak_cuda``) and :class:`NumpyBackend`. The package imports
only :mod:`idrak.contract`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from idrak.contract.hookspecs import hookimpl

if TYPE_CHECKING:
    from ._backend import NumpyBackend
    from .array_backend import ArrayBackend

__all__ = ["ArrayBackend", "NumpyBackend", "idrak_register_backends"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:  # the classes load on first use: registration stays cheap
    if name == "NumpyBackend":
        from ._backend import NumpyBackend

        return NumpyBackend
    if name == "ArrayBackend":
        from .array_backend import ArrayBackend

        return ArrayBackend
    raise AttributeError(f"module 'idrak_numpy' has no attribute {name!r}")


def _factory() -> NumpyBackend:
    from ._backend import NumpyBackend

    return NumpyBackend()


@hookimpl
def idrak_register_backends(register: Callable[..., Any]) -> None:
    register("numpy", _factory, description="NumPy on the CPU (reference backend)")
