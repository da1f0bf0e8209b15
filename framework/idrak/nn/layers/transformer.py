"""TransformerEncoderLayer, TransformerDecoderLayer and their stacks TransformerEncoder,
TransformerDecoder (Vaswani et al. 2017; ``norm_first`` is the pre-LN variant of Xiong et al.
2020), with torch's submodule names (``self_attn``, ``multihead_attn``, ``linear1``,
``linear2``, ``norm1..3``, ``dropout1..3``) so a torch ``state_dict`` loads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn.layers.attention import MultiheadAttention
from idrak.nn.layers.dropout import Dropout
from idrak.nn.layers.linear import Linear
from idrak.nn.layers.norm import LayerNorm
from idrak.nn.module import Module
from idrak.nn.torch_containers import ModuleList

__all__ = [
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise ValueError(f"activation must be 'relu', 'gelu' or a callable, got {activation!r}")


class _LayerBase(Module):
    norm_first: bool

    @staticmethod
    def _attn(
        d_model: int, nhead: int, dropout: float, bias: bool, batch_first: bool, kw: dict[str, Any]
    ) -> MultiheadAttention:
        return MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )

    def _norms_dropouts(
        self, n: int, d_model: int, eps: float, bias: bool, dropout: float, kw: dict[str, Any]
    ) -> None:
        """Register ``norm1..n`` then ``dropout1..n`` (torch's names and order)."""
        for i in range(1, n + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=eps, bias=bias, **kw))
        for i in range(1, n + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))

    def _ff(self, d_model: int, dff: int, dropout: float, bias: bool, kw: dict[str, Any]) -> None:
        self.linear1 = Linear(d_model, dff, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dff, d_model, bias=bias, **kw)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout_last(x)

    def _sa_block(self, x: Tensor, mask: Any, kpm: Any, is_causal: bool) -> Tensor:
        out = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=kpm, need_weights=False, is_causal=is_causal
        )[0]
        return self.dropout1(out)

    def _set_activation(self, activation: Any) -> None:
        fn = _activation(activation)
        if isinstance(fn, Module):
            self.activation = fn
        else:
            object.__setattr__(self, "activation", fn)


class TransformerEncoderLayer(_LayerBase):
    """Self-attention then a feed-forward block, each with a residual connection and
    LayerNorm (after the residual by default; before each block with ``norm_first``).

    Args mirror torch: ``d_model``, ``nhead``, ``dim_feedforward=2048``, ``dropout=0.1``,
    ``activation`` ("relu", "gelu" or a callable), ``layer_norm_eps=1e-5``,
    ``batch_first=False``, ``norm_first=False``, ``bias=True``.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: src
    (S, N, E) or (N, S, E) with ``batch_first``; masks as :class:`MultiheadAttention`.

    Raises:
        ValueError: ``d_model`` not divisible by ``nhead``, an unknown activation.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = self._attn(d_model, nhead, dropout, bias, batch_first, kw)
        self._ff(d_model, dim_feedforward, dropout, bias, kw)
        self.norm_first = norm_first
        self._norms_dropouts(2, d_model, layer_norm_eps, bias, dropout, kw)
        self._set_activation(activation)

    def dropout_last(self, x: Tensor) -> Tensor:
        return self.dropout2(x)

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_LayerBase):
    """Self-attention, cross-attention over ``memory``, then a feed-forward block, each with
    a residual connection and LayerNorm (post-norm by default, pre-norm with ``norm_first``).

    Args as :class:`TransformerEncoderLayer`. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)``.

    Raises:
        ValueError: ``d_model`` not divisible by ``nhead``, an unknown activation.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = self._attn(d_model, nhead, dropout, bias, batch_first, kw)
        self.multihead_attn = self._attn(d_model, nhead, dropout, bias, batch_first, kw)
        self._ff(d_model, dim_feedforward, dropout, bias, kw)
        self.norm_first = norm_first
        self._norms_dropouts(3, d_model, layer_norm_eps, bias, dropout, kw)
        self._set_activation(activation)

    def dropout_last(self, x: Tensor) -> Tensor:
        return self.dropout3(x)

    def _mha_block(self, x: Tensor, mem: Tensor, mask: Any, kpm: Any, is_causal: bool) -> Tensor:
        out = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=mask,
            key_padding_mask=kpm,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout2(out)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(
            x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        )
        return self.norm3(x + self._ff_block(x))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` (as ``layers.0`` ...), then ``norm``
    if given. ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``.

    Raises:
        ValueError: ``num_layers`` < 1.
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerEncoder: num_layers must be >= 1, got {num_layers}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        if norm is None:
            self.register_module("norm", None)
        else:
            self.norm = norm

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(
                x,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )
        norm = self._modules.get("norm")
        return norm(x) if norm is not None else x


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer``, then ``norm`` if given.
    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.

    Raises:
        ValueError: ``num_layers`` < 1.
    """

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerDecoder: num_layers must be >= 1, got {num_layers}")
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        if norm is None:
            self.register_module("norm", None)
        else:
            self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        norm = self._modules.get("norm")
        return norm(x) if norm is not None else x
