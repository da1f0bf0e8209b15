"""Sorting, top-k and scans with indices (cummax/cummin) and logcumsumexp.

``sort`` finds the sorting permutation on the detached keys, then takes the values with one
GATHER at those indices, so the gradient flows to the selected elements (GATHER's VJP). Rows of
up to ``_SORT["rank_max"]`` (512) elements use comparison counting: the rank of element ``i`` is
the number of elements that come before it (smaller, or equal with a smaller index: a stable
sort), from one ``(n, n)`` comparison per row, and SCATTER_ADD of the positions at their ranks
inverts the permutation (O(n**2) work and memory). Longer rows use Batcher's bitonic network on
(key, index) pairs (O(n log**2 n)). NaN sorts as the largest value, as in torch.

``cummax``/``cummin`` find the running extremum with a Hillis-Steele scan (log2(n) shifted
MAX/minimum ops), take as index the last position holding it (torch's choice among ties), and
gather the values there; ``logcumsumexp`` scans with :meth:`logaddexp`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Self, TypeVar

from idrak.contract.dtypes import bool_, int64
from idrak.core.methods.base import TensorBase
from idrak.core.methods.matrix import _arange
from idrak.core.methods.movement import stack

__all__ = ["SortingMixin", "sort_result", "topk_result"]

T = TypeVar("T", bound=TensorBase)

#: ``sort`` returns this pair, like ``torch.return_types.sort``
sort_result = namedtuple("sort_result", ["values", "indices"])
#: ``topk`` returns this pair, like ``torch.return_types.topk``
topk_result = namedtuple("topk_result", ["values", "indices"])
#: ``cummax``/``cummin`` return this pair, like ``torch.return_types.cummax``
cum_result = namedtuple("cum_result", ["values", "indices"])


def _before(a: T, b: T, descending: bool) -> T:
    """Whether ``a`` sorts strictly before ``b`` (NaN is the largest value)."""
    if descending:
        a, b = b, a
    lt = a < b
    if a.dtype.kind == "f":
        lt = lt | (~a.isnan() & b.isnan())
    return lt


def _same(a: T, b: T) -> T:
    eq = a == b
    if a.dtype.kind == "f":
        eq = eq | (a.isnan() & b.isnan())
    return eq


def _to_last(x: T, d: int) -> T:
    return x if d == x.ndim - 1 else x.movedim(d, x.ndim - 1)


def _rank_order(key: T, descending: bool) -> T:
    """The stable sorting permutation of the last dim by comparison counting (O(n**2))."""
    n = key.shape[-1]
    xi, xj = key.unsqueeze(-1), key.unsqueeze(-2)  # element i (rows), element j (cols)
    pos = _arange(key, n)
    earlier = pos.reshape(1, n) < pos.reshape(n, 1)  # j < i
    before = _before(xj, xi, descending) | (_same(xj, xi) & earlier)
    rank = before.sum(-1)  # (..., n): the sorted position of element i
    return rank.zeros_like().scatter_add(-1, rank, pos._broadcast_to(rank.shape))


def _bitonic_order(key: T, descending: bool) -> T:
    """The stable sorting permutation of the last dim by Batcher's bitonic network
    (K. E. Batcher, "Sorting networks and their applications", AFIPS 1968): the dim is padded
    to a power of two P and ``log2(P) (log2(P) + 1) / 2`` compare-exchange stages run on
    (key, index) pairs. Ties compare by index and padding sorts after everything, so the order
    is total and the result stable. O(n log**2 n) work."""

    n = key.shape[-1]
    p = 1 << (n - 1).bit_length()
    lead = key.shape[:-1]
    zeros = tuple((0, 0) for _ in lead)
    k = key._pad(zeros + ((0, p - n),), 0)
    i = _arange(key, p)._broadcast_to(k.shape)

    def before(ka: T, ia: T, kb: T, ib: T) -> T:
        ra, rb = ia < n, ib < n  # real elements (not padding)
        order = _before(ka, kb, descending) | (_same(ka, kb) & (ia < ib))
        return (ra & ~rb) | ((ra == rb) & order)

    size = 2
    while size <= p:
        j = size // 2
        while j >= 1:
            shape = lead + (p // (2 * j), 2, j)
            kk, ii = k.reshape(shape), i.reshape(shape)
            blocks = _arange(key, p // (2 * j)) * (2 * j)
            down = ((blocks // size) % 2 == 1).reshape(p // (2 * j), 1)  # descending blocks
            full = tuple((0, s) for s in lead)
            lo_b, hi_b = (
                full + ((0, p // (2 * j)), (0, 1), (0, j)),
                full
                + (
                    (0, p // (2 * j)),
                    (1, 2),
                    (0, j),
                ),
            )
            klo, khi = kk._shrink(lo_b).squeeze(-2), kk._shrink(hi_b).squeeze(-2)
            ilo, ihi = ii._shrink(lo_b).squeeze(-2), ii._shrink(hi_b).squeeze(-2)
            swap = down._broadcast_to(klo.shape)._select(
                before(klo, ilo, khi, ihi), before(khi, ihi, klo, ilo)
            )

            k = stack([swap._select(khi, klo), swap._select(klo, khi)], -2).reshape(k.shape)
            i = stack([swap._select(ihi, ilo), swap._select(ilo, ihi)], -2).reshape(i.shape)
            j //= 2
        size *= 2
    return i._shrink(tuple((0, s) for s in lead) + ((0, n),))


#: ``rank_max``: rows at most this long sort by comparison counting, longer ones by the bitonic
#: network. The measured crossover (benchmarks/sort.py, NumPy backend, 64 rows of float32):
#: comparison counting is faster up to 512 (56 vs 154 ms), the network from 1024 (425 vs
#: 1447 ms), where the (n, n) comparisons also start to cost gigabytes. A dict so tests can
#: lower it.
_SORT = {"rank_max": 512}


def _scan(x: T, d: int, fn: Callable[[T, T], T], fill: object) -> T:
    """Inclusive Hillis-Steele scan of ``fn`` along ``d`` (``fill`` pads the shifted copy)."""
    n = x.shape[d]
    shift = 1
    while shift < n:
        widths = tuple((shift, 0) if i == d else (0, 0) for i in range(x.ndim))
        bounds = tuple((0, n) if i == d else (0, s) for i, s in enumerate(x.shape))
        x = fn(x._pad(widths, fill)._shrink(bounds), x)
        shift *= 2
    return x


class SortingMixin(TensorBase):
    """sort, argsort, topk, cummax, cummin, logcumsumexp."""

    __slots__ = ()

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> sort_result:
        """Sorted values and their indices along ``dim`` (``torch.sort``).

        Always stable (equal elements keep their order; torch's ``stable=False`` allows any
        order, so this is one valid answer). NaN is the largest value: last ascending, first
        descending. Returns ``(values, indices)`` with int64 indices; 0-d input gives itself and
        index 0.
        """
        if self.ndim == 0:
            return sort_result(self, self._full_like_shape(0, dtype=int64))
        d = self._dim(dim)
        n = self.shape[d]
        x = _to_last(self, d)
        key = x.detach()
        if key.dtype == bool_:
            key = key.cast(int64)
        if n <= 1:
            idx = x._full_like_shape(0, dtype=int64)
        elif n <= _SORT["rank_max"]:
            idx = _rank_order(key, descending)
        else:
            idx = _bitonic_order(key, descending)
        vals = x.gather(-1, idx)
        if d != self.ndim - 1:
            vals, idx = vals.movedim(-1, d), idx.movedim(-1, d)
        return sort_result(vals, idx)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Self:
        """The indices that sort ``dim`` (see :meth:`sort`), int64."""
        return self.sort(dim, descending, stable).indices

    def msort(self) -> Self:
        """Values sorted along dim 0 (``torch.msort``)."""
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> topk_result:
        """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their
        indices (``torch.topk``). The result is always sorted (allowed for ``sorted=False``);
        among equal elements the earliest indices win; NaN counts as the largest.

        Raises:
            ValueError: ``k`` outside ``[0, size of dim]``.
        """
        n = self.shape[self._dim(dim)] if self.ndim else 1
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
            raise ValueError(f"topk: k ({k!r}) must be an int in [0, {n}] for shape {self.shape}")
        vals, idx = self.sort(dim, descending=largest)
        if self.ndim == 0:
            return topk_result(vals, idx)
        d = self._dim(dim)
        return topk_result(vals.narrow(d, 0, k), idx.narrow(d, 0, k))

    def _cum_extreme(self, dim: int, largest: bool) -> cum_result:
        if self.ndim == 0:
            return cum_result(self * 1, self._full_like_shape(0, dtype=int64))
        d = self._dim(dim)
        x = self
        key = x.detach().cast(int64) if x.dtype == bool_ else x.detach()
        if key.shape[d] == 0:
            return cum_result(x.clone(), key.cast(int64))
        if key.dtype.kind == "f":
            fill: object = -float("inf") if largest else float("inf")
        else:
            fill = -(2**63) if largest else 2**63 - 1
            key = key.cast(int64)
        op = (lambda a, b: a.maximum(b)) if largest else (lambda a, b: a.minimum(b))
        run = _scan(key, d, op, fill)
        pos = key._arange_along(d)
        cand = _same(key, run)._select(pos, -1)
        idx = _scan(cand, d, lambda a, b: a.maximum(b), -1)
        return cum_result(x.gather(d, idx), idx)

    def cummax(self, dim: int) -> cum_result:
        """Running maximum along ``dim`` and the index where it was last attained
        (``torch.cummax``); after a NaN the values are NaN. The gradient goes to those indices."""
        return self._cum_extreme(dim, True)

    def cummin(self, dim: int) -> cum_result:
        """Running minimum along ``dim`` and its (last) index; see :meth:`cummax`."""
        return self._cum_extreme(dim, False)

    def logcumsumexp(self, dim: int) -> Self:
        """``log(cumsum(exp(x)))`` along ``dim``, computed stably by a scan of
        :meth:`logaddexp` (no overflow, no underflow of small terms). Floats only, as torch."""
        if self.dtype.kind != "f":
            raise TypeError(f"logcumsumexp needs a floating tensor, got {self.dtype}")
        if self.ndim == 0:
            return self * 1
        d = self._dim(dim)
        out = _scan(self, d, lambda a, b: a.logaddexp(b), -float("inf"))
        return out if out is not self else self.clone()
