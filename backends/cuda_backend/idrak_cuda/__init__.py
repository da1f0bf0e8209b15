"""idrak's CUDA backend: CuPy on NVIDIA GPUs (device strings ``cuda``, ``cuda:N``).

Registered through the ``idrak`` entry-point group exactly as a third-party backend would be.
Importing this package does not import CuPy: the backend object is built on first use and imports
``cupy`` only when asked whether it is available or to run an op. Without CuPy or without a GPU,
``idrak backends`` lists ``cuda`` as unavailable with the reason. Install CuPy with
``pip install 'idrak[cuda12]'`` or ``pip install 'idrak[cuda13]'`` (one of the two).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from idrak.contract.hookspecs import hookimpl

from ._errors import CudaError, CudaOutOfMemoryError

__all__ = ["CudaError", "CudaOutOfMemoryError", "idrak_register_backends"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from idrak.contract.backend import Backend


def _factory() -> Backend:
    """Build the backend object; CuPy is imported later, on first use."""
    from ._backend import CudaBackend

    return CudaBackend()


@hookimpl
def idrak_register_backends(register: Callable[..., Any]) -> None:
    """Register the ``cuda`` backend with a lazy factory (see :mod:`idrak.contract.hookspecs`)."""
    register("cuda", _factory, description="CuPy on NVIDIA GPUs (CUDA 12 / 13)")
