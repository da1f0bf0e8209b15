"""Attention and similarity functions (``torch.nn.functional`` names): scaled dot-product
attention (Vaswani et al. 2017, "Attention Is All You Need", eq. 1), cosine similarity and the
pairwise p-norm distance. All composed from MATMUL, softmax and elementwise ops.
"""

from __future__ import annotations

import math
from typing import Any

from idrak.core import creation
from idrak.core.tensor import Tensor, broadcast_shapes

__all__ = [
    "attention_weights",
    "cosine_similarity",
    "pairwise_distance",
    "scaled_dot_product_attention",
]


def causal_mask(length: int, source: int, device: Any) -> Tensor:
    """Bool (L, S) mask, True where query i may attend to key j (``j <= i``, top-left
    aligned, as torch's ``is_causal``); built from ``arange`` comparisons."""
    i = creation.arange(length, device=device).unsqueeze(1)
    j = creation.arange(source, device=device).unsqueeze(0)
    return i >= j


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim; a row that is -inf everywhere (fully masked) gives zeros,
    as torch's attention does, instead of NaN."""
    dead = scores.amax(-1, keepdim=True) == float("-inf")
    w = dead._select(0.0, scores).softmax(-1)
    return dead._select(0.0, w)


def attention_weights(
    query: Tensor,
    key: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """``softmax(q k^T * scale + mask)``: (..., L, E) x (..., S, E) -> (..., L, S).

    ``attn_mask`` is bool (True = may attend) or float (added); ``is_causal`` also masks keys
    after the query (both combine). Fully masked rows are zero.

    Raises:
        ValueError: mismatched embedding dims, or a mask that does not broadcast to (L, S).
    """
    if query.ndim < 2 or key.ndim < 2 or query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"attention: query {tuple(query.shape)} and key {tuple(key.shape)} must be "
            "(..., L, E) and (..., S, E) with the same E"
        )
    length, source = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = query.matmul(key.transpose(-2, -1)) * s
    if is_causal:
        scores = causal_mask(length, source, query.device)._select(scores, float("-inf"))
    if attn_mask is not None:
        if attn_mask.ndim < 2 or tuple(attn_mask.shape[-2:]) not in {
            (length, source),
            (1, source),
            (length, 1),
            (1, 1),
        }:
            raise ValueError(
                f"attention: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast "
                f"to (..., {length}, {source})"
            )
        if attn_mask.dtype.kind == "b":
            scores = attn_mask._select(scores, float("-inf"))
        else:
            scores = scores + attn_mask.cast(scores.dtype)
    return _safe_softmax(scores)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(q k^T / sqrt(E) + mask) v`` (Vaswani et al. 2017).

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). The leading
    dims broadcast. ``attn_mask``: bool (True = may attend) or float (added to the scores),
    broadcasting to (..., L, S). ``is_causal`` masks key j > query i (not together with
    ``attn_mask``, as torch documents). ``dropout_p`` drops attention
    weights with the framework RNG (``idrak.manual_seed``), scaling the rest by 1/(1-p).
    ``scale`` replaces 1/sqrt(E). ``enable_gqa`` repeats key/value heads (dim -3) to match the
    query's (grouped-query attention). A fully masked query row gives zeros.

    Raises:
        ValueError: mismatched shapes or mask, both ``attn_mask`` and ``is_causal``,
            ``dropout_p`` outside [0, 1), query heads not a multiple of key heads with
            ``enable_gqa``.
    """
    from idrak.nn.functional import dropout

    if is_causal and attn_mask is not None:
        raise ValueError(
            "scaled_dot_product_attention: explicit attn_mask should not be set when is_causal=True"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(
            f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} must have the same sequence length (dim -2)"
        )
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk:
            raise ValueError(
                f"scaled_dot_product_attention: {hq} query heads are not a multiple of {hk} "
                "key/value heads"
            )
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    w = attention_weights(query, key, attn_mask, is_causal, scale)
    if dropout_p > 0.0:
        w = dropout(w, dropout_p, True)
    return w.matmul(value)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``<x1, x2> / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (inputs broadcast).

    Raises:
        ValueError: shapes that do not broadcast (from the elementwise product).
    """
    shape = broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    x1, x2 = x1.broadcast_to(shape), x2.broadcast_to(shape)  # norms of the broadcast inputs
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``|| x1 - x2 + eps ||_p`` over the last dim: (N, D) x (N, D) -> (N,) (inputs broadcast;
    ``eps`` keeps the gradient finite at equal points, as torch)."""
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return diff.norm(p, -1, keepdim=keepdim)
