"""``interpolate`` (nearest, nearest-exact, linear, bilinear, trilinear) and the non-constant
``pad`` modes (reflect, replicate, circular), as ``torch.nn.functional`` defines them.

Both gather along one spatial dimension at a time with host-computed integer indices
(INDEX_SELECT); the linear modes blend two gathered neighbours with host-computed weights, so
gradients flow to the input through index_select's scatter-add VJP. Linear interpolation is
separable, so bilinear/trilinear are exactly 1-D passes in turn.

Source-coordinate rules (torch's ``area_pixel_compute_source_index``): with ``align_corners``
``src = dst * (in - 1) / (out - 1)``; without, ``src = (dst + 0.5) * scale - 0.5`` clamped at 0,
``scale = in / out`` (or ``1 / scale_factor`` when a scale factor is given and not recomputed);
nearest uses ``floor(dst * scale)``, nearest-exact ``floor((dst + 0.5) * scale)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from idrak.core import creation
from idrak.core.tensor import Tensor

__all__ = ["interpolate", "pad_nonconstant"]

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _tuple(v: Any, n: int, name: str) -> tuple[Any, ...]:
    t = tuple(v) if isinstance(v, (tuple, list)) else (v,) * n
    if len(t) != n:
        raise ValueError(f"interpolate: {name} {v!r} must have {n} entries for {n} spatial dims")
    return t


def _gather(x: Tensor, dim: int, idx: np.ndarray) -> Tensor:
    return x.index_select(dim, creation.tensor(idx.astype(np.int64), device=x.device))


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W).

    Exactly one of ``size`` (int or tuple) and ``scale_factor`` (float or tuple) is given.
    ``mode``: ``"nearest"``, ``"nearest-exact"``, ``"linear"`` (3-D input), ``"bilinear"``
    (4-D), ``"trilinear"`` (5-D); ``align_corners`` only with the linear modes.

    Raises:
        ValueError: both or neither of size/scale_factor, a mode that does not fit the input's
            rank, ``align_corners`` with a nearest mode, a non-positive output size.
        NotImplementedError: ``antialias=True`` or modes ``area``/``bicubic``.
    """
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"interpolate expects a 3-D, 4-D or 5-D input, got {input.shape}")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported")
    nsp = input.ndim - 2
    if mode in _LINEAR:
        if _LINEAR[mode] != input.ndim:
            raise ValueError(
                f"interpolate: mode {mode!r} needs a {_LINEAR[mode]}-D input, got {input.ndim}-D"
            )
    elif mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                f"interpolate: align_corners only applies to linear modes, not {mode!r}"
            )
    else:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    ins = tuple(input.shape[2:])
    if size is not None:
        outs = tuple(int(v) for v in _tuple(size, nsp, "size"))
        scales = [i / o if o > 0 else 0.0 for i, o in zip(ins, outs)]
    else:
        sf = tuple(float(v) for v in _tuple(scale_factor, nsp, "scale_factor"))
        outs = tuple(math.floor(i * f) for i, f in zip(ins, sf))
        if recompute_scale_factor:
            scales = [i / o if o > 0 else 0.0 for i, o in zip(ins, outs)]
        else:
            scales = [1.0 / f if f > 0 else 0.0 for f in sf]
    if any(o <= 0 for o in outs):
        raise ValueError(f"interpolate: output size {outs} must be positive (input {ins})")
    x = input
    for k, (n_in, n_out, scale) in enumerate(zip(ins, outs, scales)):
        dim = 2 + k
        dst = np.arange(n_out, dtype=np.float64)
        if mode in ("nearest", "nearest-exact"):
            off = 0.5 if mode == "nearest-exact" else 0.0
            src = np.minimum(np.floor((dst + off) * scale).astype(np.int64), n_in - 1)
            x = _gather(x, dim, src)
            continue
        if align_corners:
            pos = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros_like(dst)
        else:
            pos = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
        i0 = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        lam = pos - i0
        shape = [1] * x.ndim
        shape[dim] = n_out
        wt = creation.tensor(lam.reshape(shape), dtype=x.dtype, device=x.device)
        a, b = _gather(x, dim, i0), _gather(x, dim, i1)
        x = a + (b - a) * wt
    return x


def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n  # circular


def pad_nonconstant(input: Tensor, pad: Sequence[int], mode: str) -> Tensor:
    """``F.pad`` with mode ``reflect`` (mirror without repeating the edge), ``replicate``
    (repeat the edge) or ``circular`` (wrap around), ``pad`` listing (before, after) pairs from
    the last dim. As in torch, ``k = len(pad) // 2`` is 1, 2 or 3 and the input has k+1
    (unbatched) or k+2 dims.

    Raises:
        ValueError: an odd-length ``pad``, a (k, input.ndim) combination torch rejects,
            negative widths, or (reflect) a width not smaller than the dim, (circular) larger
            than the dim.
    """
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    pad = [int(v) for v in pad]
    k = len(pad) // 2
    if len(pad) % 2 or k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise ValueError(
            f"pad: mode {mode!r} pads the last k = 1, 2 or 3 dims of a (k+1)- or (k+2)-D "
            f"tensor; got pad {tuple(pad)} for shape {tuple(input.shape)}"
        )
    x = input
    for j in range(k):
        dim = input.ndim - 1 - j
        lo, hi, n = pad[2 * j], pad[2 * j + 1], input.shape[dim]
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: mode {mode!r} needs non-negative widths, got {tuple(pad)}")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(
                f"pad: reflect widths ({lo}, {hi}) must be smaller than dim {dim} of size {n}"
            )
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(
                f"pad: circular widths ({lo}, {hi}) must be at most dim {dim} of size {n}"
            )
        if lo or hi:
            x = _gather(x, dim, _pad_index(n, lo, hi, mode))
    return x
