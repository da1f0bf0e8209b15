"""``Parameter``: a Tensor that a :class:`~idrak.nn.Module` registers as learnable."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor, tensor

__all__ = ["Parameter", "is_parameter"]


class Parameter(Tensor):
    """A leaf Tensor that a Module lists in ``.params`` and optimizers update.

    Assigning a Parameter to a Module attribute registers it (``self.weight = Parameter(t)``).
    It shares ``t``'s value (no copy) and is always a leaf; ops on it return plain Tensors.
    ``requires_grad`` is ``True`` unless frozen (:meth:`~idrak.nn.Module.freeze`); a frozen
    parameter stays a parameter.

    Args:
        data: a Tensor (its value is shared, its graph dropped) or anything
            :func:`idrak.tensor` accepts.
        requires_grad: whether gradients are accumulated into ``.grad``. Only floating-point
            parameters can require grad.

    Raises:
        IdrakError: ``requires_grad=True`` for a non-floating dtype.
    """

    __slots__ = ()

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Parameter:
        src = data if isinstance(data, Tensor) else tensor([] if data is None else data)
        p = Tensor.__new__(cls)
        p.lazy, p.grad, p._ctx, p.requires_grad = src.lazy, None, None, False
        p._base, p._vers = None, 0
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (Tensor.__init__ would copy the data)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        """A new Parameter with the same value (values are replaced, never mutated in place)."""
        out = Parameter(Tensor._from_lazy(self.lazy), self.requires_grad)
        memo[id(self)] = out
        return out


def is_parameter(obj: object) -> bool:
    """Whether ``obj`` is a :class:`Parameter`."""
    return isinstance(obj, Parameter)
