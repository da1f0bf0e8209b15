"""Tensor factories: zeros, ones, full, arange, linspace, eye, random draws, *_like."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from idrak.contract.dtypes import DType, bool_, get_default_dtype, int64, to_dtype
from idrak.contract.ops import Op
from idrak.core import random as _random
from idrak.core.tensor import Tensor, _shape_of, optional, tensor
from idrak.runtime.devices import DeviceLike
from idrak.runtime.devices import device as _device

__all__ = [
    "arange",
    "bernoulli",
    "empty",
    "empty_like",
    "eye",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]


def _dt(dtype: Any, default: DType | None = None) -> DType:
    return to_dtype(dtype) if dtype is not None else (default or get_default_dtype())


def full(
    shape: Any,
    fill_value: bool | int | float,
    dtype: Any = None,
    device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (dtype inferred from the value).

    Raises:
        TypeError: ``fill_value`` is not a number.
    """
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (bool, int, float)):
        raise TypeError(f"full: fill_value must be a number, got {fill_value!r}")
    if dtype is None:
        dtype = (
            bool_
            if isinstance(fill_value, bool)
            else int64
            if isinstance(fill_value, int)
            else get_default_dtype()
        )
    d = to_dtype(dtype)
    shp = _shape_of(shape if isinstance(shape, (tuple, list)) else (shape,))
    out = Tensor._create(Op.FULL, (shp, fill_value, d), shp, d, _device(device))
    return out.requires_grad_() if requires_grad else out


