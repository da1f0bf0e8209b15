"""Helpers shared by the layers: argument checks and parameter creation."""

from __future__ import annotations

from typing import Any

from idrak.core import creation
from idrak.nn.parameter import Parameter

__all__ = ["check_positive", "new_param"]


def check_positive(layer: str, **values: Any) -> None:
    """Raise ``ValueError`` naming the first argument that is not a positive int."""
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")


def check_number(layer: str, **values: Any) -> None:
    """Raise ``TypeError`` naming the first argument that is not a real number (None allowed)."""
    for name, v in values.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise TypeError(f"{layer}: {name} must be a number, got {v!r}")


def new_param(*shape: int, dtype: Any = None, device: Any = None, fill: float = 0.0) -> Parameter:
    """A Parameter of ``shape`` filled with ``fill`` (layers then run reset_parameters)."""
    return Parameter(creation.full(shape, float(fill), dtype=dtype, device=device))
