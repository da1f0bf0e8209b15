"""More of torch.nn's layers, each a thin module over a functional: ReLU6, Softplus,
Threshold, Tanhshrink, GLU, PReLU (the one layer with a parameter), ZeroPad2d,
ConstantPad2d, ReflectionPad2d, Dropout2d, AdaptiveAvgPool1d, RMSNorm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn import init
from idrak.nn.layers._util import check_number, new_param
from idrak.nn.module import Module

__all__ = [
    "GLU",
    "AdaptiveAvgPool1d",
    "ConstantPad2d",
    "Dropout2d",
    "PReLU",
    "RMSNorm",
    "ReLU6",
    "ReflectionPad2d",
    "Softplus",
    "Tanhshrink",
    "Threshold",
    "ZeroPad2d",
]


class ReLU6(Module):
    """``min(max(x, 0), 6)``. ``inplace`` is accepted and ignored."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(x)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        check_number("Softplus", beta=beta, threshold=threshold)
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        check_number("Threshold", threshold=threshold, value=value)
        self.threshold, self.value = threshold, value

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class Tanhshrink(Module):
    """``x - tanh(x)``."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanhshrink(x)


class GLU(Module):
    """Gated linear unit over ``dim`` (see :func:`idrak.nn.functional.glu`)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """``x`` if ``x >= 0`` else ``a * x`` with a learned ``weight`` ``a`` of
    ``num_parameters`` elements (1, or the channel count), initialised to ``init``.

    Raises:
        ValueError: ``num_parameters < 1``.
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        if not isinstance(num_parameters, int) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be >= 1, got {num_parameters}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = new_param(num_parameters, dtype=dtype, device=device, fill=init)

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


def _pad4(name: str, padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return (padding,) * 4
    p = tuple(padding)
    if len(p) != 4 or not all(isinstance(v, int) for v in p):
        raise ValueError(f"{name}: padding must be an int or 4 ints, got {padding!r}")
    return p


class ConstantPad2d(Module):
    """Pad the last two dims with ``value``: ``padding`` is an int or
    ``(left, right, top, bottom)``."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding = _pad4("ConstantPad2d", padding)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros (``padding`` as :class:`ConstantPad2d`)."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"padding={self.padding}"


class ReflectionPad2d(Module):
    """Mirror-pad the last two dims of (C, H, W) or (N, C, H, W) input without repeating the
    edge (``padding`` as :class:`ConstantPad2d`, each width smaller than its dim)."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _pad4("ReflectionPad2d", padding)

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding, "reflect")

    def extra_repr(self) -> str:
        return f"padding={self.padding}"


class Dropout2d(Module):
    """Zero whole channels with probability ``p`` in training (see
    :func:`idrak.nn.functional.dropout2d`); identity in eval mode.

    Raises:
        ValueError: ``p`` outside [0, 1].
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p must be a number in [0, 1], got {p!r}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class AdaptiveAvgPool1d(Module):
    """Average (N, C, L) or (C, L) into ``output_size`` cells along L."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape`` dims (Zhang &
    Sennrich 2019) with a learned ``weight`` (ones) when ``elementwise_affine``; ``eps=None``
    uses the dtype's machine epsilon (see :func:`idrak.nn.functional.rms_norm`)."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = ns
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = new_param(*ns, dtype=dtype, device=device, fill=1.0)
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        w = getattr(self, "weight", None)
        if w is not None:
            init.ones_(w)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, getattr(self, "weight", None), self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
