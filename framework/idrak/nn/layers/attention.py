"""MultiheadAttention (Vaswani et al. 2017, section 3.2.2) with torch's parameter layout:
``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) when key and value have the query's
embedding size, else ``q_proj_weight`` / ``k_proj_weight`` / ``v_proj_weight``; and
``out_proj`` a Linear(E, E). A torch ``state_dict`` loads as is.
"""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn import init
from idrak.nn._functional_seq import attention_weights
from idrak.nn.layers._util import check_positive, new_param
from idrak.nn.layers.linear import Linear
from idrak.nn.module import Module

__all__ = ["MultiheadAttention"]


def _as_additive(mask: Tensor | None, dtype: Any) -> Tensor | None:
    """torch's MHA masks: bool True = NOT allowed (-> -inf), float = added."""
    if mask is None:
        return None
    if mask.dtype.kind == "b":
        return mask._select(float("-inf"), 0.0).cast(dtype)
    return mask.cast(dtype)


class MultiheadAttention(Module):
    """Multi-head attention: ``concat(head_1..head_h) W_o`` with ``head_i =
    softmax(q_i k_i^T / sqrt(E/h) + mask) v_i``.

    Args:
        embed_dim: E, split into ``num_heads`` heads of E/num_heads.
        dropout: dropout on the attention weights (training only).
        bias: biases on the input and output projections.
        kdim, vdim: key/value feature sizes (default E; different sizes give separate
            ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``).
        batch_first: inputs and outputs are (N, L, E) rather than (L, N, E).
        add_bias_kv, add_zero_attn: not supported (must be False).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``: output like
    the query, weights (N, L, S) averaged over heads, (N, num_heads, L, S) when not
    ``average_attn_weights``, None when not ``need_weights``. Unbatched (L, E) inputs work.
    ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N*num_heads, L, S): bool True
    means "do not attend" (the opposite of scaled_dot_product_attention), float is added.
    ``is_causal`` is torch's hint that ``attn_mask`` is the causal mask (it must be given).
    Initialised like torch: Xavier-uniform input projections, zero biases.

    Raises:
        ValueError: E not divisible by ``num_heads``, bad sizes, wrong input or mask shapes,
            ``is_causal`` without ``attn_mask``.
        NotImplementedError: ``add_bias_kv`` or ``add_zero_attn``.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_positive("MultiheadAttention", embed_dim=embed_dim, num_heads=num_heads)
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                f"({num_heads})"
            )
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError(
                "MultiheadAttention: add_bias_kv and add_zero_attn are not supported"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, float(dropout)
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        e, kw = embed_dim, {"dtype": dtype, "device": device}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_param(3 * e, e, **kw)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = new_param(e, e, **kw)
            self.k_proj_weight = new_param(e, self.kdim, **kw)
            self.v_proj_weight = new_param(e, self.vdim, **kw)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = new_param(3 * e, **kw)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, device=device, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_attention()

    def _reset_attention(self) -> None:
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            p = self._parameters[name]
            if p is not None:
                init.xavier_uniform_(p)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def reset_parameters(self) -> None:
        self.out_proj.reset_parameters()
        self._reset_attention()

    def _project(self, q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = (w[:e], w[e : 2 * e], w[2 * e :])
        else:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        bs = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        return (
            F.linear(q, ws[0], bs[0]),
            F.linear(k, ws[1], bs[1]),
            F.linear(v, ws[2], bs[2]),
        )

    def _heads(self, x: Tensor) -> Tensor:
        """(N, L, E) -> (N, heads, L, head_dim)."""
        n, length, _ = x.shape
        return x.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal is a hint and needs attn_mask")
        unbatched = query.ndim == 2
        dims = (
            (query, self.embed_dim, "query"),
            (key, self.kdim, "key"),
            (value, self.vdim, "value"),
        )
        for t, size, name in dims:
            if t.ndim != query.ndim or t.ndim not in (2, 3) or t.shape[-1] != size:
                raise ValueError(
                    f"MultiheadAttention: {name} must be (L, N, {size}) "
                    f"({'(N, L, ...)' if self.batch_first else 'or (L, ...) unbatched'}), "
                    f"got {tuple(t.shape)}"
                )
        if unbatched:
            q, k, v = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            q, k, v = query, key, value
        else:
            q, k, v = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, length, source = q.shape[0], q.shape[1], k.shape[1]
        if k.shape[:2] != v.shape[:2] or k.shape[0] != n:
            raise ValueError(
                f"MultiheadAttention: key {tuple(key.shape)} and value {tuple(value.shape)} "
                f"must share batch and length with each other and the query's batch"
            )
        qp, kp, vp = self._project(q, k, v)
        mask = _as_additive(attn_mask, qp.dtype)
        if mask is not None:
            if mask.ndim == 2 and tuple(mask.shape) == (length, source):
                mask = mask.reshape(1, 1, length, source)
            elif mask.ndim == 3 and tuple(mask.shape) == (n * self.num_heads, length, source):
                mask = mask.reshape(n, self.num_heads, length, source)
            else:
                raise ValueError(
                    f"MultiheadAttention: attn_mask must be ({length}, {source}) or "
                    f"({n * self.num_heads}, {length}, {source}), got {tuple(attn_mask.shape)}"  # type: ignore[union-attr]
                )
        kpm = _as_additive(key_padding_mask, qp.dtype)
        if kpm is not None:
            if tuple(kpm.shape) != (n, source):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must be ({n}, {source}), got "
                    f"{tuple(key_padding_mask.shape)}"  # type: ignore[union-attr]
                )
            kpm = kpm.reshape(n, 1, 1, source)
            mask = kpm if mask is None else mask + kpm
        w = attention_weights(self._heads(qp), self._heads(kp), mask)  # (N, H, L, S)
        if self.dropout > 0.0 and self.training:
            w = F.dropout(w, self.dropout, True)
        out = w.matmul(self._heads(vp)).transpose(1, 2).reshape(n, length, self.embed_dim)
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = w.mean(1) if average_attn_weights else w
        return out, weights.squeeze(0) if unbatched else weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
