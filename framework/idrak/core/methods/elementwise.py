"""Elementwise Tensor methods and operators, composed from the primitive ops."""

from __future__ import annotations

import math
from typing import Any, Self, TypeVar

import numpy as np

from idrak.contract.dtypes import bool_, get_default_dtype
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.core.methods.integer import bitwise, check_int_divisor, int_pow, is_int_exponent

T = TypeVar("T", bound=TensorBase)


# enum members bound once: ``Op.X`` costs an attribute lookup (~0.1 us) on the hot path
_ADD, _MUL, _DIV, _SUB, _MAX = Op.ADD, Op.MUL, Op.DIV, Op.SUB, Op.MAX
_CMPLT, _CMPEQ = Op.CMPLT, Op.CMPEQ
_LN2 = math.log(2.0)
_HALF_PI = math.pi / 2


def _mantissa_limit(t: TensorBase) -> float:
    # floats at or beyond this magnitude are already integers
    return {"float16": 2.0**10, "bfloat16": 2.0**7, "float32": 2.0**23}.get(t.dtype.name, 2.0**52)


class MathMixin(TensorBase):
    """Arithmetic, comparison and elementwise math."""

    __slots__ = ()

    # arithmetic operators ------------------------------------------------------------------
    def __add__(self, other: Any) -> Self:
        return self._binary(_ADD, other)

    def __radd__(self, other: Any) -> Self:
        return self._binary(_ADD, other, reverse=True)

    def __sub__(self, other: Any) -> Self:
        return self.sub(other)

    def __rsub__(self, other: Any) -> Self:
        _refuse_bool_sub(self, other)
        a, b = self._operands(other, reverse=True)
        return a.sub(b)

    def __mul__(self, other: Any) -> Self:
        return self._binary(_MUL, other)

    def __rmul__(self, other: Any) -> Self:
        return self._binary(_MUL, other, reverse=True)

    def __truediv__(self, other: Any) -> Self:
        return self._binary(_DIV, other, float_only=True)

    def __rtruediv__(self, other: Any) -> Self:
        return self._binary(_DIV, other, reverse=True, float_only=True)

    def __floordiv__(self, other: Any) -> Self:
        return self.floor_divide(other)

    def __rfloordiv__(self, other: Any) -> Self:
        a, b = self._operands(other, reverse=True)
        return a.floor_divide(b)

    def __mod__(self, other: Any) -> Self:
        return self.remainder(other)

    def __neg__(self) -> Self:
        if self.dtype == bool_:
            raise TypeError("negation of a bool tensor is not supported; use ~ (logical not)")
        return self._unary(Op.NEG, float_only=False)

    def __pos__(self) -> Self:
        return self

    def __pow__(self, other: Any) -> Self:
        return self.pow(other)

    def __rpow__(self, other: Any) -> Self:
        exact = isinstance(other, int) and self.dtype.kind != "f"
        a, b = self._operands(other, reverse=True, float_only=not exact)
        return a.pow(b)  # int ** int tensor stays integer, as torch

    def __matmul__(self, other: TensorBase) -> Self:
        return self.matmul(other)

    def __rmatmul__(self, other: Self) -> Self:
        return other.matmul(self)

    def __iadd__(self, other: Any) -> Self:
        return self + other

    def __isub__(self, other: Any) -> Self:
        return self - other

    def __imul__(self, other: Any) -> Self:
        return self * other

    def __itruediv__(self, other: Any) -> Self:
        return self / other

    # comparisons and logic -----------------------------------------------------------------
    def __lt__(self, other: Any) -> Self:
        return self._binary(_CMPLT, other)

    def __gt__(self, other: Any) -> Self:
        return self._binary(_CMPLT, other, reverse=True)

    def __le__(self, other: Any) -> Self:
        a, b = self._operands(other)
        return _cmp(_CMPLT, a, b) | _cmp(_CMPEQ, a, b)

    def __ge__(self, other: Any) -> Self:
        a, b = self._operands(other)
        return _cmp(_CMPLT, b, a) | _cmp(_CMPEQ, a, b)

    def __eq__(self, other: Any) -> Self:  # type: ignore[override]
        return self._binary(_CMPEQ, other)

    def __ne__(self, other: Any) -> Self:  # type: ignore[override]
        return ~self._binary(_CMPEQ, other)

    def __and__(self, other: Any) -> Self:
        """``&``: logical and of bool tensors, bitwise and of integer tensors (two's
        complement, as ``torch.bitwise_and``)."""
        return _logic(_MUL, self, other, "and")

    def __rand__(self, other: Any) -> Self:
        return self.__and__(other)

    def __or__(self, other: Any) -> Self:
        """``|``: logical or of bool tensors, bitwise or of integer tensors."""
        return _logic(_ADD, self, other, "or")

    def __ror__(self, other: Any) -> Self:
        return self.__or__(other)

    def __xor__(self, other: Any) -> Self:
        """``^``: logical xor of bool tensors, bitwise xor of integer tensors."""
        a, b = self._operands(other)
        if a.dtype != bool_:
            return bitwise(a, b, "xor")
        return _cmp(_CMPEQ, _cmp(_CMPEQ, a, b), a._full_like_shape(False))

    def __rxor__(self, other: Any) -> Self:
        return self.__xor__(other)

    def __invert__(self) -> Self:
        """``~``: logical not of a bool tensor, bitwise not of an integer one (``-x - 1``
        for signed, ``max - x`` for unsigned dtypes)."""
        if self.dtype.kind == "i":
            return -self - 1
        if self.dtype.kind == "u":
            return self._full_like_shape(2**self.dtype.bits - 1) - self
        if self.dtype != bool_:
            raise TypeError(f"~ is only supported on bool and integer tensors, got {self.dtype}")
        return _cmp(_CMPEQ, self, self._full_like_shape(False))

    def bitwise_and(self, other: Any) -> Self:
        return self & other

    def bitwise_or(self, other: Any) -> Self:
        return self | other

    def bitwise_xor(self, other: Any) -> Self:
        return self ^ other

    def bitwise_not(self) -> Self:
        return ~self

    def logical_not(self) -> Self:
        return ~(self != 0) if self.dtype != bool_ else ~self

    def lt(self, other: Any) -> Self:
        return self < other

    def le(self, other: Any) -> Self:
        return self <= other

    def gt(self, other: Any) -> Self:
        return self > other

    def ge(self, other: Any) -> Self:
        return self >= other

    def eq(self, other: Any) -> Self:
        return self == other

    def ne(self, other: Any) -> Self:
        return self != other

    def isnan(self) -> Self:
        return self != self

    def isinf(self) -> Self:
        if self.dtype.kind != "f":
            return self._full_like_shape(False, dtype=bool_)
        return (self == math.inf) | (self == -math.inf)

    def isfinite(self) -> Self:
        if self.dtype.kind != "f":
            return self._full_like_shape(True, dtype=bool_)
        return ~(self.isnan() | self.isinf())

    def where(self, condition: Self, other: Any) -> Self:
        """``where(condition, self, other)`` (PyTorch's method form)."""
        return condition._select(self, other)

    # arithmetic methods --------------------------------------------------------------------
    def add(self, other: Any, alpha: float = 1) -> Self:
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other: Any) -> Self:
        """``self - other``; native SUB where declared, else ADD(x, NEG(y)).

        Raises:
            TypeError: either operand is a bool tensor or a Python bool (torch's rule).
        """
        _refuse_bool_sub(self, other)
        a, b = self._operands(other)
        return a._optional(_SUB, (a, b), None, a.shape, a.dtype)

    def mul(self, other: Any) -> Self:
        return self * other

    def div(self, other: Any, rounding_mode: str | None = None) -> Self:
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            a, b = self._operands(other)
            if a.dtype.kind == "f":
                return (a / b).trunc()
            q = a.floor_divide(b)
            return ((q < 0) & (q * b != a))._select(q + 1, q)
        raise ValueError(f"rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    def floor_divide(self, other: Any) -> Self:
        """``self // other`` rounded toward -inf (``torch.floor_divide``).

        Floats follow torch at the infinities: ``3.08 // -inf`` is -1, ``inf // 3`` is NaN.
        Integers divided by 0 raise: at once when the divisor is on the host (a Python number
        or a realized tensor), at realization for a lazy divisor (a device-side guard, as for
        lazy indices; see docs/semantics.md).

        Raises:
            ZeroDivisionError: an integer division by 0.
        """
        a, b = self._operands(other)
        if a.dtype.kind == "f":
            q = (a / b).floor()
            # a finite over +-inf: -1 where the signs differ (torch's fmod-based rule), and an
            # infinite dividend over a finite non-zero divisor has no quotient (NaN)
            opposite = b.isinf() & a.isfinite() & (a != 0) & ((a < 0) != (b < 0))
            q = opposite._select(-1.0, q)
            return (a.isinf() & (b != 0))._select(math.nan, q)
        b = check_int_divisor(a, b, other, "floor_divide")
        return a._binary(_DIV, b)

    def remainder(self, other: Any) -> Self:
        """Python-style modulo (sign of the divisor), like ``torch.remainder``: for floats
        ``x % +-inf`` is ``x`` when the signs agree (or ``x == 0``), else the divisor.

        Raises:
            ZeroDivisionError: an integer remainder by a host-known 0.
        """
        a, b = self._operands(other)
        if a.dtype.kind != "f":
            b = check_int_divisor(a, b, other, "remainder")
            return a - a._binary(_DIV, b) * b
        r = a - a.floor_divide(b) * b
        fin = b.isinf() & a.isfinite()
        flip = (a != 0) & ((a < 0) != (b < 0))
        return fin._select(flip._select(b, a), r)

    def __rmod__(self, other: Any) -> Self:
        a, b = self._operands(other, reverse=True)
        return a.remainder(b)

    def true_divide(self, other: Any) -> Self:
        return self / other

    def pow(self, exponent: Any) -> Self:
        """``self ** exponent``. Small integer exponents become multiplications; an integer
        tensor to an integer power stays integer (exact, wrapping like torch), by squaring.

        Raises:
            ValueError: an integer tensor to a negative Python integer power (torch's rule; a
                negative exponent *tensor* gives 0 unless the base is 1 or -1, as in torch).
        """
        if self.dtype == bool_ and not _float_exponent(exponent):
            if isinstance(exponent, TensorBase):  # bool ** int tensor: the int dtype (torch)
                if exponent.dtype == bool_:
                    raise TypeError("pow is not supported for a bool base and a bool exponent")
                return self.cast(exponent.dtype).pow(exponent)
            if isinstance(exponent, (bool, np.bool_)):
                return self.cast("int64").pow(int(exponent)).cast(bool_)
            return self.cast("int64").pow(exponent)  # bool ** int is int64 (torch)
        if not isinstance(exponent, TensorBase):
            # an integer tensor to a float power is a float result (torch)
            x = self._float() if isinstance(exponent, float) else self
            if exponent == 0:  # 1 everywhere (NaN included), gradient 0, still in the graph
                return x._full_like_shape(False, dtype=bool_)._select(x, 1)
            if exponent == 2:
                return x * x
            if exponent == 1:
                return x * 1
            if exponent == 0.5 and x.dtype.kind == "f":
                return x.sqrt()
            if exponent == -1 and x.dtype.kind == "f":
                return x.reciprocal()
        if self.dtype.kind in "iu" and is_int_exponent(exponent):
            return int_pow(self, exponent)
        a, b = self._operands(exponent, float_only=True)
        return a._optional(Op.POW, (a, b), None, a.shape, a.dtype)

    def maximum(self, other: Any) -> Self:
        return self._binary(_MAX, other)

    def minimum(self, other: Any) -> Self:
        a, b = self._operands(other)
        if a.dtype == bool_:
            return a & b
        if a.dtype.kind != "f":  # -max(-a, -b) overflows at the integer minimum
            return (b < a)._select(b, a)
        return -Tensor_max(-a, -b)

    # unary math ----------------------------------------------------------------------------
    def neg(self) -> Self:
        return -self

    def exp(self) -> Self:
        return self._unary(Op.EXP)

    def log(self) -> Self:
        return self._unary(Op.LOG)

    def sin(self) -> Self:
        return self._unary(Op.SIN)

    def cos(self) -> Self:
        return (self._float() + _HALF_PI).sin()

    def sqrt(self) -> Self:
        return self._unary(Op.SQRT)

    def rsqrt(self) -> Self:
        return self.sqrt().reciprocal()

    def reciprocal(self) -> Self:
        return self._unary(Op.RECIPROCAL)

    def exp2(self) -> Self:
        x = self._float()
        return x._optional(Op.EXP2, (x,), None, x.shape, x.dtype)

    def log2(self) -> Self:
        x = self._float()
        return x._optional(Op.LOG2, (x,), None, x.shape, x.dtype)

    def log10(self) -> Self:
        return self.log() / math.log(10.0)

    def log1p(self) -> Self:
        return (self._float() + 1.0).log()

    def expm1(self) -> Self:
        return self.exp() - 1.0

    def square(self) -> Self:
        """``self * self``; bool squares to int64, as in torch."""
        x = self.cast("int64") if self.dtype == bool_ else self
        return x * x

    def tanh(self) -> Self:
        x = self._float()
        return x._optional(Op.TANH, (x,), None, x.shape, x.dtype)

    def _mag(self) -> Self:
        """``|x|`` whose gradient at 0 is 1: for stable formulas (``exp(-|x|)``) whose two
        branches meet at 0, where the torch subgradient of :meth:`abs` (0) would be wrong."""
        return (self < 0)._select(-self, self)

    def abs(self) -> Self:
        _refuse_bool(self, "abs")
        if self.dtype == bool_ or self.dtype.kind == "u":
            return self.clone()  # new memory, as torch's: an in-place op on it leaves self
        # x * sign(x): torch's subgradient 0 at 0 (a select would give 1 there)
        out = self * self.sign()
        return out + 0.0 if self.dtype.kind == "f" else out  # turns -0.0 into 0.0

    def sign(self) -> Self:
        if self.dtype == bool_:
            return self.clone()
        one = self._full_like_shape(1)
        return (self > 0)._select(one, (self < 0)._select(-one, self * 0))

    def clamp(self, min: Any = None, max: Any = None) -> Self:
        """Limit values to ``[min, max]`` (either may be None, a number or a Tensor), as
        ``torch.clamp``: ``min(max(x, min), max)``, so ``min > max`` gives ``max``.

        NaN in ``self`` or in a bound gives NaN, and no gradient flows there. The gradient goes
        to ``self`` where ``min <= x <= max`` (bounds included), else to the bound that won.

        Raises:
            ValueError: both bounds are None.
            TypeError: a bound is not a number or a Tensor.
        """
        if min is None and max is None:
            raise ValueError("clamp needs min or max (both are None)")
        bounds = [b.item() if isinstance(b, np.generic) else b for b in (min, max)]
        for name, b in zip(("min", "max"), bounds):
            if b is not None and not isinstance(b, (bool, int, float, TensorBase)):
                raise TypeError(f"clamp: {name} must be a number or a Tensor, got {b!r}")
        lo, hi = bounds
        if any(isinstance(b, float) and math.isnan(b) for b in bounds):
            return self._full_like_shape(False, dtype=bool_)._select(self, math.nan)
        out = self
        if lo is not None:
            out = (out < lo)._select(lo, out)
        if hi is not None:
            out = (out > hi)._select(hi, out)
        if out.dtype.kind != "f":
            return out
        nan: TensorBase | None = self.isnan() if self.dtype.kind == "f" else None
        for b in (lo, hi):
            if isinstance(b, TensorBase) and b.dtype.kind == "f":
                nan = b.isnan() if nan is None else nan | b.isnan()
        return out if nan is None else nan._select(math.nan, out)  # type: ignore[return-value]

    clip = clamp

    def trunc(self) -> Self:
        """Round toward zero. The sign of zero is kept (``trunc(-0.5)`` is ``-0.0``), and the
        gradient is zero, as in torch."""
        _refuse_bool(self, "trunc")
        if self.dtype.kind != "f":
            return self.clone()
        x = self.detach()
        t = x.cast("int64").cast(self.dtype)
        t = (t == 0)._select(x * 0.0, t)
        out = ((x.abs() >= _mantissa_limit(self)) | x.isnan())._select(x, t)
        if self.requires_grad:  # stay in the graph (zero gradient), as torch's output does
            out = out._full_like_shape(False, dtype=bool_)._select(self, out)
        return out

    def floor(self) -> Self:
        _refuse_bool(self, "floor")
        if self.dtype.kind != "f":
            return self.clone()
        t = self.trunc()
        return (self < t)._select(t - 1.0, t)

    def ceil(self) -> Self:
        _refuse_bool(self, "ceil")
        if self.dtype.kind != "f":
            return self.clone()
        t = self.trunc()
        return (self > t)._select(t + 1.0, t)

    def round(self, decimals: int = 0) -> Self:
        """Round half to even, like ``torch.round`` (``round(-0.5)`` is ``-0.0``).

        ``decimals > 0`` rounds ``x * 10**decimals``; ``decimals < 0`` rounds
        ``x / 10**-decimals`` (torch's formulas).
        """
        _refuse_bool(self, "round")
        if self.dtype.kind != "f":
            return self.clone()
        if decimals > 0:
            s = 10.0**decimals
            return (self * s).round() / s
        if decimals < 0:
            s = 10.0**-decimals
            return (self / s).round() * s
        f = self.floor()
        d = self - f  # exact, in [0, 1): no x + 0.5 rounding trap
        odd = (f - (f * 0.5).floor() * 2.0) != 0.0
        out = ((d > 0.5) | ((d == 0.5) & odd))._select(f + 1.0, f)
        return (out == 0)._select(self * 0.0, out)  # the sign of zero follows the input

    def frac(self) -> Self:
        """``self - trunc(self)``. Raises TypeError on integer and bool tensors (torch has no
        kernel for them)."""
        if self.dtype.kind != "f":
            raise TypeError(f"frac is not supported for {self.dtype} tensors (floats only)")
        return self - self.trunc()

    def lerp(self, end: TensorBase, weight: Any) -> Self:
        return self + (end - self) * weight

    def _float(self) -> Self:
        return self if self.dtype.kind == "f" else self.cast(get_default_dtype())


def _float_exponent(e: Any) -> bool:
    """Whether a ``pow`` exponent is a float (Python, NumPy or tensor)."""
    if isinstance(e, TensorBase):
        return e.dtype.kind == "f"
    return isinstance(e, (float, np.floating))


def _refuse_bool(x: TensorBase, op: str) -> None:
    """Raise TypeError for ``op`` on a bool tensor (torch has no bool kernel for it)."""
    if x.dtype == bool_:
        raise TypeError(f"{op} is not supported for bool tensors; cast first (x.int(), x.float())")


def _refuse_bool_sub(x: TensorBase, other: Any) -> None:
    """Raise TypeError when either operand of a subtraction is bool (torch refuses it)."""
    if (
        x.dtype == bool_
        or isinstance(other, (bool, np.bool_))
        or (isinstance(other, TensorBase) and other.dtype == bool_)
    ):
        raise TypeError(
            "subtraction with a bool operand is not supported; use ^ or logical_xor, "
            "or ~ / logical_not to invert a mask"
        )


def Tensor_max(a: T, b: T) -> T:
    return a._prim(_MAX, (a, b), None, a.shape, a.dtype)


def _cmp(op: Op, a: T, b: T) -> T:
    return a._prim(op, (a, b), None, a.shape, bool_)


def _logic(op: Op, a: T, other: Any, kind: str) -> T:
    x, y = a._operands(other)
    if x.dtype != bool_:
        return bitwise(x, y, kind)
    return x._prim(op, (x, y), None, x.shape, bool_)
