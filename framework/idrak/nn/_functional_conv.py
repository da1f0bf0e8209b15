"""1-D convolution and pooling, transposed convolutions, max pooling with indices and
unpooling (``torch.nn.functional`` names), composed from conv2d, pooling and movement ops.

* The 1-D functions run their 2-D counterparts on a (N, C, 1, L) view.
* ``conv_transpose2d`` is the adjoint of ``conv2d``: the input is dilated by ``stride`` (zeros
  between elements), padded by ``dilation * (k - 1) - padding`` (plus ``output_padding`` at the
  end) and correlated with the flipped, in/out-swapped weight (Dumoulin & Visin 2016, "A guide to
  convolution arithmetic for deep learning", section 4).
* ``max_pool2d(..., return_indices=True)`` picks the first maximum of each window (as torch's
  CPU kernel does) and reports its flat index into the input's H*W plane.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.core import creation
from idrak.core.methods.convolution import out_size, pair, unfold2d
from idrak.core.tensor import Tensor

__all__ = [
    "avg_pool1d",
    "conv1d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
]


def single(v: Any, name: str) -> int:
    """``3`` or ``(3,)`` -> ``3``; raises ``ValueError`` naming ``name`` otherwise."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    t = tuple(v) if isinstance(v, (tuple, list)) else ()
    if len(t) != 1 or not isinstance(t[0], int):
        raise ValueError(f"{name} must be an int or a 1-tuple of ints, got {v!r}")
    return int(t[0])


