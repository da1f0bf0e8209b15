"""Dropout."""

from __future__ import annotations

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014): in training, zero each element with
    probability ``p`` and scale the survivors by ``1/(1-p)``; identity in eval mode.

    The mask comes from idrak's seeded generator (:func:`idrak.manual_seed`), so a run is
    reproducible on every backend. ``inplace`` is accepted and ignored.

    Raises:
        ValueError: ``p`` outside [0, 1].
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"Dropout: p must be a number in [0, 1], got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
