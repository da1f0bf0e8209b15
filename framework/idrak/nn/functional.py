"""Stateless neural-network functions (``idrak.nn.functional``, also ``idrak.functional``).

Same names, arguments and results as ``torch.nn.functional``. Each is composed from Tensor
methods (so from idrak's primitive ops); gradients come from autograd. The losses live in
:mod:`idrak.nn.losses` and are re-exported here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any, Literal, overload

from idrak.core import creation
from idrak.core.autograd import no_grad
from idrak.core.tensor import Tensor
from idrak.core.toplevel import one_hot
from idrak.nn._functional_conv import (
    avg_pool1d,
    conv1d,
    conv_transpose1d,
    conv_transpose2d,
    max_pool1d,
    max_pool2d_with_indices,
    max_unpool1d,
    max_unpool2d,
)
from idrak.nn._functional_filled import (
    adaptive_avg_pool1d,
    dropout2d,
    glu,
    prelu,
    rms_norm,
    tanhshrink,
    threshold,
)
from idrak.nn._functional_resample import interpolate, pad_nonconstant
from idrak.nn._functional_seq import (
    cosine_similarity,
    pairwise_distance,
    scaled_dot_product_attention,
)
from idrak.nn.functional_more import (
    celu,
    hardsigmoid,
    hardswish,
    hardtanh,
    mish,
    selu,
    softmin,
    softsign,
)
from idrak.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "flatten",
    "gelu",
    "glu",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "max_pool1d",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pad_nonconstant",
    "pairwise_distance",
    "prelu",
    "relu",
    "relu6",
    "rms_norm",
    "scaled_dot_product_attention",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softmin",
    "softplus",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]


# layers ------------------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b``. Shapes: x (..., in), W (out, in), b (out,) -> (..., out)."""
    return input.linear(weight, bias)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation. Shapes: x (N, C, H, W), W (O, C/groups, KH, KW), b (O,) ->
    (N, O, OH, OW), ``OH = (H + 2*pad - dil*(KH-1) - 1) // stride + 1``. See
    :meth:`idrak.Tensor.conv2d`."""
    return input.conv2d(weight, bias, stride, padding, dilation, groups)


@overload
def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = ...,
    padding: Any = ...,
    dilation: Any = ...,
    ceil_mode: bool = ...,
    return_indices: Literal[False] = ...,
) -> Tensor: ...
@overload
def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = ...,
    padding: Any = ...,
    dilation: Any = ...,
    ceil_mode: bool = ...,
    *,
    return_indices: Literal[True],
) -> tuple[Tensor, Tensor]: ...
@overload
def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = ...,
    padding: Any = ...,
    dilation: Any = ...,
    ceil_mode: bool = ...,
    return_indices: bool = ...,
) -> Tensor | tuple[Tensor, Tensor]: ...
def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows of (N, C, H, W) or (C, H, W). ``stride`` defaults to the kernel.

    With ``return_indices`` also returns each maximum's flat index into the input's (H, W)
    plane (int64), for :func:`max_unpool2d`; see :func:`max_pool2d_with_indices`.
    """
    if return_indices:
        return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return input.max_pool2d(kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows; padding counts as zeros when ``count_include_pad``."""
    if divisor_override is not None:
        if divisor_override <= 0:
            raise ValueError(f"divisor_override must be positive, got {divisor_override}")
        return input._pool(kernel_size, stride, padding, 1, ceil_mode, "sum") / float(
            divisor_override
        )
    return input.avg_pool2d(kernel_size, stride, padding, ceil_mode, count_include_pad)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average into an (OH, OW) grid (cell i covers rows [floor(iH/OH), ceil((i+1)H/OH)))."""
    return input.adaptive_avg_pool2d(output_size)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad (before, after) pairs starting from the LAST dimension.

    ``mode="constant"`` fills with ``value`` (negative widths crop); ``"reflect"``,
    ``"replicate"`` and ``"circular"`` are described in :func:`pad_nonconstant`.

    Raises:
        ValueError: bad widths for the mode or shape, an unknown mode.
    """
    if mode != "constant":
        return pad_nonconstant(input, pad, mode)
    return input.pad(pad, mode, value)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (V, D) picked by integer ``input`` (...) -> (..., D).

    The row ``padding_idx`` receives no gradient (its value is still returned).

    Raises:
        TypeError: a non-integer ``input``.
    """
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding indices must be an integer tensor, got {input.dtype}")
    flat = input.reshape(-1)
    out = weight.index_select(0, flat).reshape((*input.shape, weight.shape[1]))
    if padding_idx is not None:
        pad_i = padding_idx % weight.shape[0]
        mask = (input == pad_i).unsqueeze(-1)
        out = mask._select(out.detach(), out)
    return out


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``
    (Srivastava et al. 2014, inverted dropout). Identity when not ``training`` or ``p == 0``.

    Raises:
        ValueError: ``p`` outside [0, 1].
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"dropout: p must be a number in [0, 1], got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = creation.bernoulli(1.0 - p, input.shape, device=input.device).cast(input.dtype)
    return input * keep * (1.0 / (1.0 - p))


# activations -------------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``."""
    return input.relu()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu6()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` if ``x > 0`` else ``negative_slope * x``.

    Raises:
        TypeError: ``negative_slope`` is not a number.
    """
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    return input.leaky_relu(negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)`` (Clevert et al. 2016)."""
    return input.elu(alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Hendrycks & Gimpel 2016); ``approximate="tanh"`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    return input.gelu(approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (a.k.a. swish)."""
    return input.silu()


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, stable on both tails."""
    return input.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    return input.logsigmoid()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return input.softplus(beta, threshold)


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """``exp(x_i - max) / sum_j exp(x_j - max)`` along ``dim``."""
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """``x_i - logsumexp(x)`` along ``dim`` (stable: no exp of large values)."""
    return input.log_softmax(dim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


# normalization -----------------------------------------------------------------------------------
def _channel_shape(x: Tensor) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization (Ioffe & Szegedy 2015) over every dim but the channel dim 1.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In ``training`` the batch statistics
    (biased variance) are used and the running ones, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` with the unbiased batch variance,
    as PyTorch does. Otherwise the running statistics are used.

    Shapes: input ``(N, C)`` or ``(N, C, *)``; running stats, weight, bias ``(C,)``.

    Raises:
        ValueError: training with a single value per channel, or stats of the wrong size.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects (N, C) or (N, C, *) input, got {input.shape}")
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(
                f"batch_norm: {name} has shape {tuple(t.shape)}, expected ({c},) "
                f"for input {input.shape}"
            )
    dims = (0, *range(2, input.ndim))
    cs = _channel_shape(input)
    if training or running_mean is None or running_var is None:
        n = input.numel() // c
        if training and n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when "
                f"training, got input shape {input.shape}"
            )
        mean = input.mean(dims, keepdim=True)
        var = (input - mean).square().mean(dims, keepdim=True)
        if training and running_mean is not None and running_var is not None:
            with no_grad():
                bm, bv = mean.detach().reshape(c), var.detach().reshape(c) * (n / max(n - 1, 1))
                running_mean.assign(running_mean * (1.0 - momentum) + bm * momentum)
                running_var.assign(running_var * (1.0 - momentum) + bv * momentum)
    else:
        mean, var = running_mean.reshape(cs), running_var.reshape(cs)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(cs)
    if bias is not None:
        out = out + bias.reshape(cs)
    return out


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalization (Ba, Kiros & Hinton 2016) over the trailing ``normalized_shape``
    dims: ``(x - mean) / sqrt(var + eps) * weight + bias`` (biased variance).

    Raises:
        ValueError: the trailing dims of ``input`` differ from ``normalized_shape``.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape or len(shape) > input.ndim:
        raise ValueError(
            f"layer_norm: input shape {input.shape} does not end with normalized_shape {shape}"
        )
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    mean = input.mean(dims, keepdim=True)
    var = (input - mean).square().mean(dims, keepdim=True)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalization (Wu & He 2018): channels split into ``num_groups`` groups, each
    normalized over its channels and all spatial positions; then per-channel affine.

    Shapes: input ``(N, C, *)`` with C divisible by ``num_groups``; weight, bias ``(C,)``.

    Raises:
        ValueError: C not divisible by ``num_groups``, or one value per group over the whole
            batch (``N * C / num_groups * spatial == 1``: torch's batch-size check).
    """
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: channels of input {input.shape} are not divisible by "
            f"num_groups={num_groups}"
        )
    n = input.shape[0]
    if n * (input.shape[1] // num_groups) * math.prod(input.shape[2:]) == 1:
        raise ValueError(
            f"group_norm: expected more than 1 value per group, got input shape {input.shape} "
            f"with num_groups={num_groups}"
        )
    g = input.reshape(n, num_groups, -1)
    mean = g.mean(2, keepdim=True)
    var = (g - mean).square().mean(2, keepdim=True)
    out = ((g - mean) * (var + eps).rsqrt()).reshape(input.shape)
    cs = _channel_shape(input)
    if weight is not None:
        out = out * weight.reshape(cs)
    if bias is not None:
        out = out + bias.reshape(cs)
    return out


# NumPy arrays, lists and numbers are accepted wherever a Tensor is (idrak.nn._convert); keep
# this the last statement of the module so functions added above are covered too.
def _accept_arrays_everywhere() -> None:
    from idrak.nn._convert import accepts_arrays

    g = globals()
    for name in __all__:
        if inspect.isfunction(g[name]):
            g[name] = accepts_arrays(g[name])


_accept_arrays_everywhere()
