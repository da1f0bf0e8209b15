"""Elementwise Tensor methods and operators, composed from the primitive ops."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .dtypes import bool_, get_default_dtype
from .ops import Op

if TYPE_CHECKING:
    from .tensor import Tensor

_LN2 = math.log(2.0)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_HALF_PI = math.pi / 2


def _mantissa_limit(t: Tensor) -> float:
    # floats at or beyond this magnitude are already integers
    return {"float16": 2.0**10, "bfloat16": 2.0**7, "float32": 2.0**23}.get(t.dtype.name, 2.0**52)


class MathMixin:
    """Arithmetic, comparison and elementwise math."""

    __slots__ = ()

    # arithmetic operators ------------------------------------------------------------------
    def __add__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.ADD, other)

    def __radd__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.ADD, other, reverse=True)

    def __sub__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self.sub(other)

    def __rsub__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        a, b = self._operands(other, reverse=True)
        return a.sub(b)

    def __mul__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.MUL, other)

    def __rmul__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.MUL, other, reverse=True)

    def __truediv__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.DIV, other, float_only=True)

    def __rtruediv__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.DIV, other, reverse=True, float_only=True)

    def __floordiv__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self.floor_divide(other)

    def __rfloordiv__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        a, b = self._operands(other, reverse=True)
        return a.floor_divide(b)

    def __mod__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self.remainder(other)

    def __neg__(self: Tensor) -> Tensor:  # type: ignore[misc]
        if self.dtype == bool_:
            raise TypeError("negation of a bool tensor is not supported; use ~ (logical not)")
        return self._unary(Op.NEG, float_only=False)

    def __pos__(self: Tensor) -> Tensor:  # type: ignore[misc]
        return self

    def __pow__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self.pow(other)

    def __rpow__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        a, b = self._operands(other, reverse=True, float_only=True)
        return a.pow(b)

    def __matmul__(self: Tensor, other: Tensor) -> Tensor:  # type: ignore[misc]
        return self.matmul(other)

    def __rmatmul__(self: Tensor, other: Tensor) -> Tensor:  # type: ignore[misc]
        return other.matmul(self)

    def __iadd__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self + other

    def __isub__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self - other

    def __imul__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self * other

    def __itruediv__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self / other

    # comparisons and logic -----------------------------------------------------------------
    def __lt__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.CMPLT, other)

    def __gt__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return self._binary(Op.CMPLT, other, reverse=True)

    def __le__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        a, b = self._operands(other)
        return _cmp(Op.CMPLT, a, b) | _cmp(Op.CMPEQ, a, b)

    def __ge__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        a, b = self._operands(other)
        return _cmp(Op.CMPLT, b, a) | _cmp(Op.CMPEQ, a, b)

    def __eq__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc,override]
        return self._binary(Op.CMPEQ, other)

    def __ne__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc,override]
        return ~self._binary(Op.CMPEQ, other)

    def __and__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return _logic(Op.MUL, self, other)

    __rand__ = __and__

    def __or__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        return _logic(Op.ADD, self, other)

    __ror__ = __or__

    def __xor__(self: Tensor, other: Any) -> Tensor:  # type: ignore[misc]
        a, b = self._operands(other)
        if a.dtype != bool_:
            raise TypeError(f"^ is only supported on bool tensors, got {a.dtype}")
        return _cmp(Op.CMPEQ, _cmp(Op.CMPEQ, a, b), a._full_like_shape(False))

    def __invert__(self: Tensor) -> Tensor:  # type: ignore[misc]
        if self.dtype != bool_:
            raise TypeError(f"~ is only supported on bool tensors, got {self.dtype}")
        return _cmp(Op.CMPEQ, self, self._full_like_shape(False))

    def logical_not(self: Tensor) -> Tensor:
        return ~(self != 0) if self.dtype != bool_ else ~self

    def lt(self: Tensor, other: Any) -> Tensor:
        return self < other

    def le(self: Tensor, other: Any) -> Tensor:
        return self <= other

    def gt(self: Tensor, other: Any) -> Tensor:
        return self > other

    def ge(self: Tensor, other: Any) -> Tensor:
        return self >= other

    def eq(self: Tensor, other: Any) -> Tensor:
        return self == other

    def ne(self: Tensor, other: Any) -> Tensor:
        return self != other

    def isnan(self: Tensor) -> Tensor:
        return self != self

    def isinf(self: Tensor) -> Tensor:
        if self.dtype.kind != "f":
            return self._full_like_shape(False, dtype=bool_)
        return (self == math.inf) | (self == -math.inf)

    def isfinite(self: Tensor) -> Tensor:
        if self.dtype.kind != "f":
            return self._full_like_shape(True, dtype=bool_)
        return ~(self.isnan() | self.isinf())

    def where(self: Tensor, condition: Tensor, other: Any) -> Tensor:
        """``where(condition, self, other)`` (PyTorch's method form)."""
        return condition._select(self, other)

    # arithmetic methods --------------------------------------------------------------------
    def add(self: Tensor, other: Any, alpha: float = 1) -> Tensor:
        return self + (other * alpha if alpha != 1 else other)

    def sub(self: Tensor, other: Any) -> Tensor:
        """``self - other``; native SUB where declared, else ADD(x, NEG(y))."""
        a, b = self._operands(other)
        if a.dtype == bool_:
            raise TypeError("subtraction of bool tensors is not supported; use ^ or logical ops")
        return a._optional(Op.SUB, (a, b), None, a.shape, a.dtype,
                           lambda: a._binary(Op.ADD, -b))

    def mul(self: Tensor, other: Any) -> Tensor:
        return self * other

    def div(self: Tensor, other: Any, rounding_mode: str | None = None) -> Tensor:
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

    def floor_divide(self: Tensor, other: Any) -> Tensor:
        a, b = self._operands(other)
        if a.dtype.kind == "f":
            return (a / b).floor()
        return a._binary(Op.DIV, b)

    def remainder(self: Tensor, other: Any) -> Tensor:
        """Python-style modulo (sign of the divisor), like ``torch.remainder``."""
        a, b = self._operands(other)
        return a - a.floor_divide(b) * b

    def true_divide(self: Tensor, other: Any) -> Tensor:
        return self / other

    def pow(self: Tensor, exponent: Any) -> Tensor:
        """``self ** exponent``. Small integer exponents become multiplications."""
        from .tensor import Tensor

        if not isinstance(exponent, Tensor):
            if exponent == 2:
                return self * self
            if exponent == 1:
                return self * 1
            if exponent == 0.5 and self.dtype.kind == "f":
                return self.sqrt()
            if exponent == -1:
                return self.reciprocal()
        a, b = self._operands(exponent, float_only=True)
        return a._optional(Op.POW, (a, b), None, a.shape, a.dtype, lambda: _pow_decomposed(a, b))

    def maximum(self: Tensor, other: Any) -> Tensor:
        return self._binary(Op.MAX, other)

    def minimum(self: Tensor, other: Any) -> Tensor:
        a, b = self._operands(other)
        if a.dtype == bool_:
            return a & b
        return -Tensor_max(-a, -b) if a.dtype.kind != "u" else (b < a)._select(b, a)

    # unary math ----------------------------------------------------------------------------
    def neg(self: Tensor) -> Tensor:
        return -self

    def exp(self: Tensor) -> Tensor:
        return self._unary(Op.EXP)

    def log(self: Tensor) -> Tensor:
        return self._unary(Op.LOG)

    def sin(self: Tensor) -> Tensor:
        return self._unary(Op.SIN)

    def cos(self: Tensor) -> Tensor:
        return (self._float() + _HALF_PI).sin()

    def sqrt(self: Tensor) -> Tensor:
        return self._unary(Op.SQRT)

    def rsqrt(self: Tensor) -> Tensor:
        return self.sqrt().reciprocal()

    def reciprocal(self: Tensor) -> Tensor:
        return self._unary(Op.RECIPROCAL)

    def exp2(self: Tensor) -> Tensor:
        x = self._float()
        return x._optional(Op.EXP2, (x,), None, x.shape, x.dtype, lambda: (x * _LN2).exp())

    def log2(self: Tensor) -> Tensor:
        x = self._float()
        return x._optional(Op.LOG2, (x,), None, x.shape, x.dtype, lambda: x.log() / _LN2)

    def log10(self: Tensor) -> Tensor:
        return self.log() / math.log(10.0)

    def log1p(self: Tensor) -> Tensor:
        return (self._float() + 1.0).log()

    def expm1(self: Tensor) -> Tensor:
        return self.exp() - 1.0

    def square(self: Tensor) -> Tensor:
        return self * self

    def tanh(self: Tensor) -> Tensor:
        x = self._float()

        def decomposed() -> Tensor:
            # tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|) <= 1: no overflow anywhere
            e = (x.abs() * -2.0).exp()
            return x.sign() * (1.0 - e) / (1.0 + e)

        return x._optional(Op.TANH, (x,), None, x.shape, x.dtype, decomposed)

    def sigmoid(self: Tensor) -> Tensor:
        x = self._float()
        e = (-x.abs()).exp()  # in (0, 1]: stable on both tails, gradients included
        return (x >= 0)._select(1.0 / (1.0 + e), e / (1.0 + e))

    def logsigmoid(self: Tensor) -> Tensor:
        x = self._float()
        return x.minimum(0.0) - (1.0 + (-x.abs()).exp()).log()

    def softplus(self: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        x = self._float() * beta
        soft = (x.maximum(0.0) + (1.0 + (-x.abs()).exp()).log()) / beta
        return (x > threshold)._select(self._float(), soft)

    def relu(self: Tensor) -> Tensor:
        return (self > 0)._select(self, 0)

    def relu6(self: Tensor) -> Tensor:
        return self.clamp(0.0, 6.0)

    def leaky_relu(self: Tensor, negative_slope: float = 0.01) -> Tensor:
        return (self > 0)._select(self, self * negative_slope)

    def elu(self: Tensor, alpha: float = 1.0) -> Tensor:
        return (self > 0)._select(self, (self.minimum(0.0).exp() - 1.0) * alpha)

    def silu(self: Tensor) -> Tensor:
        return self * self.sigmoid()

    def mish(self: Tensor) -> Tensor:
        return self * self.softplus().tanh()

    def gelu(self: Tensor, approximate: str = "none") -> Tensor:
        """GELU (Hendrycks & Gimpel, 2016). ``approximate="tanh"`` uses the tanh formula."""
        x = self._float()
        if approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)
            return 0.5 * x * (1.0 + ((x + 0.044715 * x * x * x) * c).tanh())
        if approximate != "none":
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        return 0.5 * x * (1.0 + (x * _INV_SQRT2).erf())

    def erf(self: Tensor) -> Tensor:
        """Error function, Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7)."""
        x = self._float()
        s = x.sign()
        a = x.abs()
        t = 1.0 / (1.0 + 0.3275911 * a)
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
            -1.453152027 + t * 1.061405429))))
        return s * (1.0 - poly * (-(a * a)).exp())

    def abs(self: Tensor) -> Tensor:
        if self.dtype == bool_ or self.dtype.kind == "u":
            return self
        out = (self < 0)._select(-self, self)
        return out + 0.0 if self.dtype.kind == "f" else out  # turns -0.0 into 0.0

    def sign(self: Tensor) -> Tensor:
        if self.dtype == bool_:
            return self
        one = self._full_like_shape(1)
        return (self > 0)._select(one, (self < 0)._select(-one, self * 0))

    def clamp(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
        """Limit values to ``[min, max]`` (either may be None or a Tensor)."""
        if min is None and max is None:
            raise ValueError("clamp needs min or max")
        out = self
        if min is not None:
            out = (out < min)._select(min, out) if isinstance(min, (int, float)) else \
                out.maximum(min)
        if max is not None:
            out = (out > max)._select(max, out) if isinstance(max, (int, float)) else \
                out.minimum(max)
        return out

    clip = clamp

    def trunc(self: Tensor) -> Tensor:
        if self.dtype.kind != "f":
            return self
        big = self.abs() >= _mantissa_limit(self)
        t = self.detach().cast("int64").cast(self.dtype)
        # value-preserving in the graph: gradient of trunc is zero, as in torch
        return (big | self.isnan())._select(self.detach(), t)

    def floor(self: Tensor) -> Tensor:
        if self.dtype.kind != "f":
            return self
        t = self.trunc()
        return (self < t)._select(t - 1.0, t)

    def ceil(self: Tensor) -> Tensor:
        if self.dtype.kind != "f":
            return self
        t = self.trunc()
        return (self > t)._select(t + 1.0, t)

    def round(self: Tensor, decimals: int = 0) -> Tensor:
        """Round half to even, like ``torch.round``."""
        if self.dtype.kind != "f":
            return self
        if decimals:
            s = 10.0**decimals
            return (self * s).round() / s
        r = (self + 0.5).floor()
        tie = (r - self) == 0.5
        odd = (r - (r * 0.5).floor() * 2.0) != 0.0
        return (tie & odd)._select(r - 1.0, r)

    def frac(self: Tensor) -> Tensor:
        return self - self.trunc()

    def lerp(self: Tensor, end: Tensor, weight: Any) -> Tensor:
        return self + (end - self) * weight

    def _float(self: Tensor) -> Tensor:
        return self if self.dtype.kind == "f" else self.cast(get_default_dtype())


def Tensor_max(a: Tensor, b: Tensor) -> Tensor:  # noqa: N802 - module-private helper
    from .tensor import Tensor

    return Tensor._prim(Op.MAX, (a, b), None, a.shape, a.dtype)


def _cmp(op: Op, a: Tensor, b: Tensor) -> Tensor:
    from .tensor import Tensor

    return Tensor._prim(op, (a, b), None, a.shape, bool_)


def _logic(op: Op, a: Tensor, other: Any) -> Tensor:
    from .tensor import Tensor

    x, y = a._operands(other)
    if x.dtype != bool_:
        raise TypeError(f"& and | are only supported on bool tensors, got {x.dtype}")
    return Tensor._prim(op, (x, y), None, x.shape, bool_)


def _pow_decomposed(x: Tensor, y: Tensor) -> Tensor:
    """IEEE-style pow from EXP/LOG: |x|**y, negated for negative x with odd integer y."""
    mag = (y * x.abs().log()).exp()
    y_int = y.floor() == y
    y_odd = y_int & ((y - (y * 0.5).floor() * 2.0) != 0.0)
    neg = x < 0
    out = (neg & y_odd)._select(-mag, mag)
    out = (neg & ~y_int)._select(math.nan, out)
    return (y == 0)._select(1.0, out)
