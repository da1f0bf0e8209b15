"""Elementwise two-operand functions: logaddexp, fmod, copysign, isclose/allclose.

All broadcast and promote as PyTorch's binary ops do (a Python number on either side).
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from idrak.contract.dtypes import bool_
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.core.methods.trig import signbit

__all__ = ["PairwiseMixin"]

T = TypeVar("T", bound=TensorBase)


class PairwiseMixin(TensorBase):
    """logaddexp, fmod, copysign, isclose, allclose."""

    __slots__ = ()

    def logaddexp(self, other: Any) -> Self:
        """``log(exp(self) + exp(other))`` without overflow: ``a + log1p(exp(b - a))`` with ``a``
        the larger operand (each branch smooth, so the gradient at ``a == b`` is torch's 1/2
        each). ``logaddexp(inf, inf) = inf``, ``logaddexp(-inf, -inf) = -inf``."""
        a, b = self._operands(other, float_only=True)
        same_inf = (a == b) & a.isinf()
        d = same_inf._select(0.0, b - a)
        first = (a >= b) | same_inf
        # d <= 0 on the first branch, -d <= 0 on the second: exp never overflows
        lo = first._select(d, 0.0)
        hi = first._select(0.0, -d)
        out = first._select(a + (lo.exp() + 1.0).log(), b + (hi.exp() + 1.0).log())
        return same_inf._select(a, out)

    def fmod(self, other: Any) -> Self:
        """C's ``fmod``: ``self - trunc(self / other) * other``, the sign of the dividend
        (``torch.fmod``). Floats: ``fmod(x, 0)`` is NaN, ``fmod(x, ±inf)`` is ``x`` for finite
        ``x``. Integers: a zero divisor raises ``ZeroDivisionError`` when it is known on the host.

        The gradient is 1 for ``self`` and ``-trunc(self / other)`` for ``other``, as torch's.
        """
        a, b = self._operands(other)
        if a.dtype == bool_:
            raise TypeError("fmod is not supported for bool tensors")
        if a.dtype.kind != "f":
            _check_nonzero(b, "fmod")
            q = a.div(b, rounding_mode="trunc")
            return a - q * b
        q = (a / b).trunc()
        out = a - q * b
        out = (b.isinf() & a.isfinite())._select(a, out)
        # a zero result keeps the dividend's sign; ``out.detach() - out`` (+0.0) keeps the
        # gradient 1 for ``self`` there, as torch's
        return (out == 0)._select(a * 0.0 - (out.detach() - out), out)

    def copysign(self, other: Any) -> Self:
        """``|self|`` with the sign bit of ``other`` (``-0.0`` counts as negative), as a float
        (integers give the default float dtype). The gradient is ``sign(self) * sign(result)`` for
        ``self`` (0 at 0, as torch) and 0 for ``other``."""
        a, b = self._operands(other, float_only=True)
        m = a.abs()
        return signbit(b.detach())._select(-m, m)

    def isclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> Self:
        """``|self - other| <= atol + rtol * |other|`` elementwise (a bool tensor), as
        ``torch.isclose``: infinities are close only to themselves; NaN only with ``equal_nan``.

        Raises:
            ValueError: a negative ``rtol`` or ``atol``.
        """
        if rtol < 0 or atol < 0:
            raise ValueError(f"isclose: rtol ({rtol}) and atol ({atol}) must be non-negative")
        a, b = self._operands(other)
        if a.dtype == bool_:
            return a == b
        a, b = a.detach(), b.detach()
        eq = a == b
        if a.dtype.kind != "f":
            fa, fb = a.double(), b.double()
            return eq | ((fa - fb).abs() <= atol + rtol * fb.abs())
        close = a.isfinite() & b.isfinite() & ((a - b).abs() <= atol + rtol * b.abs())
        out = eq | close
        if equal_nan:
            out = out | (a.isnan() & b.isnan())
        return out

    def allclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> bool:
        """Whether every element :meth:`isclose` (a Python bool, realizes the comparison)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all().item())


def _check_nonzero(b: T, op: str) -> None:
    if b.lazy.buf is not None and b.numel() and bool((b.numpy() == 0).any()):
        raise ZeroDivisionError(f"{op}: integer division by zero")
    if b.lazy.buf is None and b.lazy.op is Op.FULL and b.lazy.arg[1] == 0:
        raise ZeroDivisionError(f"{op}: integer division by zero")
