"""Ready-made building blocks (the Idrak seed's ``from idrak.factories import resnet_block``).

Each factory returns an ordinary :class:`~idrak.nn.Net`: print it, index its layers, swap
them, or replace its forward function like any other.
"""

from __future__ import annotations

from typing import Any

from idrak import nn
from idrak.core.tensor import Tensor

__all__ = ["resnet_block"]


def residual_forward(net: nn.Net, x: Tensor) -> Tensor:
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``: the forward of :func:`resnet_block`."""
    out = net["relu"](net["bn1"](net["conv1"](x)))
    out = net["bn2"](net["conv2"](out))
    return net["relu"](out + x)


def resnet_block(channels: int, device: Any = None, dtype: Any = None) -> nn.Net:
    """A ResNet basic block (He et al. 2016, "Deep Residual Learning for Image Recognition"):
    conv3x3-BN-ReLU-conv3x3-BN plus the identity skip, then ReLU. Shape-preserving:
    (N, channels, H, W) -> (N, channels, H, W).

    The layers are ``conv1``, ``bn1``, ``relu``, ``conv2``, ``bn2`` (convs without bias, as the
    BN after them makes it redundant); the forward function is :func:`residual_forward`.

    Raises:
        ValueError: ``channels`` not a positive int.
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"resnet_block: channels must be a positive int, got {channels!r}")
    kw = {"device": device, "dtype": dtype}
    net = nn.Net(forward=residual_forward)
    net.add("conv1", nn.Conv2d(channels, channels, 3, padding=1, bias=False, **kw))
    net.add("bn1", nn.BatchNorm2d(channels, **kw))
    net.add("relu", nn.ReLU())
    net.add("conv2", nn.Conv2d(channels, channels, 3, padding=1, bias=False, **kw))
    net.add("bn2", nn.BatchNorm2d(channels, **kw))
    return net
