"""More activations as ``nn.functional`` functions (re-exported there):
celu, selu, hardtanh, hardsigmoid, hardswish, softsign, softmin, mish. Each calls the Tensor
method of the same name (:mod:`idrak.core.methods.activation_more`); ``inplace`` is accepted for
PyTorch compatibility and ignored (idrak computes a new value)."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor

__all__ = ["celu", "hardsigmoid", "hardswish", "hardtanh", "mish", "selu", "softmin", "softsign"]


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (Barron 2017)."""
    return input.celu(alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the constants of Klambauer et al. 2017."""
    return input.selu()


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]`` (gradient 0 at and beyond the bounds)."""
    return input.hardtanh(min_val, max_val)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``."""
    return input.hardsigmoid()


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (Howard et al. 2019)."""
    return input.hardswish()


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input.softsign()


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``softmax(-x)`` along ``dim`` (torch's implicit dim when None); ``dtype`` casts the input
    first, as torch."""
    x = input.cast(dtype) if dtype is not None else input
    return x.softmin(dim)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (Misra 2019)."""
    return input.mish()
