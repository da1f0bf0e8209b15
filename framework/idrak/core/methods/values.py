"""A tensor's value on the host: realizing it, NumPy and Python conversions, ``repr``.

:meth:`numpy` is a copy (unlike torch's, which shares memory: the fused engine may write over a
buffer the graph no longer needs); Python conversions (``item``, ``bool``, ``int``, ``float``,
``operator.index``) need one element and raise torch's errors otherwise.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from idrak.contract.dtypes import bool_, get_default_dtype, int64
from idrak.core.methods.base import TensorBase
from idrak.core.methods.inplace import sync_view as _sync_view
from idrak.engine import lazy as _lazy
from idrak.errors import ShapeError

__all__ = ["ValuesMixin"]

Scalar = bool | int | float


class ValuesMixin(TensorBase):
    """Realization, host conversions and printing (see the module docstring)."""

    __slots__ = ()

    def realize(self) -> Self:
        """Compute this tensor's value now. Returns ``self``."""
        if self._base is not None:
            _sync_view(self)
        if self.lazy.buf is None:
            _lazy.realize(self.lazy)
        return self

    def numpy(self) -> np.ndarray:
        """A NumPy copy of the value (realizes it). Unlike torch, allowed on a tensor that
        requires grad: the result is a copy, so it cannot alias the graph."""
        if self._base is not None:
            _sync_view(self)
        lz = self.lazy
        if lz.buf is None:
            _lazy.realize(lz)
        return lz.device.backend.to_numpy(lz.buf)

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ShapeError(f"item() needs a tensor with one element, got shape {self.shape}")
        value: Scalar = self.numpy().reshape(()).item()
        return value

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise ShapeError(
                f"the truth value of a tensor with {self.numel()} elements "
                f"(shape {self.shape}) is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "ui":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Any:
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self) -> str:
        """PyTorch's format: ``tensor([1.5000, 2.0000], dtype=idrak.float64, grad_fn=<...>)``."""
        from idrak.core._printing import add_suffixes, format_array

        arr = self.numpy()
        suffixes = []
        dflt = get_default_dtype()
        if self.device.type != "numpy":
            suffixes.append(f"device='{self.device}'")
        if arr.size == 0:
            if self.ndim != 1:
                suffixes.append(f"size={self.shape}")
            if self.dtype != dflt:
                suffixes.append(f"dtype={self.dtype!r}")
        elif self.dtype not in (dflt, int64, bool_):
            suffixes.append(f"dtype={self.dtype!r}")
        if self._ctx is not None:
            name = "".join(w.capitalize() for w in self._ctx[0].name.split("_"))
            suffixes.append(f"grad_fn=<{name}Backward0>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return add_suffixes("tensor(" + format_array(arr, self.dtype.kind == "f"), suffixes)

    def __format__(self, spec: str) -> str:
        if spec and self.ndim == 0:  # f"{loss:.3f}" on a 0-d tensor, as torch allows
            return format(self.item(), spec)
        return object.__format__(self, spec) if spec else repr(self)