def _as_2d(x: Tensor, fn: str) -> Tensor:
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn} expects input (N, C, L) or (C, L), got shape {tuple(x.shape)}")
    return x.unsqueeze(-2)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation. Shapes: x (N, C, L) or (C, L), W (O, C/groups, K), b (O,) ->
    (N, O, OL), ``OL = (L + 2*padding - dilation*(K-1) - 1) // stride + 1``. ``padding`` may be
    ``"valid"`` or ``"same"``.

    Raises:
        ValueError: wrong ranks or channel counts (shapes named).
    """
    if weight.ndim != 3:
        raise ValueError(f"conv1d expects weight (O, C/groups, K), got {tuple(weight.shape)}")
    x = _as_2d(input, "conv1d")
    pad = padding if isinstance(padding, str) else (0, single(padding, "padding"))
    out = x.conv2d(
        weight.unsqueeze(-2),
        bias,
        (1, single(stride, "stride")),
        pad,
        (1, single(dilation, "dilation")),
        groups,
    )
    return out.squeeze(-2)


def _dilate(x: Tensor, dim: int, s: int) -> Tensor:
    """Insert ``s - 1`` zeros between neighbours along ``dim``: length n -> (n - 1) * s + 1."""
    if s == 1:
        return x
    n = x.shape[dim]
    y = x.unsqueeze(dim + 1)
    widths = [(0, 0)] * y.ndim
    widths[dim + 1] = (0, s - 1)
    y = y._pad(tuple(widths), 0.0)
    y = y.reshape((*x.shape[:dim], n * s, *x.shape[dim + 1 :]))
    return y._slice_dim(dim, slice(0, (n - 1) * s + 1))


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d with respect to its input).

    Shapes: x (N, C_in, H, W) or (C_in, H, W), W (C_in, C_out/groups, KH, KW), b (C_out,) ->
    (N, C_out, OH, OW) with ``OH = (H-1)*stride - 2*padding + dilation*(KH-1) +
    output_padding + 1``.

    Raises:
        ValueError: wrong ranks, ``C_in`` not matching the weight or not divisible by
            ``groups``, ``output_padding`` not smaller than ``stride`` or ``dilation``, or an
            empty output.
    """
    if input.ndim == 3:
        return conv_transpose2d(
            input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation
        ).squeeze(0)
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"conv_transpose2d expects input (N, C_in, H, W) and weight "
            f"(C_in, C_out/groups, KH, KW), got {tuple(input.shape)} and {tuple(weight.shape)}"
        )
    cin, cog, kh, kw = weight.shape
    if input.shape[1] != cin or cin % groups:
        raise ValueError(
            f"conv_transpose2d: input has {input.shape[1]} channels, weight "
            f"{tuple(weight.shape)} expects {cin}, divisible by groups={groups}"
        )
    s, p = pair(stride, "stride"), pair(padding, "padding")
    op, d = pair(output_padding, "output_padding"), pair(dilation, "dilation")
    for i in range(2):
        if not (op[i] < s[i] or op[i] < d[i]):
            raise ValueError(
                f"conv_transpose2d: output_padding {op} must be smaller than stride {s} or "
                f"dilation {d}"
            )
        if s[i] <= 0 or d[i] <= 0 or p[i] < 0:
            raise ValueError(f"conv_transpose2d: bad stride {s}, dilation {d} or padding {p}")
    h, w = input.shape[2], input.shape[3]
    oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1
    ow = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(
            f"conv_transpose2d: output size ({oh}, {ow}) is empty for input {tuple(input.shape)}"
        )
    x = _dilate(_dilate(input, 2, s[0]), 3, s[1])
    eh, ew = d[0] * (kh - 1) - p[0], d[1] * (kw - 1) - p[1]
    x = x.pad((ew, ew + op[1], eh, eh + op[0]))  # negative widths crop
    g = groups
    wt = weight.reshape(g, cin // g, cog, kh, kw).transpose(1, 2).reshape(g * cog, cin // g, kh, kw)
    wt = wt.flip((2, 3))
    return x.conv2d(wt, bias, 1, 0, d, g)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution: x (N, C_in, L), W (C_in, C_out/groups, K) -> (N, C_out,
    (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1). Errors as
    :func:`conv_transpose2d`."""
    if weight.ndim != 3:
        raise ValueError(
            f"conv_transpose1d expects weight (C_in, C_out/groups, K), got {tuple(weight.shape)}"
        )
    out = conv_transpose2d(
        _as_2d(input, "conv_transpose1d"),
        weight.unsqueeze(-2),
        bias,
        (1, single(stride, "stride")),
        (0, single(padding, "padding")),
        (0, single(output_padding, "output_padding")),
        groups,
        (1, single(dilation, "dilation")),
    )
    return out.squeeze(-2)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over sliding windows of (N, C, L) or (C, L); ``stride`` defaults to the kernel."""
    k = single(kernel_size, "kernel_size")
    s = k if stride is None else single(stride, "stride")
    x = _as_2d(input, "avg_pool1d")
    out = x.avg_pool2d(
        (1, k), (1, s), (0, single(padding, "padding")), ceil_mode, count_include_pad
    )
    return out.squeeze(-2)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over sliding windows of (N, C, L) or (C, L); with ``return_indices`` also the
    position (int64, into L) of each maximum."""
    k = single(kernel_size, "kernel_size")
    s = k if stride is None else single(stride, "stride")
    x = _as_2d(input, "max_pool1d")
    args = ((1, k), (1, s), (0, single(padding, "padding")), (1, single(dilation, "dilation")))
    if return_indices:
        out, idx = max_pool2d_with_indices(x, *args, ceil_mode=ceil_mode)
        return out.squeeze(-2), idx.squeeze(-2)
    return x.max_pool2d(*args, ceil_mode).squeeze(-2)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` and, for each output, the flat index ``row * W + col`` (int64) of the
    first maximum of its window in the input's (H, W) plane. Input (N, C, H, W) or (C, H, W).

    Raises:
        ValueError: wrong rank, or padding larger than half the kernel.
    """
    if input.ndim == 3:
        out, idx = max_pool2d_with_indices(
            input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode
        )
        return out.squeeze(0), idx.squeeze(0)
    if input.ndim != 4:
        raise ValueError(f"max_pool2d expects (N, C, H, W) or (C, H, W), got {input.shape}")
    k = pair(kernel_size, "kernel_size")
    s = pair(stride if stride is not None else k, "stride")
    p, d = pair(padding, "padding"), pair(dilation, "dilation")
    out = input.max_pool2d(k, s, p, d, ceil_mode)
    h, w = input.shape[2], input.shape[3]
    with_grad_off = input.detach()
    cols = unfold2d(with_grad_off, k, s, p, d, float("-inf"), ceil_mode)  # (N, C, K, OH, OW)
    tap = cols.argmax(2).numpy()  # first maximum, as torch's kernel
    oh, ow = (
        out_size(h, k[0], s[0], p[0], d[0], ceil_mode),
        out_size(w, k[1], s[1], p[1], d[1], ceil_mode),
    )
    rows = np.arange(oh)[:, None] * s[0] - p[0] + (tap // k[1]) * d[0]
    cs = np.arange(ow)[None, :] * s[1] - p[1] + (tap % k[1]) * d[1]
    idx = creation.tensor((rows * w + cs).astype(np.int64), device=input.device)
    return out, idx


def _unpool(input: Tensor, indices: Tensor, out_hw: tuple[int, ...], fn: str) -> Tensor:
    if tuple(indices.shape) != tuple(input.shape) or indices.dtype.kind not in "iu":
        raise ValueError(
            f"{fn}: indices must be an integer tensor shaped like input {tuple(input.shape)}, "
            f"got {indices.dtype} {tuple(indices.shape)}"
        )
    lead = tuple(input.shape[: input.ndim - len(out_hw)])
    plane = int(np.prod(out_hw))
    idx = indices.reshape((*lead, -1)).cast("int64")
    iv = idx.numpy()
    if iv.size and (iv.min() < 0 or iv.max() >= plane):
        bad = int(iv[(iv < 0) | (iv >= plane)].flat[0])
        raise IndexError(f"{fn}: index {bad} is outside the output plane of size {plane}")
    x = input.reshape((*lead, -1))
    zeros = creation.zeros((*lead, plane), dtype=input.dtype, device=input.device)
    summed = zeros.scatter_add(-1, idx, x)
    count = zeros.detach().scatter_add(-1, idx, creation.ones_like(x.detach())).clamp(min=1.0)
    # an index hit k times holds the value once (sum / k), yet each entry's gradient is the
    # full output gradient at its index, as torch's max_unpool backward (a gather) gives
    out = summed + (summed / count - summed).detach()
    return out.reshape((*lead, *out_hw))


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value goes to its index in a zero (OH, OW)
    plane, ``OH = (H - 1) * stride - 2 * padding + KH`` unless ``output_size`` is given.

    Where two windows picked the same input element (overlapping pools), that output holds the
    value once (torch writes it once) and each entry's gradient is the output gradient at its
    index (torch's backward is a gather).

    Raises:
        ValueError: indices not shaped like input, or an ``output_size`` of the wrong rank.
        IndexError: an index outside the output plane.
    """
    if input.ndim not in (3, 4):
        raise ValueError(f"max_unpool2d expects (N, C, H, W) or (C, H, W), got {input.shape}")
    k = pair(kernel_size, "kernel_size")
    s = pair(stride if stride is not None else k, "stride")
    p = pair(padding, "padding")
    if output_size is None:
        hw = tuple((input.shape[-2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    else:
        hw = tuple(int(v) for v in tuple(output_size)[-2:])
        if len(tuple(output_size)) not in (2, 3, 4):
            raise ValueError(f"max_unpool2d: output_size {output_size!r} must end with (H, W)")
    return _unpool(input, indices, hw, "max_unpool2d")


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The 1-D :func:`max_unpool2d`: (N, C, L) -> (N, C, (L - 1) * stride - 2 * padding + K)."""
    if input.ndim not in (2, 3):
        raise ValueError(f"max_unpool1d expects (N, C, L) or (C, L), got {input.shape}")
    k = single(kernel_size, "kernel_size")
    s = k if stride is None else single(stride, "stride")
    length = (
        (input.shape[-1] - 1) * s - 2 * single(padding, "padding") + k
        if output_size is None
        else int(tuple(output_size)[-1])
    )
    return _unpool(input, indices, (length,), "max_unpool1d")
