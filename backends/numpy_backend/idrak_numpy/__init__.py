"""idrak's reference backend: NumPy on the CPU.

Registered through the ``idrak`` entry-point group exactly as a third-party backend would be; the
backend class is imported only when the backend is first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from idrak.hookspecs import hookimpl

if TYPE_CHECKING:
    from ._backend import NumpyBackend

__all__ = ["idrak_register_backends"]
__version__ = "0.1.0"


def _factory() -> NumpyBackend:
    from ._backend import NumpyBackend

    return NumpyBackend()


@hookimpl
def idrak_register_backends(register: Callable[..., Any]) -> None:
    register("numpy", _factory, description="NumPy on the CPU (reference backend)")
