"""MaxPool1d, AvgPool1d, MaxUnpool1d and MaxUnpool2d (no parameters)."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn.layers.pooling import _MaxPoolBase
from idrak.nn.module import Module

__all__ = ["AvgPool1d", "MaxPool1d", "MaxUnpool1d", "MaxUnpool2d"]


class MaxPool1d(_MaxPoolBase):
    """Max over sliding windows of (N, C, L) or (C, L); ``stride`` defaults to the kernel;
    ``return_indices`` also returns the position of each maximum (for MaxUnpool1d)."""

    _functional = "max_pool1d"

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
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode


class AvgPool1d(Module):
    """Mean over sliding windows of (N, C, L) or (C, L); zero padding is counted when
    ``count_include_pad``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
            f"padding={self.padding}"
        )


class MaxUnpool2d(Module):
    """Partial inverse of MaxPool2d: ``forward(input, indices, output_size=None)`` puts each
    value at its index in a zero plane; see :func:`idrak.nn.functional.max_unpool2d`."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(MaxUnpool2d):
    """Partial inverse of MaxPool1d (input (N, C, L)); see
    :func:`idrak.nn.functional.max_unpool1d`."""

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool1d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )
