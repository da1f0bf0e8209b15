"""Conv2d, and the parameter, input-check and repr base shared with conv_more's layers."""

from __future__ import annotations

from typing import Any

from idrak.core.methods.convolution import pair
from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn import init
from idrak.nn.layers._util import check_positive, new_param
from idrak.nn.module import Module

__all__ = ["Conv2d"]


def _check_groups(layer: str, cin: int, cout: int, groups: int, padding_mode: str) -> None:
    check_positive(layer, in_channels=cin, out_channels=cout, groups=groups)
    if cin % groups or cout % groups:
        raise ValueError(
            f"{layer}: in_channels ({cin}) and out_channels ({cout}) must be divisible by "
            f"groups ({groups})"
        )
    if padding_mode != "zeros":
        raise ValueError(f"{layer}: padding_mode {padding_mode!r} is not supported (only 'zeros')")


class _ConvBase(Module):
    in_channels: int
    out_channels: int
    groups: int

    def _make(self, wshape: tuple[int, ...], bias: bool, device: Any, dtype: Any) -> None:
        self.weight = new_param(*wshape, dtype=dtype, device=device)
        if bias:
            self.bias = new_param(self.out_channels, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._default_layer_init(self.weight, self.bias)

    def _check_input(self, x: Tensor, ranks: tuple[int, ...], what: str) -> None:
        spatial = len(what.split(","))
        if x.ndim not in ranks or x.shape[-spatial - 1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}({self.in_channels}, {self.out_channels}) expects input "
                f"(N, {self.in_channels}, {what}), got shape {tuple(x.shape)}"
            )

    def extra_repr(self) -> str:
        d = self.__dict__
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={d['kernel_size']}, "
            f"stride={d['stride']}"
        )
        for name in ("padding", "output_padding", "dilation"):
            if name in d and d[name] not in ((0,), (1,), (0, 0), (1, 1)):
                s += f", {name}={d[name]}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvBase):
    """2-D convolution (cross-correlation, as in every framework).

    Shapes: input (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW) with
    ``OH = (H + 2*padding - dilation*(KH - 1) - 1) // stride + 1``; ``weight``
    (C_out, C_in/groups, KH, KW), ``bias`` (C_out,). Initialised like PyTorch:
    U(-k, k) with ``k = 1/sqrt(C_in/groups * KH * KW)``.

    Args:
        in_channels, out_channels: channel counts, both divisible by ``groups``.
        kernel_size, stride, dilation: an int or an (h, w) pair.
        padding: an int, a pair, ``"valid"`` or ``"same"`` (zeros; ``padding_mode`` must be
            ``"zeros"``).
        groups: split channels into this many independent convolutions.
        bias: learn a per-output-channel bias.
        device, dtype: where and how the parameters are created.

    Raises:
        ValueError: bad sizes, channel counts not divisible by ``groups``, an unsupported
            ``padding_mode``; in forward, an input with the wrong channel count.
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
        _check_groups("Conv2d", in_channels, out_channels, groups, padding_mode)
        pair(kernel_size, "Conv2d: kernel_size", 1)
        pair(stride, "Conv2d: stride", 1)
        pair(dilation, "Conv2d: dilation", 1)
        if not isinstance(padding, str):
            pair(padding, "Conv2d: padding", 0)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.dilation = pair(stride, "stride"), pair(dilation, "dilation")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        check_positive(
            "Conv2d",
            kernel_size=self.kernel_size[0],
            kernel_w=self.kernel_size[1],
            stride=self.stride[0],
            stride_w=self.stride[1],
        )
        kh, kw = self.kernel_size
        self._make((out_channels, in_channels // groups, kh, kw), bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, (3, 4), "H, W")
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
