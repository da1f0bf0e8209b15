"""PyTorch's small top-level predicates on tensors: ``is_tensor``, ``is_floating_point``,
``numel``. (``from_numpy`` and ``as_tensor``, which share memory as torch's do, are in
:mod:`idrak.core.dlpack`.)"""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor

__all__ = ["is_floating_point", "is_tensor", "numel"]


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is an idrak Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input`` has a floating dtype. Raises TypeError for a non-Tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point expects a Tensor, got {type(input).__name__}")
    return input.dtype.is_floating_point


def numel(input: Tensor) -> int:
    """The number of elements of ``input``. Raises TypeError for a non-Tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel expects a Tensor, got {type(input).__name__}")
    return input.numel()
