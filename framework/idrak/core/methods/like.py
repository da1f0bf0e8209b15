"""Tensors made "like" another one: ``new_zeros``, ``new_ones``, ``new_full``, ``new_empty``,
``new_tensor`` and ``type_as``, as PyTorch's Tensor methods.

The ``new_*`` factories take the dtype and device of ``self`` unless ``dtype=`` / ``device=``
are given; the shape is new (varargs or one tuple, as in :func:`idrak.zeros`). They build on the
FULL op through :func:`idrak.full`, so they are leaves that do not require grad unless asked.
"""

# mypy: disable-error-code="misc"

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idrak.core.tensor import Tensor

__all__ = ["LikeMixin"]


class LikeMixin:
    """``t.new_zeros(2, 3)``, ``t.new_full((2,), 7.0)``, ``t.new_tensor([1, 2])``,
    ``a.type_as(b)``."""

    def new_full(
        self: Tensor,
        size: Any,
        fill_value: bool | int | float,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """A tensor of shape ``size`` filled with ``fill_value``, with ``self``'s dtype and device
        unless given.

        Raises:
            TypeError: an unknown dtype. ValueError: a negative size.
        """
        from idrak.core.creation import full

        return full(
            size,
            fill_value,
            self.dtype if dtype is None else dtype,
            self.device if device is None else device,
            requires_grad,
        )

    def new_zeros(
        self: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Zeros of shape ``size`` (varargs or a tuple), ``self``'s dtype and device by default."""
        from idrak.core.tensor import _shape_of

        return self.new_full(
            _shape_of(size), 0, dtype=dtype, device=device, requires_grad=requires_grad
        )

    def new_ones(
        self: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Ones of shape ``size`` (varargs or a tuple), ``self``'s dtype and device by default."""
        from idrak.core.tensor import _shape_of

        return self.new_full(
            _shape_of(size), 1, dtype=dtype, device=device, requires_grad=requires_grad
        )

    def new_empty(
        self: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Like :meth:`new_zeros`: idrak never hands out uninitialised memory."""
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(
        self: Tensor,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """A copy of ``data`` (lists, numbers, arrays, Tensors) with ``self``'s dtype and device
        unless given (PyTorch's rule: ``self``'s dtype even for int data)."""
        from idrak.core.tensor import tensor

        return tensor(
            data,
            self.dtype if dtype is None else dtype,
            self.device if device is None else device,
            requires_grad,
        )

    def type_as(self: Tensor, other: Tensor) -> Tensor:
        """``self`` cast to ``other``'s dtype (``self`` itself when they already match).

        Raises:
            TypeError: ``other`` is not a Tensor.
        """
        from idrak.core.tensor import Tensor

        if not isinstance(other, Tensor):
            raise TypeError(f"type_as expects a Tensor, got {type(other).__name__}")
        return self if other.dtype == self.dtype else self.cast(other.dtype)
