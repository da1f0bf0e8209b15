"""Integer arithmetic helpers of :class:`~idrak.core.methods.elementwise.MathMixin`.

Bitwise and/or/xor composed from arithmetic (no bitwise primitive), the zero-divisor check of
integer division (at once for a host-known divisor, a device-side guard for a lazy one), and
exact integer powers by binary exponentiation. Module-level helpers taking a ``TypeVar`` bound to
:class:`~idrak.core.methods.base.TensorBase`, per the rules in :mod:`idrak.core.methods.base`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from idrak.contract.dtypes import bool_
from idrak.core.methods.base import TensorBase

T = TypeVar("T", bound=TensorBase)

__all__ = ["bitwise", "check_int_divisor", "int_pow", "is_int_exponent"]


def bitwise(a: T, b: T, kind: str) -> T:
    """Bitwise and/or/xor of integer tensors ``a`` and ``b`` (same dtype and shape), composed
    from the required ops (no bitwise primitive): each operand is split into its two's
    complement bits by floor division by 2 (``x - 2 * (x // 2)`` is the low bit, negative ``x``
    included), the bits are combined arithmetically (and: ``p*q``, or: ``p+q-p*q``, xor:
    ``p+q-2pq``) and summed with weights ``2**i``, the top bit of a signed dtype weighing
    ``-2**(bits-1)``. Costs O(bits) elementwise ops, which the fusion pass can merge.

    Raises:
        TypeError: a floating dtype (as torch: bitwise ops are for integers and bool).
    """
    if a.dtype.kind not in "iu":
        raise TypeError(
            f"bitwise {kind} is only supported on integer and bool tensors, got {a.dtype}"
        )
    nbits = a.dtype.bits
    x, y = a.cast("int64"), b.cast("int64")
    out = x._full_like_shape(0)
    for i in range(nbits):
        hx, hy = x // 2, y // 2
        p, q = x - hx * 2, y - hy * 2
        pq = p * q
        r = pq if kind == "and" else p + q - pq if kind == "or" else p + q - pq * 2
        w = -(2 ** (nbits - 1)) if a.dtype.kind == "i" and i == nbits - 1 else 2**i
        out = out + r * w
        x, y = hx, hy
    return out.cast(a.dtype)


def check_int_divisor(a: T, b: T, other: Any, op: str) -> T:
    """The integer divisor ``b`` (``other`` promoted and broadcast), checked for zeros.

    A Python number or a realized tensor is checked at once (no graph is forced). A lazy
    divisor is checked on the device like a lazy index: the division gets ``where(b == 0, 1,
    b)`` and a guard whose flag ``any(b == 0)`` raises when the result is realized.

    Raises:
        ZeroDivisionError: a host-known zero divisor.
    """
    from idrak.engine import lazy as _lazy

    message = f"{op}: integer division by zero (dividend dtype {a.dtype})"
    if not isinstance(other, TensorBase):
        if other == 0:
            raise ZeroDivisionError(message)
        return b
    if other.numel() == 0:
        return b
    if other.lazy.buf is not None:
        if (other.numpy() == 0).any():
            raise ZeroDivisionError(message)
        return b
    zero = b == 0
    safe = zero._select(1, b).cast(b.dtype)
    _lazy.add_guard(
        safe.lazy,
        zero.any().lazy,
        lambda: ZeroDivisionError(message + " (a lazy divisor, found when it was realized)"),
    )
    return safe


def is_int_exponent(e: Any) -> bool:
    """Whether ``e`` is an integer or bool exponent (an integer base then stays integer)."""
    if isinstance(e, TensorBase):
        return e.dtype.kind in "iu" or e.dtype == bool_
    return isinstance(e, (int, np.integer, np.bool_))


def int_pow(x: T, e: Any) -> T:
    """Integer ``x ** e`` by binary exponentiation (wraps like torch's integer pow).

    A Python exponent unrolls its own bits. An exponent tensor uses as many bits as its
    host-known maximum needs (all 63 when it is lazy); negative exponents give 0, except for
    bases 1 (1) and -1 (+-1 by parity), as torch's integer pow does.
    """
    if not isinstance(e, TensorBase):
        e = int(e)
        if e < 0:
            raise ValueError(
                f"integers to negative integer powers are not allowed (exponent {e}); "
                "use a floating base"
            )
        out, base = x._full_like_shape(1), x
        while e:
            if e & 1:
                out = out * base
            e >>= 1
            if e:
                base = base * base
        return out
    a, b = x._operands(e)
    if a.dtype == bool_:
        raise TypeError("pow is not supported for bool tensors")
    bits = b.dtype.itemsize * 8 - 1  # the exponent's magnitude bits (lazy: all of them)
    if b.lazy.buf is not None:
        bits = max(int(np.abs(b.numpy()).max()).bit_length(), 1) if b.numel() else 1
    neg = b < 0
    k = neg._select(-b, b)
    out, base = a._full_like_shape(1), a
    for i in range(bits):
        out = ((k // (1 << i)) % 2 == 1)._select(out * base, out)
        if i + 1 < bits:
            base = base * base
    odd = k % 2 == 1
    sign_one = odd._select(a, a._full_like_shape(1))
    neg_val = (a == 1)._select(1, (a == -1)._select(sign_one, 0)).cast(a.dtype)
    return neg._select(neg_val, out)