def zeros(
    *shape: Any, dtype: Any = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros; ``shape`` as varargs or one tuple."""
    return full(_shape_of(shape), 0, _dt(dtype), device, requires_grad)


def ones(
    *shape: Any, dtype: Any = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    return full(_shape_of(shape), 1, _dt(dtype), device, requires_grad)


def empty(
    *shape: Any, dtype: Any = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Like :func:`zeros` (idrak never hands out uninitialised memory)."""
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(t: Tensor, dtype: Any, device: Any) -> tuple[tuple[int, ...], DType, Any]:
    return t.shape, to_dtype(dtype) if dtype is not None else t.dtype, device or t.device


def zeros_like(t: Tensor, dtype: Any = None, device: DeviceLike | None = None) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return full(s, 0, d, dev)


def ones_like(t: Tensor, dtype: Any = None, device: DeviceLike | None = None) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return full(s, 1, d, dev)


def empty_like(t: Tensor, dtype: Any = None, device: DeviceLike | None = None) -> Tensor:
    return zeros_like(t, dtype, device)


def full_like(
    t: Tensor, fill_value: Any, dtype: Any = None, device: DeviceLike | None = None
) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return full(s, fill_value, d, dev)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values ``start, start+step, ...`` below ``end`` (``arange(n)`` is 0..n-1).

    dtype: int64 when all of start/end/step are ints, else the default float.
    """
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {v!r}")
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    all_int = all(isinstance(v, int) for v in (start, end, step))
    d = to_dtype(dtype) if dtype is not None else (int64 if all_int else get_default_dtype())
    n = max(0, math.ceil((end - start) / step))
    dev = _device(device)
    out = optional(Op.ARANGE, (), (start, end, step, d), (n,), d, dev)
    return out.requires_grad_() if requires_grad else out


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, device: DeviceLike | None = None
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be >= 0, got {steps}")
    d = _dt(dtype)
    if steps == 1:
        return full((1,), float(start), d, device)
    i = arange(steps, dtype="float64", device=device)
    step = (end - start) / max(steps - 1, 1)
    # symmetric formula (as torch does) so both ends are exact
    half = steps // 2
    out = (i < half)._select(i * step + start, end - (steps - 1 - i) * step)
    return out.cast(d)


def eye(
    n: int, m: int | None = None, dtype: Any = None, device: DeviceLike | None = None
) -> Tensor:
    m = n if m is None else m
    r = arange(n, device=device).reshape(n, 1).expand(n, m)
    c = arange(m, device=device).reshape(1, m).expand(n, m)
    return (r == c).cast(_dt(dtype))


# random --------------------------------------------------------------------------------------
def _bits(n: int, dev: Any, generator: _random.Generator | None) -> Tensor:
    """``n`` Threefry words as int64 in [0, 2**32), from RANDOM_BITS or the host reference."""
    gen = generator or _random.default_generator
    k0, k1, c0 = gen.take(n)
    hook = _random.draw_hook()
    if hook is not None:  # idrak.jit is tracing: host words, an input a replay draws afresh
        words = tensor(_random.threefry2x32(n, k0, k1, c0), device=dev)
        hook(gen, n, words.lazy)
        return words
    return optional(Op.RANDOM_BITS, (), (n, k0, k1, c0), (n,), int64, dev)


def _uniform(
    shape: tuple[int, ...], d: DType, dev: Any, generator: _random.Generator | None
) -> Tensor:
    n = math.prod(shape)
    if d.name == "float64":  # 53 random bits from two words
        b = _bits(2 * n, dev, generator).reshape(n, 2)
        hi = (b[:, 0] // 32).cast("float64")  # 27 bits
        lo = (b[:, 1] // 64).cast("float64")  # 26 bits
        u = (hi * 67108864.0 + lo) * (1.0 / 9007199254740992.0)
    else:  # as many random bits as the type's mantissa holds: exact, so always below 1.0
        m = {"float16": 11, "bfloat16": 8}.get(d.name, 24)
        u = (_bits(n, dev, generator) // 2 ** (32 - m)).cast("float32") * (1.0 / 2**m)
    return u.reshape(shape).cast(d)


def rand(
    *shape: Any,
    dtype: Any = None,
    device: DeviceLike | None = None,
    generator: _random.Generator | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples in [0, 1), bit-identical on every backend for one seed."""
    out = _uniform(_shape_of(shape), _dt(dtype), _device(device), generator)
    return out.requires_grad_() if requires_grad else out


def randn(
    *shape: Any,
    dtype: Any = None,
    device: DeviceLike | None = None,
    generator: _random.Generator | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples (Box-Muller transform of two uniforms)."""
    shp = _shape_of(shape)
    d = _dt(dtype)
    n = math.prod(shp)
    work = "float64" if d.name == "float64" else "float32"
    u = _uniform((2, n), to_dtype(work), _device(device), generator)
    r = ((1.0 - u[0]).log() * -2.0).sqrt()  # 1-u in (0, 1]: log is finite
    z = r * (u[1] * (2.0 * math.pi)).cos()
    out = z.reshape(shp).cast(d)
    return out.requires_grad_() if requires_grad else out


def randint(
    low: int,
    high: int | None = None,
    size: Any = (),
    dtype: Any = None,
    device: DeviceLike | None = None,
    generator: _random.Generator | None = None,
) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size)`` means low = 0)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    if high - low > 2**32:
        raise ValueError(f"randint: range {high - low} exceeds 2**32")
    shp = _shape_of(size if isinstance(size, (tuple, list)) else (size,))
    b = _bits(math.prod(shp), _device(device), generator)
    out = (b % (high - low) + low).reshape(shp)  # modulo bias < (high-low)/2**32
    return out.cast(dtype) if dtype is not None else out


def randperm(
    n: int,
    dtype: Any = None,
    device: DeviceLike | None = None,
    generator: _random.Generator | None = None,
) -> Tensor:
    """A random permutation of 0..n-1 (sorts Threefry keys on the host; same on every backend)."""
    gen = generator or _random.default_generator
    k0, k1, c0 = gen.take(n)
    keys = _random.threefry2x32(n, k0, k1, c0)
    perm = np.argsort(keys, kind="stable")
    return tensor(perm, dtype=dtype or int64, device=device)


def bernoulli(
    p: Tensor | float,
    shape: Any = None,
    device: DeviceLike | None = None,
    generator: _random.Generator | None = None,
) -> Tensor:
    """1.0 with probability ``p`` else 0.0 (``p`` a tensor or a float with a ``shape``)."""
    if isinstance(p, Tensor):
        u = _uniform(
            p.shape, p.dtype if p.dtype.kind == "f" else get_default_dtype(), p.device, generator
        )
        return (u < p).cast(u.dtype)
    shp = _shape_of(shape if isinstance(shape, (tuple, list)) else (shape,))
    u = _uniform(shp, get_default_dtype(), _device(device), generator)
    return (u < p).cast(u.dtype)


def rand_like(t: Tensor, dtype: Any = None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=t.device)


def randn_like(t: Tensor, dtype: Any = None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=t.device)
