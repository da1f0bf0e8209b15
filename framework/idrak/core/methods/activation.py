"""Activation functions and the error function, composed from the primitive ops.

Each is written to be stable on both tails *and* in its gradient: every branch a WHERE discards
sees an input clamped into its own domain, so it never produces inf/NaN (whose zero gradient
would still be NaN).
"""

from __future__ import annotations

import math
from typing import Self, TypeVar

from idrak.contract.dtypes import bool_
from idrak.core.methods.base import TensorBase

__all__ = ["ActivationMixin"]

T = TypeVar("T", bound=TensorBase)

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


class ActivationMixin(TensorBase):
    """sigmoid, softplus, relu and friends, gelu, erf/erfc."""

    __slots__ = ()

    def sigmoid(self) -> Self:
        x = self._float()
        e = (-x._mag()).exp()  # in (0, 1]: stable on both tails, gradients included
        return (x >= 0)._select(1.0 / (1.0 + e), e / (1.0 + e))

    def logsigmoid(self) -> Self:
        x = self._float()
        # min(x, 0) written as a select so the gradient at 0 is torch's 0.5, not a tie split
        return (x < 0)._select(x, 0.0) - (1.0 + (-x._mag()).exp()).log()

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Self:
        x = self._float() * beta
        # max(x, 0) as a select: with d|x|/dx = 1 at 0 the gradient there is torch's 0.5
        soft = ((x >= 0)._select(x, 0.0) + (1.0 + (-x._mag()).exp()).log()) / beta
        return (x > threshold)._select(self._float(), soft)

    def relu(self) -> Self:
        """``max(x, 0)``; NaN stays NaN. Raises TypeError on a bool tensor (as torch)."""
        if self.dtype == bool_:
            raise TypeError("relu is not supported for bool tensors")
        # NaN propagates (torch's behaviour, so divergence stays visible): NaN <= 0 is false;
        # gradient 0 at 0; one select, so the backward is one WHERE
        return (self <= 0)._select(0, self)

    def relu6(self) -> Self:
        return self.clamp(0.0, 6.0)

    def leaky_relu(self, negative_slope: float = 0.01) -> Self:
        return (self > 0)._select(self, self * negative_slope)

    def elu(self, alpha: float = 1.0) -> Self:
        # min(x, 0) as a select: gradient at 0 is torch's alpha (not a tie split), NaN kept
        neg = (self > 0)._select(0.0, self)
        return (self > 0)._select(self, (neg.exp() - 1.0) * alpha)

    def silu(self) -> Self:
        return self * self.sigmoid()

    def mish(self) -> Self:
        return self * self.softplus().tanh()

    def gelu(self, approximate: str = "none") -> Self:
        """GELU (Hendrycks & Gimpel, 2016). ``approximate="tanh"`` uses the tanh formula."""
        x = self._float()
        if approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)
            return 0.5 * x * (1.0 + ((x + 0.044715 * x * x * x) * c).tanh())
        if approximate != "none":
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        # x * Phi(x) with Phi(x) = erfc(-x/sqrt2)/2: no cancellation in the left tail;
        # gelu(-inf) is NaN as in torch (-inf * 0), not -inf
        out = 0.5 * x * (x * -_INV_SQRT2).erfc()
        return (x == -math.inf)._select(math.nan, out)

    def erf(self) -> Self:
        """Error function by W. J. Cody's rational Chebyshev approximations.

        W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
        (1969) 631-637; coefficients and argument reduction of his CALERF (netlib ``specfun``).
        Max error about 2e-16 in float64. float16/bfloat16 are computed in float32.
        """
        x, small, tail, a = _cody_parts(self)
        one_minus = 1.0 - tail
        out = (a <= _ERF_SPLIT)._select(small, (x < 0)._select(-one_minus, one_minus))
        return out.cast(self._float().dtype)

    def erfc(self) -> Self:
        """Complementary error function ``1 - erf(x)``, accurate in the tails (see :meth:`erf`);
        relative error about 1e-15 in float64 up to x = 26."""
        x, small, tail, a = _cody_parts(self)
        out = (a <= _ERF_SPLIT)._select(1.0 - small, (x < 0)._select(2.0 - tail, tail))
        return out.cast(self._float().dtype)


# W. J. Cody's CALERF coefficients: erf(x) = x R1(x^2) for |x| <= 0.46875; erfc(|x|) =
# exp(-x^2) R2(|x|) up to 4 and exp(-x^2) (1/sqrt(pi) - R3(1/x^2)/x^2) / |x| beyond.
_ERF_SPLIT = 0.46875
_ERF_A = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_ERF_B = (
    2.36012909523441209e01,
    2.44024637934444173e02,
    1.28261652607737228e03,
    2.84423683343917062e03,
)
_ERF_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_ERF_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_ERF_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_ERF_Q = (
    2.56852019228982242e00,
    1.87295284992346725e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
_INV_SQRT_PI = 5.6418958354775628695e-1


def _cody_parts(t: T) -> tuple[T, T, T, T]:
    """``(x, erf(x) for |x| <= 0.46875, erfc(|x|) for |x| > 0.46875, |x|)``.

    Each branch sees its input clamped into its own domain, so the branch a WHERE discards
    never produces inf/NaN (whose zero gradient would still be NaN).
    """
    x = t._float()
    if x.dtype.itemsize < 4:  # the polynomials overflow half precision
        x = x.cast("float32")
    a = x.abs()
    xs = x.clamp(-0.5, 0.5)
    z = xs * xs
    num, den = z * _ERF_A[4], z
    for i in range(3):
        num, den = (num + _ERF_A[i]) * z, (den + _ERF_B[i]) * z
    small = xs * (num + _ERF_A[3]) / (den + _ERF_B[3])
    y = a.clamp(_ERF_SPLIT, 4.0)
    num, den = y * _ERF_C[8], y
    for i in range(7):
        num, den = (num + _ERF_C[i]) * y, (den + _ERF_D[i]) * y
    mid = (num + _ERF_C[7]) / (den + _ERF_D[7])
    y = a.clamp(4.0, 27.0)  # erfc(27) underflows to 0 in float64
    z = 1.0 / (y * y)
    num, den = z * _ERF_P[5], z
    for i in range(4):
        num, den = (num + _ERF_P[i]) * z, (den + _ERF_Q[i]) * z
    far = (_INV_SQRT_PI - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y
    y = a.clamp(_ERF_SPLIT, 27.0)
    r = (y > 4.0)._select(far, mid)
    # exp(-y^2) as exp(-ysq^2) exp(-(y-ysq)(y+ysq)) with ysq = trunc(16 y)/16: no rounding loss
    ysq = (y * 16.0).trunc() / 16.0
    tail = (ysq * ysq).neg().exp() * ((y - ysq) * (y + ysq)).neg().exp() * r
    return x, small, tail, a
