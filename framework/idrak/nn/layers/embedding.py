"""Embedding."""

from __future__ import annotations

from typing import Any

from idrak.core.autograd import no_grad
from idrak.core.creation import arange
from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn import init
from idrak.nn.layers._util import check_positive, new_param
from idrak.nn.module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """A lookup table: integer indices (...) -> rows of ``weight`` (..., embedding_dim).

    ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1) like PyTorch; the row ``padding_idx``
    (if given) starts at zero and receives no gradient.

    Raises:
        ValueError: non-positive sizes or ``padding_idx`` out of range. TypeError: in forward,
            non-integer indices.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_positive("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} is out of range for "
                    f"{num_embeddings} embeddings"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = new_param(num_embeddings, embedding_dim, dtype=dtype, device=device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            rows = arange(self.num_embeddings, device=self.weight.device).unsqueeze(1)
            with no_grad():  # (not weight[i] = 0: see docs/models.md on functional updates)
                self.weight.assign((rows == self.padding_idx)._select(0.0, self.weight))

    def forward(self, x: Tensor) -> Tensor:
        return F.embedding(x, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
