"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (no parameters)."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn.module import Module

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d"]


def _check_window(kernel_size: Any, stride: Any, padding: Any, dilation: Any, cls: str) -> None:
    """Raise ValueError (naming the layer, the argument and its value) for a kernel, stride or
    dilation below 1 or a negative padding, at construction rather than at the first call."""
    from idrak.core.methods.convolution import pair

    pair(kernel_size, f"{cls}: kernel_size", 1)
    if stride is not None:
        pair(stride, f"{cls}: stride", 1)
    pair(padding, f"{cls}: padding", 0)
    pair(dilation, f"{cls}: dilation", 1)


class _MaxPoolBase(Module):
    """Forward and repr shared by MaxPool1d and MaxPool2d: calls the functional named by
    ``_functional`` (looked up on :mod:`idrak.nn.functional` at call time)."""

    _functional: str
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    ceil_mode: bool
    return_indices: bool

    def forward(self, x: Tensor) -> Any:
        return getattr(F, self._functional)(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
            f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolBase):
    """Max over sliding windows of (N, C, H, W) or (C, H, W); ``stride`` defaults to the kernel.

    Padding counts as -inf; ``ceil_mode`` keeps a last partial window; ``return_indices``
    also returns each maximum's flat index (for MaxUnpool2d).
    """

    _functional = "max_pool2d"

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        _check_window(kernel_size, stride, padding, dilation, "MaxPool2d")
        self.return_indices = return_indices
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode


class AvgPool2d(Module):
    """Mean over sliding windows; zero padding is counted when ``count_include_pad``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        _check_window(kernel_size, stride, padding, 1, "AvgPool2d")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
            f"padding={self.padding}"
        )


class AdaptiveAvgPool2d(Module):
    """Average (N, C, H, W) into a fixed (OH, OW) grid, whatever H and W are.

    ``output_size`` is an int or a pair; ``AdaptiveAvgPool2d(1)`` is global average pooling.
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        from idrak.core.methods.convolution import pair

        pair(output_size, "AdaptiveAvgPool2d: output_size", 1)
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
