"""More of PyTorch's Tensor methods, composed from the existing ones: logical_and/or, outer,
trace, take, equal, bmm, index_add, median, kthvalue, the in-place scatters, retain_grad,
detach_, and the host-side unique and bincount.

``unique`` and ``bincount`` read the values on the host (their result shape depends on them, as
``nonzero``'s does) and return new leaves without a graph. ``median`` is the lower median
(element ``(n - 1) // 2`` of the sorted values, as torch's) and ``kthvalue`` the ``k``-th
smallest; both take their values (and gradient) from :meth:`sort` and their indices from its
permutation, so with ties the index is one of the equal elements.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Self, TypeVar

import numpy as np

from idrak.contract.dtypes import bool_, int64
from idrak.core.methods.base import TensorBase
from idrak.core.methods.matrix import _arange

__all__ = ["MoreMethodsMixin"]

T = TypeVar("T", bound=TensorBase)

median_result = namedtuple("median_result", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue_result", ["values", "indices"])


def _truthy(x: Any, name: str) -> Any:
    """``x != 0`` as a bool tensor; ``x`` must be a tensor (as torch's ``other``)."""
    if not isinstance(x, TensorBase):
        raise TypeError(f"{name}: other must be a tensor, got {type(x).__name__} {x!r}")
    return x if x.dtype == bool_ else x != 0


def _kth(x: T, k: int, dim: int, keepdim: bool, name: str) -> tuple[T, T]:
    """The ``k``-th smallest (0-based) values and indices of ``x`` along ``dim``."""
    if x.ndim == 0:
        if k != 0:
            raise IndexError(f"{name}: k ({k + 1}) out of range for a 0-d tensor")
        return x, x._full_like_shape(0, dtype=int64)
    d = x._dim(dim)
    n = x.shape[d]
    if not 0 <= k < n:
        raise IndexError(f"{name}: k ({k + 1}) out of range [1, {n}] for dim {dim} of {x.shape}")
    vals, idx = x.sort(d)
    v, i = vals.narrow(d, k, 1), idx.narrow(d, k, 1)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return v, i


class MoreMethodsMixin(TensorBase):
    """logical_and/or, outer, trace, take, equal, bmm, index_add(_), median, kthvalue,
    scatter_/scatter_add_, retain_grad, detach_, unique, bincount."""

    __slots__ = ()

    # logic and comparison ---------------------------------------------------------------------
    def logical_and(self, other: TensorBase) -> Self:
        """Elementwise ``self != 0 and other != 0`` (``torch.logical_and``): a bool tensor.

        Raises:
            TypeError: ``other`` is not a tensor.
        """
        return _truthy(self, "logical_and") & _truthy(other, "logical_and")

    def logical_or(self, other: TensorBase) -> Self:
        """Elementwise ``self != 0 or other != 0`` (``torch.logical_or``): a bool tensor.

        Raises:
            TypeError: ``other`` is not a tensor.
        """
        return _truthy(self, "logical_or") | _truthy(other, "logical_or")

    def equal(self, other: TensorBase) -> bool:
        """``True`` when ``other`` has the same shape and equal elements (``torch.equal``).

        Raises:
            TypeError: ``other`` is not a tensor.
        """
        if not isinstance(other, TensorBase):
            raise TypeError(f"equal: other must be a tensor, got {type(other).__name__}")
        if tuple(self.shape) != tuple(other.shape):
            return False
        return bool((self == other).all().item())

    # linear algebra ---------------------------------------------------------------------------
    def outer(self, vec2: TensorBase) -> Self:
        """Outer product of 1-D ``self`` (n,) and ``vec2`` (m,) -> (n, m) (``torch.outer``).

        Raises:
            ValueError: an input that is not 1-D.
        """
        if self.ndim != 1 or not isinstance(vec2, TensorBase) or vec2.ndim != 1:
            got = vec2.shape if isinstance(vec2, TensorBase) else type(vec2).__name__
            raise ValueError(f"outer: expected two 1-D tensors, got {self.shape} and {got}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def trace(self) -> Self:
        """Sum of the main diagonal of a 2-D tensor (``torch.trace``); integer and bool inputs
        sum to int64.

        Raises:
            ValueError: ``self`` is not 2-D.
        """
        if self.ndim != 2:
            raise ValueError(f"trace: expected a 2-D tensor, got shape {self.shape}")
        i = _arange(self, min(self.shape))
        return self[i, i].sum()

    def bmm(self, mat2: TensorBase) -> Self:
        """Batched matrix product (b, n, m) @ (b, m, p) -> (b, n, p) (``torch.bmm``).

        Raises:
            ValueError: an input that is not 3-D, or batch sizes that differ.
        """
        if not isinstance(mat2, TensorBase) or self.ndim != 3 or mat2.ndim != 3:
            got = mat2.shape if isinstance(mat2, TensorBase) else type(mat2).__name__
            raise ValueError(f"bmm: expected 3-D tensors, got {self.shape} and {got}")
        if self.shape[0] != mat2.shape[0]:
            raise ValueError(f"bmm: batch sizes differ: {self.shape} and {mat2.shape}")
        return self.matmul(mat2)

    # indexing ---------------------------------------------------------------------------------
    def take(self, index: TensorBase) -> Self:
        """Elements of ``self`` read as 1-D at the integer positions ``index`` (any shape; the
        result has ``index``'s shape; negative positions count from the end) (``torch.take``).

        Raises:
            TypeError: a non-integer ``index``.
        """
        if not isinstance(index, TensorBase) or index.dtype.kind not in "iu":
            got = index.dtype if isinstance(index, TensorBase) else type(index).__name__
            raise TypeError(f"take: index must be an integer tensor, got {got}")
        return self.reshape(-1)[index]

    def index_add(self, dim: int, index: TensorBase, source: TensorBase, *, alpha: Any = 1) -> Self:
        """``self`` with ``alpha * source`` added at positions ``index`` (1-D, one per slice
        of ``source`` along ``dim``) along ``dim``; repeated indices accumulate
        (``torch.index_add``). Composed from :meth:`scatter_add`.

        Raises:
            TypeError: a non-integer ``index``.
            ValueError: ``index`` not 1-D, or ``source``'s shape not ``self``'s with
                ``len(index)`` at ``dim``.
        """
        if not isinstance(index, TensorBase) or index.dtype.kind not in "iu":
            got = index.dtype if isinstance(index, TensorBase) else type(index).__name__
            raise TypeError(f"index_add: index must be an integer tensor, got {got}")
        d = self._dim(dim)
        if index.ndim > 1:
            raise ValueError(f"index_add: index must be 1-D, got shape {index.shape}")
        n = index.numel()
        want = tuple(n if i == d else s for i, s in enumerate(self.shape))
        if tuple(source.shape) != want:
            raise ValueError(
                f"index_add: source shape {source.shape} must be {want} (self {self.shape}, "
                f"{n} indices along dim {dim})"
            )
        view = tuple(-1 if i == d else 1 for i in range(self.ndim))
        idx = index.reshape(*view).expand(*want) if self.ndim else index.reshape(())
        src = source * alpha if alpha != 1 else source
        return self.scatter_add(d, idx, src)

    def index_add_(
        self, dim: int, index: TensorBase, source: TensorBase, *, alpha: Any = 1
    ) -> Self:
        """In-place :meth:`index_add`."""
        return self._apply("index_add_", lambda o: o.index_add(dim, index, source, alpha=alpha))

    def scatter_(
        self,
        dim: int,
        index: Self,
        src: Any = None,
        value: Any = None,
        reduce: str | None = None,
    ) -> Self:
        """In-place :meth:`scatter` (same arguments: ``src`` or ``value``, optional
        ``reduce="add"``/``"multiply"``)."""
        return self._apply("scatter_", lambda o: o.scatter(dim, index, src, value, reduce))

    def scatter_add_(self, dim: int, index: TensorBase, src: TensorBase) -> Self:
        """In-place :meth:`scatter_add`."""
        return self._apply("scatter_add_", lambda o: o.scatter_add(dim, index, src))

    # order statistics -------------------------------------------------------------------------
    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median: element ``(n - 1) // 2`` of the sorted values (``torch.median``).

        Without ``dim``: a 0-d tensor over all elements. With ``dim``: ``(values, indices)``
        along ``dim`` (int64 indices into ``self``). NaN sorts last, as in :meth:`sort`.

        Raises:
            IndexError: an empty tensor or dim.
        """
        if dim is None:
            flat = self.reshape(-1)
            if flat.numel() == 0:
                raise IndexError("median: cannot take the median of an empty tensor")
            return _kth(flat, (flat.numel() - 1) // 2, 0, False, "median")[0]
        n = self.shape[self._dim(dim)] if self.ndim else 1
        return median_result(*_kth(self, (n - 1) // 2, dim, keepdim, "median"))

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)`` of the ``k``-th smallest element (1-based) along ``dim``
        (``torch.kthvalue``).

        Raises:
            IndexError: ``k`` outside ``[1, size of dim]``.
        """
        return kthvalue_result(*_kth(self, int(k) - 1, dim, keepdim, "kthvalue"))

    # host-side, data-dependent shapes ---------------------------------------------------------
    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values, sorted (``torch.unique``; read on the host).

        With ``dim=None`` the input is flattened; otherwise the distinct slices along ``dim``.
        ``return_inverse`` adds int64 positions of each input element (or slice) in the result
        (the input's shape when ``dim`` is None); ``return_counts`` adds int64 counts.
        ``sorted=False`` also sorts (torch allows either order). No gradient flows.
        """
        a = self.numpy()
        axis = None if dim is None else self._dim(dim)
        vals, inv, cnt = np.unique(a, return_inverse=True, return_counts=True, axis=axis)
        out: list[Any] = [self._from_host(np.ascontiguousarray(vals), self.dtype)]
        if return_inverse:
            inv = inv.reshape(a.shape) if axis is None else inv.reshape(-1)
            out.append(self._from_host(inv.astype(np.int64), int64))
        if return_counts:
            out.append(self._from_host(cnt.astype(np.int64), int64))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: TensorBase | None = None, minlength: int = 0) -> Self:
        """Counts of each value of a 1-D non-negative integer tensor (``torch.bincount``;
        read on the host): length ``max(max + 1, minlength)``, int64, or the sums of
        ``weights`` (same length as ``self``; float weights keep their dtype, others give
        float64).

        Raises:
            TypeError: a non-integer ``self``.
            ValueError: ``self`` not 1-D, a negative value, a negative ``minlength``, or
                ``weights`` of another shape.
        """
        if self.dtype.kind not in "iu" or self.dtype == bool_:
            raise TypeError(f"bincount: expected an integer tensor, got {self.dtype}")
        if self.ndim != 1:
            raise ValueError(f"bincount: expected a 1-D tensor, got shape {self.shape}")
        if minlength < 0:
            raise ValueError(f"bincount: minlength must be non-negative, got {minlength}")
        a = self.numpy().astype(np.int64)
        if a.size and a.min() < 0:
            raise ValueError(f"bincount: values must be non-negative, got {int(a.min())}")
        if weights is None:
            return self._from_host(np.bincount(a, minlength=minlength).astype(np.int64), int64)
        if tuple(weights.shape) != tuple(self.shape):
            raise ValueError(
                f"bincount: weights shape {weights.shape} must equal input shape {self.shape}"
            )
        dt = weights.dtype if weights.dtype.kind == "f" else "float64"
        w = weights.numpy().astype(np.float64)
        return self._from_host(np.bincount(a, weights=w, minlength=minlength), dt)

    # autograd ---------------------------------------------------------------------------------
    def retain_grad(self) -> None:
        """Make :meth:`backward` fill this non-leaf tensor's ``.grad`` as well
        (``torch.Tensor.retain_grad``; a no-op on a leaf).

        Raises:
            RuntimeError: the tensor does not require grad.
        """
        from idrak.core.autograd import retain_grad
        from idrak.errors import IdrakError

        if not self.requires_grad:
            raise IdrakError("can't retain_grad on Tensor that has requires_grad=False")
        if self._ctx is not None:
            retain_grad(self)

    def detach_(self) -> Self:
        """Detach this tensor from its graph in place: it becomes a leaf that does not require
        grad (``torch.Tensor.detach_``).

        Raises:
            RuntimeError: the tensor is a view (detach its base, or use :meth:`detach`).
        """
        from idrak.errors import IdrakError

        if self._base is not None:
            raise IdrakError("detach_: cannot detach a view in place; use detach() instead")
        self._ctx = None
        self.requires_grad = False
        return self
