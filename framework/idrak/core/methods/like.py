"""Tensors made "like" another one: ``new_zeros``, ``new_ones``, ``new_full``, ``new_empty``,
``new_tensor`` and ``type_as``, as PyTorch's Tensor methods.

The ``new_*`` factories take the dtype and device of ``self`` unless ``dtype=`` / ``device=``
are given; the shape is new (varargs or one tuple, as in :func:`idrak.zeros`). They build on the
FULL op through :func:`idrak.full`, so they are leaves that do not require grad unless asked.
"""

from __future__ import annotations

from typing import Any, Self, cast

from idrak.core.methods.base import TensorBase
from idrak.core.methods.conversion import host_buffer
from idrak.runtime.devices import device as _device

__all__ = ["LikeMixin"]


class LikeMixin(TensorBase):
    """``t.new_zeros(2, 3)``, ``t.new_full((2,), 7.0)``, ``t.new_tensor([1, 2])``,
    ``a.type_as(b)``."""

    __slots__ = ()

    def new_full(
        self,
        size: Any,
        fill_value: bool | int | float,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Self:
        """A tensor of shape ``size`` filled with ``fill_value``, with ``self``'s dtype and device
        unless given.

        Raises:
            TypeError: an unknown dtype. ValueError: a negative size.
        """
        from idrak.core.creation import full  # imports the Tensor class: not at module level

        out = full(
            size,
            fill_value,
            self.dtype if dtype is None else dtype,
            self.device if device is None else device,
            requires_grad,
        )
        return cast("Self", out)  # a Tensor, which is what Self is at run time

    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Self:
        """Zeros of shape ``size`` (varargs or a tuple), ``self``'s dtype and device by default."""
        return self.new_full(size, 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Self:
        """Ones of shape ``size`` (varargs or a tuple), ``self``'s dtype and device by default."""
        return self.new_full(size, 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Self:
        """Like :meth:`new_zeros`: idrak never hands out uninitialised memory."""
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(
        self,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Self:
        """A copy of ``data`` (lists, numbers, arrays, Tensors) with ``self``'s dtype and device
        unless given (PyTorch's rule: ``self``'s dtype even for int data)."""
        dt = self.dtype if dtype is None else dtype
        dev = _device(self.device if device is None else device)
        if isinstance(data, TensorBase):
            out = self._from_lazy(data.detach().to(dev).cast(dt).realize().lazy)
        else:
            out = self._from_lazy(host_buffer(data, dt, dev))
        if requires_grad:
            out.requires_grad_()
        return out

    def type_as(self, other: TensorBase) -> Self:
        """``self`` cast to ``other``'s dtype (``self`` itself when they already match).

        Raises:
            TypeError: ``other`` is not a Tensor.
        """
        if not isinstance(other, TensorBase):
            raise TypeError(f"type_as expects a Tensor, got {type(other).__name__}")
        return self if other.dtype == self.dtype else self.cast(other.dtype)
