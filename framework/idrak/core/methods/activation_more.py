"""More activations: CELU, SELU, the "hard" piecewise-linear family, softsign and softmin.

Each piecewise function is one WHERE per kink, so the gradient at a kink is exactly torch's
(hardtanh and hardsigmoid pass 0 at their boundaries; hardswish has 0 at -3 and 1 at 3, the
outer pieces' slopes; CELU/SELU take the ``x > 0`` branch's slope only for ``x > 0``).
"""

from __future__ import annotations

from typing import Self, TypeVar

from idrak.core.methods.base import TensorBase

__all__ = ["SELU_ALPHA", "SELU_SCALE", "MoreActivationMixin"]

T = TypeVar("T", bound=TensorBase)

#: the SELU constants of Klambauer et al., "Self-Normalizing Neural Networks" (NeurIPS 2017)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _softmax_dim(ndim: int) -> int:
    """torch's implicit softmax dim (``_get_softmax_dim``): 0 for 0-, 1- and 3-d inputs, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


class MoreActivationMixin(TensorBase):
    """celu, selu, hardtanh, hardsigmoid, hardswish, softsign, softmin."""

    __slots__ = ()

    def celu(self, alpha: float = 1.0) -> Self:
        """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (Barron 2017).

        Raises:
            ValueError: ``alpha == 0``.
        """
        if alpha == 0:
            raise ValueError("celu: alpha must not be 0")
        x = self._float()
        neg = (x > 0)._select(0.0, x)  # the exp branch never sees a large positive argument
        return (x > 0)._select(x, ((neg / alpha).exp() - 1.0) * alpha)

    def selu(self) -> Self:
        """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with the fixed constants of
        Klambauer et al. 2017 (:data:`SELU_ALPHA`, :data:`SELU_SCALE`)."""
        return self._float().elu(SELU_ALPHA) * SELU_SCALE

    def hardtanh(self, min_val: float = -1.0, max_val: float = 1.0) -> Self:
        """``x`` clipped to ``[min_val, max_val]``; gradient 1 strictly inside, else 0 (torch).

        Raises:
            ValueError: ``max_val < min_val``.
        """
        if max_val < min_val:
            raise ValueError(f"hardtanh: max_val ({max_val}) must be >= min_val ({min_val})")
        x = self
        return (
            (x <= min_val)
            ._select(min_val, (x >= max_val)._select(max_val, x))
            .cast(x.dtype if x.dtype.kind == "f" else _promoted(x, min_val, max_val))
        )

    def hardsigmoid(self) -> Self:
        """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, ``x/6 + 1/2`` between (gradient 0 at
        the ends, as torch)."""
        x = self._float()
        return (x <= -3.0)._select(0.0, (x >= 3.0)._select(1.0, x / 6.0 + 0.5))

    def hardswish(self) -> Self:
        """``x * relu6(x + 3) / 6`` (Howard et al., "Searching for MobileNetV3", 2019)."""
        x = self._float()
        return (x <= -3.0)._select(0.0, (x < 3.0)._select(x * (x + 3.0) / 6.0, x))

    def softsign(self) -> Self:
        """``x / (1 + |x|)``."""
        x = self._float()
        return x / (x.abs() + 1.0)

    def softmin(self, dim: int | None = None) -> Self:
        """``softmax(-x)`` along ``dim`` (torch's implicit dim when None: 0 for 0/1/3-d inputs,
        else 1)."""
        d = _softmax_dim(self.ndim) if dim is None else dim
        return (-self._float()).softmax(d)


def _promoted(x: T, lo: float, hi: float) -> str:
    """hardtanh of an integer tensor stays integer (torch) unless a bound is fractional."""
    return x.dtype.name if float(lo).is_integer() and float(hi).is_integer() else "float32"
