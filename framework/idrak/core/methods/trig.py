"""Trigonometric and hyperbolic functions and their inverses, composed from the primitives.

Only SIN, EXP, LOG and SQRT are primitives; everything else is built on them:

* ``tan = sin / cos``, ``sinh``/``cosh`` from two EXPs, ``asinh``/``acosh``/``atanh`` from LOG
  and SQRT (with the large-argument forms ``log(2|x|)`` so ``x*x`` never overflows);
* ``atan`` by argument reduction and a Taylor series: ``atan(x) = pi/2 - atan(1/x)`` maps
  ``|x| > 1`` into ``[0, 1]``, two half-angle steps ``atan(x) = 2 atan(x / (1 + sqrt(1 + x*x)))``
  bring it below ``tan(pi/16) ~ 0.199``, where 12 odd terms of ``x - x**3/3 + ...`` are exact to
  float64 rounding (``0.2**25 / 25 < 1e-18``). Every step is differentiable, so gradients (and
  higher derivatives) come from the primitives' VJPs;
* ``asin(x) = atan(x / sqrt((1-x)(1+x)))`` and ``acos(x) = 2 atan(sqrt((1-x)/(1+x)))`` (no
  cancellation near ``|x| = 1``); ``atan2`` from ``atan(min/max)`` of the magnitudes with the
  quadrant fixed by the signs (signed zeros and infinities as C's ``atan2``).

Integer and bool inputs compute in the default float dtype, as in torch.
"""

from __future__ import annotations

import math
from typing import Any, Self, TypeVar

from idrak.core.methods.base import TensorBase

__all__ = ["TrigMixin", "signbit"]

T = TypeVar("T", bound=TensorBase)

_LN2 = math.log(2.0)
_HALF_PI = math.pi / 2
#: beyond this magnitude ``x*x + 1 == x*x`` in float64, so ``asinh``/``acosh`` use ``log(2|x|)``
_BIG = 2.0**28
#: odd Taylor coefficients of atan, enough for |x| <= tan(pi/16) in float64
_ATAN_TERMS = 12


def signbit(x: T) -> T:
    """Whether the sign bit of ``x`` is set (True for ``-0.0`` and negative values; NaN: False)."""
    if x.dtype.kind != "f":
        return x < 0
    return (x < 0) | ((x == 0) & (x.reciprocal() < 0))


def _atan_small(x: T) -> T:
    """atan on ``|x| <= tan(pi/16)`` by its Taylor series (Horner in ``x*x``)."""
    z = x * x
    acc = x._full_like_shape((-1.0) ** (_ATAN_TERMS - 1) / (2 * _ATAN_TERMS - 1))
    for k in range(_ATAN_TERMS - 2, -1, -1):
        acc = acc * z + (-1.0) ** k / (2 * k + 1)
    return acc * x


def _atan_unit(x: T) -> T:
    """atan on ``[0, 1]``: two half-angle reductions, then the series."""
    for _ in range(2):
        x = x / (1.0 + (1.0 + x * x).sqrt())
    return _atan_small(x) * 4.0


class TrigMixin(TensorBase):
    """tan, the hyperbolic functions, the inverse trigonometric functions and atan2."""

    __slots__ = ()

    def tan(self) -> Self:
        """Tangent (radians) as ``sin(x) / cos(x)``."""
        x = self._float()
        return x.sin() / x.cos()

    def sinh(self) -> Self:
        """Hyperbolic sine ``(e**x - e**-x) / 2``; ``sinh(±inf) = ±inf``."""
        x = self._float()
        return (x.exp() - (-x).exp()) * 0.5

    def cosh(self) -> Self:
        """Hyperbolic cosine ``(e**x + e**-x) / 2``."""
        x = self._float()
        return (x.exp() + (-x).exp()) * 0.5

    def asinh(self) -> Self:
        """Inverse hyperbolic sine ``sign(x) log(|x| + sqrt(x*x + 1))`` (odd, exact at 0)."""
        x = self._float()
        neg = x < 0
        m = x._mag()
        big = m > _BIG
        ms = big._select(1.0, m)  # the discarded branch sees a safe value (no inf gradient)
        small = (ms + (ms * ms + 1.0).sqrt()).log()
        mb = big._select(m, 1.0)
        r = big._select(mb.log() + _LN2, small)
        return neg._select(-r, r)

    arcsinh = asinh

    def acosh(self) -> Self:
        """Inverse hyperbolic cosine ``log(x + sqrt(x*x - 1))`` for ``x >= 1`` (NaN below)."""
        x = self._float()
        big = x > _BIG
        xs = big._select(1.0, x)
        small = (xs + (xs * xs - 1.0).sqrt()).log()
        xb = big._select(x, 1.0)
        out = big._select(xb.log() + _LN2, small)
        return (x < 1.0)._select(math.nan, out)  # also where x*x overflows for x << -1

    arccosh = acosh

    def atanh(self) -> Self:
        """Inverse hyperbolic tangent ``log((1+x)/(1-x)) / 2``; ``±inf`` at ``±1``, NaN beyond."""
        x = self._float()
        return ((1.0 + x).log() - (1.0 - x).log()) * 0.5

    arctanh = atanh

    def atan(self) -> Self:
        """Inverse tangent in ``(-pi/2, pi/2)``; ``atan(±inf) = ±pi/2`` (see the module notes)."""
        x = self._float()
        neg = x < 0
        m = x._mag()
        inv = m > 1.0
        safe = inv._select(m, 2.0)  # the discarded reciprocal branch never sees 0
        r = inv._select(_HALF_PI - _atan_unit(safe.reciprocal()), _atan_unit(inv._select(0.5, m)))
        return neg._select(-r, r)

    arctan = atan

    def asin(self) -> Self:
        """Inverse sine in ``[-pi/2, pi/2]``; NaN outside ``[-1, 1]``."""
        x = self._float()
        return (x / ((1.0 - x) * (1.0 + x)).sqrt()).atan()

    arcsin = asin

    def acos(self) -> Self:
        """Inverse cosine in ``[0, pi]``; NaN outside ``[-1, 1]``."""
        x = self._float()
        return ((1.0 - x) / (1.0 + x)).sqrt().atan() * 2.0

    arccos = acos

    def atan2(self, other: Any) -> Self:
        """``atan2(self, other)``: the angle of the point ``(other, self)`` in ``[-pi, pi]``.

        Signed zeros and infinities follow C's ``atan2`` (``atan2(0.0, -0.0) = pi``,
        ``atan2(inf, inf) = pi/4``); NaN in either gives NaN. Broadcasts; integer inputs give the
        default float dtype.
        """
        y, x = self._operands(other, float_only=True)
        ay = signbit(y)._select(-y, y)
        ax = signbit(x)._select(-x, x)
        swap = ay > ax
        num, den = swap._select(ax, ay), swap._select(ay, ax)
        both_inf = num.isinf() & den.isinf()
        both_zero = (num == 0) & (den == 0)
        ok = ~(both_inf | both_zero)
        r = ok._select(num / ok._select(den, 1.0), both_inf._select(1.0, 0.0))
        a = _atan_unit(r)
        a = swap._select(_HALF_PI - a, a)
        a = signbit(x)._select(math.pi - a, a)
        return signbit(y)._select(-a, a)

    arctan2 = atan2
