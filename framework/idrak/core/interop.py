"""PyTorch's small top-level helpers for arrays and tensors: ``from_numpy``, ``as_tensor``,
``is_tensor``, ``is_floating_point``, ``numel``.

idrak tensors are values in a lazy graph, so ``from_numpy`` and ``as_tensor`` COPY the array
(PyTorch's share its memory): writing into the NumPy array later does not change the tensor.
``idrak.from_dlpack`` is the zero-copy route.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.core.tensor import Tensor, tensor
from idrak.runtime.devices import DeviceLike

__all__ = ["as_tensor", "from_numpy", "is_floating_point", "is_tensor", "numel"]


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor holding a copy of ``ndarray`` (its dtype kept), on the default device.

    Raises:
        TypeError: ``ndarray`` is not a NumPy array, or has a dtype idrak lacks (named).
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(ndarray).__name__}")
    return tensor(ndarray)


def as_tensor(data: Any, dtype: Any = None, device: DeviceLike | None = None) -> Tensor:
    """``data`` as a Tensor: a Tensor already of that dtype and device is returned as is,
    anything else is copied as by :func:`idrak.tensor`."""
    if isinstance(data, Tensor):
        out = data if device is None else data.to(device)
        return out if dtype is None or out.dtype == dtype else out.cast(dtype)
    return tensor(data, dtype=dtype, device=device)


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
