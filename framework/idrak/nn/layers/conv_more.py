"""Conv1d, ConvTranspose1d and ConvTranspose2d (torch's parameter layout and initialisation)."""

from __future__ import annotations

from typing import Any

from idrak.core.methods.convolution import pair
from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn._functional_conv import single
from idrak.nn.layers._util import check_positive
from idrak.nn.layers.conv import _check_groups, _ConvBase

__all__ = ["Conv1d", "ConvTranspose1d", "ConvTranspose2d"]


class Conv1d(_ConvBase):
    """1-D convolution (cross-correlation).

    Shapes: input (N, C_in, L) or (C_in, L) -> (N, C_out, OL) with
    ``OL = (L + 2*padding - dilation*(K - 1) - 1) // stride + 1``; ``weight`` (C_out,
    C_in/groups, K), ``bias`` (C_out,). Initialised like PyTorch (U(-k, k), ``k =
    1/sqrt(C_in/groups * K)``). ``padding`` is an int, ``"valid"`` or ``"same"``.

    Raises:
        ValueError: bad sizes, channels not divisible by ``groups``, ``padding_mode`` other
            than ``"zeros"``; in forward, the wrong channel count.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_groups("Conv1d", in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (single(kernel_size, "kernel_size"),)
        self.stride, self.dilation = (single(stride, "stride"),), (single(dilation, "dilation"),)
        self.padding = padding if isinstance(padding, str) else (single(padding, "padding"),)
        check_positive("Conv1d", kernel_size=self.kernel_size[0], stride=self.stride[0])
        self._make((out_channels, in_channels // groups, self.kernel_size[0]), bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, (2, 3), "L")
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(
            x, self.weight, self.bias, self.stride[0], pad, self.dilation[0], self.groups
        )


class ConvTranspose2d(_ConvBase):
    """2-D transposed convolution (the gradient of Conv2d with respect to its input).

    Shapes: input (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW) with
    ``OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1``; ``weight``
    (C_in, C_out/groups, KH, KW) (torch's layout), ``bias`` (C_out,). Initialised like
    PyTorch (fan-in from ``weight.shape[1] * KH * KW``). ``forward(x, output_size=None)``
    picks ``output_padding`` to reach a requested size, as torch does.

    Raises:
        ValueError: bad sizes, channels not divisible by ``groups``, an unsupported
            ``padding_mode``, ``output_padding`` not below stride or dilation; in forward, the
            wrong channel count or an unreachable ``output_size``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_groups("ConvTranspose2d", in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.padding = pair(stride, "stride"), pair(padding, "padding")
        self.output_padding, self.dilation = (
            pair(output_padding, "output_padding"),
            pair(dilation, "dilation"),
        )
        kh, kw = self.kernel_size
        self._make((in_channels, out_channels // groups, kh, kw), bias, device, dtype)

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        want = tuple(int(v) for v in tuple(output_size)[-2:])
        ops = []
        for i in range(2):
            n = x.shape[-2 + i]
            base = (
                (n - 1) * self.stride[i]
                - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            op = want[i] - base
            if not 0 <= op < max(self.stride[i], self.dilation[i]):
                raise ValueError(
                    f"ConvTranspose2d: output_size {want} is not reachable from input "
                    f"{tuple(x.shape)} (dim {i} can be {base}..{base + self.stride[i] - 1})"
                )
            ops.append(op)
        return tuple(ops)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        self._check_input(x, (3, 4), "H, W")
        return F.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvBase):
    """1-D transposed convolution: input (N, C_in, L) -> (N, C_out, (L-1)*stride - 2*padding
    + dilation*(K-1) + output_padding + 1); ``weight`` (C_in, C_out/groups, K). Errors as
    :class:`ConvTranspose2d`."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_groups("ConvTranspose1d", in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (single(kernel_size, "kernel_size"),)
        self.stride, self.padding = (single(stride, "stride"),), (single(padding, "padding"),)
        self.output_padding = (single(output_padding, "output_padding"),)
        self.dilation = (single(dilation, "dilation"),)
        self._make((in_channels, out_channels // groups, self.kernel_size[0]), bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, (2, 3), "L")
        return F.conv_transpose1d(
            x,
            self.weight,
            self.bias,
            self.stride[0],
            self.padding[0],
            self.output_padding[0],
            self.groups,
            self.dilation[0],
        )
