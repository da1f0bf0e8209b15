"""``multinomial``: sampling category indices from the framework's counter-based RNG.

With replacement each sample inverts the CDF: ``u ~ U[0, 1)`` scaled by the row total, the index
is the number of cumulative sums ``<= u`` (zero-weight categories are never chosen). Without
replacement, the exponential race (equivalent to the Gumbel-top-k trick; Vieira 2014, Kool et
al., ICML 2019): ``E_i / w_i`` with ``E_i ~ Exp(1)``, and the ``k`` smallest win, which has
exactly the distribution of drawing ``k`` times without replacement in proportion to the
weights. The uniforms come from :func:`idrak.core.creation.rand`'s stream, so seeds and
``idrak.jit`` replays behave as for every other random op.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from idrak.contract.dtypes import float64, int64
from idrak.core.methods.base import TensorBase

__all__ = ["SamplingMixin"]

T = TypeVar("T", bound=TensorBase)


def _check_weights(p: T) -> None:
    """Host-side validity check of realized weights (a lazy input is not forced)."""
    if p.lazy.buf is None or p.numel() == 0:
        return
    a = p.numpy()
    import numpy as np

    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError("multinomial: probability tensor contains either inf, nan or element < 0")
    if (a.reshape(-1, a.shape[-1]).sum(-1) <= 0).any():
        raise ValueError("multinomial: every row of weights must have a positive sum")


class SamplingMixin(TensorBase):
    """multinomial."""

    __slots__ = ()

    def multinomial(
        self, num_samples: int, replacement: bool = False, *, generator: Any = None
    ) -> Self:
        """``num_samples`` category indices per row of the non-negative weights ``self``
        (``(n,)`` or ``(batch, n)``; they need not sum to 1), as ``torch.multinomial``: int64 of
        shape ``(num_samples,)`` or ``(batch, num_samples)``.

        Raises:
            ValueError: not 1-D/2-D, a non-positive ``num_samples``, more samples than
                categories without replacement, or (for realized weights) NaN/inf/negative
                weights or a zero row.
            TypeError: integer weights.
        """
        from idrak.core.creation import _uniform

        if self.ndim not in (1, 2):
            raise ValueError(f"multinomial: weights must be 1-D or 2-D, got shape {self.shape}")
        if self.dtype.kind != "f":
            raise TypeError(f"multinomial: weights must be floating point, got {self.dtype}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"multinomial: num_samples must be a positive int, got {num_samples!r}"
            )
        n = self.shape[-1]
        if n == 0:
            raise ValueError("multinomial: weights have no categories (last dim is 0)")
        if not replacement and num_samples > n:
            raise ValueError(
                f"multinomial: cannot draw {num_samples} samples without replacement from {n} "
                "categories"
            )
        _check_weights(self)
        p = self.detach().cast(float64)
        rows = p.reshape(-1, n)
        b = rows.shape[0]
        if replacement:
            cdf = rows.cumsum(-1)  # (b, n)
            u = _uniform((b, num_samples), float64, self.device, generator)
            t = u * cdf[:, n - 1 :]  # (b, s) in [0, total)
            idx = (cdf.unsqueeze(1) <= t.unsqueeze(-1)).sum(-1)
            idx = (idx >= n)._select(n - 1, idx)
        else:
            u = _uniform((b, n), float64, self.device, generator)
            race = -(1.0 - u).log() / rows  # Exp(1) / w: inf for a zero weight
            idx = race.topk(num_samples, -1, largest=False).indices
        idx = idx.cast(int64)
        return idx.reshape(num_samples) if self.ndim == 1 else idx
