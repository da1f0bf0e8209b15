"""Upsample, CosineSimilarity and PairwiseDistance (no parameters)."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn.module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance", "Upsample"]


class Upsample(Module):
    """Resize spatial dims by ``size`` or ``scale_factor``; see
    :func:`idrak.nn.functional.interpolate` for the modes and ``align_corners``."""

    def __init__(
        self,
        size: Any = None,
        scale_factor: Any = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class CosineSimilarity(Module):
    """``forward(x1, x2)``: cosine similarity along ``dim``; see
    :func:`idrak.nn.functional.cosine_similarity`."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``forward(x1, x2)``: ``||x1 - x2 + eps||_p`` over the last dim; see
    :func:`idrak.nn.functional.pairwise_distance`."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
