"""idrak's reference backend: NumPy on the CPU.

Registered through the ``idrak`` entry-point group exactly as a third-party backend would be; the
backend class is imported only when the backend is first used.
"""

from __future__ import annotations

from idrak.hookspecs import hookimpl

__all__ = ["idrak_register_backends"]
__version__ = "0.1.0"


def _factory():  # type: ignore[no-untyped-def]
    from ._backend import NumpyBackend

    return NumpyBackend()


@hookimpl
def idrak_register_backends(register):  # type: ignore[no-untyped-def]
    register("numpy", _factory, description="NumPy on the CPU (reference backend)")
