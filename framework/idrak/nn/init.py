"""Parameter initialisation (``torch.nn.init`` names and formulas).

Every ``*_`` function replaces the tensor's value in place (``tensor.assign(...)`` under
``no_grad``; the object and its ``requires_grad`` stay) and returns the tensor. Random values come
from idrak's counter-based generator, so one seed gives the same weights on every backend.
"""

from __future__ import annotations

import math
from typing import Any

from idrak.core import creation
from idrak.core.autograd import no_grad
from idrak.core.random import Generator
from idrak.core.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + a^2)) for leaky_relu (slope ``param``, default 0.01),
    3/4 for selu.

    Raises:
        ValueError: an unknown nonlinearity or a non-numeric ``param``.
    """
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel): in * prod(kernel), out * prod(kernel).

    Raises:
        ValueError: fewer than 2 dimensions.
    """
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with >= 2 dims, got shape {tuple(tensor.shape)}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, value: Tensor | float) -> Tensor:
    with no_grad():
        tensor.assign(value)
    return tensor


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with U(a, b)."""
    if b < a:
        raise ValueError(f"uniform_: a ({a}) must not exceed b ({b})")
    u = creation.rand(tensor.shape, dtype=tensor.dtype, device=tensor.device, generator=generator)
    return _fill(tensor, u * (b - a) + a)


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    z = creation.randn(tensor.shape, dtype=tensor.dtype, device=tensor.device, generator=generator)
    return _fill(tensor, z * std + mean)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, float(val) if tensor.dtype.kind == "f" else val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): U(-b, b) with ``b = gain * sqrt(3 / fan)``, ``gain`` from
    :func:`calculate_gain` (``a`` is the leaky-relu slope). PyTorch's default Linear/Conv
    weight init is ``kaiming_uniform_(w, a=sqrt(5))``, i.e. ``b = 1 / sqrt(fan_in)``.

    Raises:
        ValueError: a bad ``mode``/``nonlinearity`` or a tensor with < 2 dims.
    """
    if tensor.numel() == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): N(0, std^2) with ``std = gain / sqrt(fan)``."""
    if tensor.numel() == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def _bias_bound(weight: Tensor) -> float:
    """PyTorch's default bias bound for Linear/Conv: ``1 / sqrt(fan_in)`` (0 when empty)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(weight)
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


def _default_layer_init(weight: Tensor, bias: Any) -> None:
    """PyTorch's Linear/Conv initialisation: weights kaiming_uniform_(a=sqrt(5)), bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        b = _bias_bound(weight)
        uniform_(bias, -b, b)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the main diagonal; ``torch.nn.init.eye_``).

    Raises:
        ValueError: ``tensor`` is not 2-D.
    """
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    n, m = tensor.shape
    return _fill(tensor, creation.eye(n, m, dtype=tensor.dtype, device=tensor.device))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix (Saxe et al. 2013): the Q of the QR decomposition
    of a standard normal draw over ``(size(0), numel // size(0))``, its columns' signs fixed by
    R's diagonal, times ``gain`` (as ``torch.nn.init.orthogonal_``). The QR runs on the host
    (NumPy); the draw comes from idrak's generator.

    Raises:
        ValueError: ``tensor`` has fewer than 2 dims.
    """
    import numpy as np

    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dims, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = creation.randn((rows, cols), dtype="float64", generator=generator).numpy()
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    flat = tensor._from_host(np.ascontiguousarray(q * gain), tensor.dtype)
    return _fill(tensor, flat.reshape(tensor.shape))


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(mean, std^2) truncated to ``[a, b]`` (bounds in the values' units, as
    ``torch.nn.init.trunc_normal_``), by inverting the normal CDF: a uniform draw in
    ``[Phi(alpha), Phi(beta)]`` is mapped back by 60 bisection steps on ``Phi`` (erf), so every
    value lies in ``[a, b]`` however far in the tail the interval is.

    Raises:
        ValueError: ``std <= 0`` or ``a >= b``.
    """
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    lo_z, hi_z = (a - mean) / std, (b - mean) / std

    def cdf(z: float) -> float:
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))

    u = creation.rand(tensor.shape, dtype="float64", device=tensor.device, generator=generator)
    target = u * (cdf(hi_z) - cdf(lo_z)) + cdf(lo_z)
    lo = creation.full(tensor.shape, lo_z, dtype="float64", device=tensor.device)
    hi = creation.full(tensor.shape, hi_z, dtype="float64", device=tensor.device)
    with no_grad():
        for _ in range(60):
            mid = (lo + hi) * 0.5
            below = ((mid * (1.0 / math.sqrt(2.0))).erf() + 1.0) * 0.5 < target
            lo, hi = below._select(mid, lo), below._select(hi, mid)
            if _ % 20 == 19:
                lo, hi = lo.realize(), hi.realize()
    z = ((lo + hi) * 0.5).clamp(lo_z, hi_z)
    return _fill(tensor, (z * std + mean).cast(tensor.dtype))
