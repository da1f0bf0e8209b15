"""The user-facing Tensor. Every method is composed from the primitives of
:mod:`idrak.contract.ops`.

A Tensor wraps a :class:`~idrak.engine.lazy.LazyBuffer` (its value, computed on demand) and, when it
requires grad, the op that produced it (``_ctx = (op, inputs, arg)``) for
:mod:`idrak.core.autograd`. Methods follow PyTorch's names and semantics: broadcasting, type
promotion, Python scalars on either side.

The methods live in mixins split by concern: elementwise math
(:mod:`idrak.core.methods.elementwise`), activations
(:mod:`idrak.core.methods.activation`), reductions (:mod:`idrak.core.methods.reduce`), movement and
indexing
(:mod:`idrak.core.methods.movement`, :mod:`idrak.core.methods.indexing`), neural-network ops
(:mod:`idrak.core.methods.neural`),
device/dtype conversion (:mod:`idrak.core.methods.conversion`) and the value on the host
(:mod:`idrak.core.methods.values`: ``realize``, ``numpy``, ``item``, ``repr``, ...). They
share the interface declared by :class:`~idrak.core.methods.base.TensorBase`, which this class
implements.
"""

from __future__ import annotations

import builtins
import math
import weakref
from typing import Any, cast

import numpy as np

from idrak.contract.dtypes import DType, bool_, get_default_dtype, int64, result_type, to_dtype
from idrak.contract.ops import NONDIFF, Op
from idrak.core import autograd as _ag
from idrak.core.decompositions import DECOMPOSITIONS
from idrak.core.layer_type import Module as Module  # the seeds' idrak.core.tensor.Module
from idrak.core.methods.activation import ActivationMixin
from idrak.core.methods.activation_more import MoreActivationMixin
from idrak.core.methods.base import TensorBase
from idrak.core.methods.conversion import ConvertMixin, host_buffer
from idrak.core.methods.elementwise import MathMixin
from idrak.core.methods.indexing import IndexingMixin
from idrak.core.methods.inplace import InplaceMixin
from idrak.core.methods.inplace import synced_lazy as _synced_lazy
from idrak.core.methods.inplace import version_of as _version_of
from idrak.core.methods.like import LikeMixin
from idrak.core.methods.matrix import MatrixMixin
from idrak.core.methods.more import MoreMethodsMixin
from idrak.core.methods.movement import MovementMixin, broadcast_shapes
from idrak.core.methods.neural import NNOpsMixin
from idrak.core.methods.pairwise import PairwiseMixin
from idrak.core.methods.reduce import ReduceMixin
from idrak.core.methods.sampling import SamplingMixin
from idrak.core.methods.scatter import ScatterMixin
from idrak.core.methods.sorting import SortingMixin
from idrak.core.methods.trig import TrigMixin
from idrak.core.methods.values import ValuesMixin
from idrak.engine import fusion as _fusion
from idrak.engine import lazy as _lazy
from idrak.errors import DeviceError, IdrakError
from idrak.runtime.devices import Device, DeviceLike
from idrak.runtime.devices import device as _device

__all__ = ["Tensor"]

Scalar = bool | int | float
_grad_state = _ag._grad_state
_lazy_state = _lazy._state
_max_depth = _lazy._max_depth
_bound = _lazy._bound
_NONDIFF_VALUES = frozenset(op._value_ for op in NONDIFF)  # (a str hashes in C, an Op in Python)
# enum members bound once: ``Op.X`` is an attribute lookup of ~0.1 us on the hot path
_CMPLT, _CMPEQ, _FULL, _CAST = Op.CMPLT, Op.CMPEQ, Op.FULL, Op.CAST


def _shape_of(shape: Any) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for s in shape:
        if isinstance(s, (bool, float, str, np.floating)) or not hasattr(s, "__index__"):
            raise TypeError(f"shape entries must be integers, got {s!r} in {tuple(shape)!r}")
    out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"negative dimension in shape {out}")
    return out


class Tensor(
    ValuesMixin, InplaceMixin, ConvertMixin, MathMixin, ActivationMixin, ReduceMixin, MovementMixin,
    IndexingMixin, NNOpsMixin, LikeMixin, TrigMixin, PairwiseMixin, MatrixMixin, SortingMixin,
    ScatterMixin, SamplingMixin, MoreActivationMixin, MoreMethodsMixin,
):  # fmt: skip
    """An n-dimensional array on a device, recorded for autograd when ``requires_grad``.

    Create tensors with :func:`idrak.tensor`, :func:`idrak.zeros`, ... rather than the class.

    Attributes:
        grad: accumulated gradient (a Tensor) after :meth:`backward`, else ``None``.
        requires_grad: whether ops on this tensor are recorded.

    In-place ops and views (``_base``, ``_steps``, ``_bver``, ``_vdet``, ``_vers``) are described
    in :mod:`idrak.core.methods.inplace`.
    """

    __slots__ = (
        "__weakref__",
        "_base",
        "_bver",
        "_ctx",
        "_steps",
        "_vdet",
        "_vers",
        "grad",
        "lazy",
        "requires_grad",
    )
    lazy: _lazy.LazyBuffer
    grad: Tensor | None
    _base: weakref.ref[Tensor] | None  # a view's root storage (see core/methods/inplace.py)
    _steps: tuple[Any, ...]
    _bver: int
    _vdet: bool
    _vers: int
    _ctx: tuple[Any, ...] | None
    requires_grad: bool
    __array_priority__ = 1000  # numpy scalars on the left defer to Tensor's operators

    def __init__(
        self,
        data: Any,
        dtype: DType | str | None = None,
        device: DeviceLike | None = None,
        requires_grad: bool = False,
    ) -> None:
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.lazy, self.grad, self._ctx, self.requires_grad = t.lazy, None, None, requires_grad
        self._base, self._vers = None, 0

    # construction --------------------------------------------------------------------------
    @staticmethod
    def _from_lazy(lb: _lazy.LazyBuffer, requires_grad: bool = False) -> Tensor:
        t = Tensor.__new__(Tensor)
        t.lazy, t.grad, t._ctx, t.requires_grad, t._base, t._vers = (
            lb,
            None,
            None,
            requires_grad,
            None,
            0,
        )
        return t

    @staticmethod
    def _prim(
        op: Op, srcs: tuple[TensorBase, ...], arg: Any, shape: tuple[int, ...], dtype: DType
    ) -> Tensor:
        """Record one primitive op (inputs already broadcast and promoted).

        A view whose base was modified in place since it was taken is brought up to date first
        (see :mod:`idrak.core.methods.inplace`); the recorded autograd context saves each
        input's version; a node deeper than :func:`idrak.engine.lazy.max_depth` is realized.
        """
        if len(srcs) == 2:  # the common arities without a comprehension's frame
            s0, s1 = srcs
            lazies: tuple[_lazy.LazyBuffer, ...] = (
                s0.lazy if s0._base is None else _synced_lazy(s0),
                s1.lazy if s1._base is None else _synced_lazy(s1),
            )
        elif len(srcs) == 1:
            s0 = srcs[0]
            lazies = (s0.lazy if s0._base is None else _synced_lazy(s0),)
        else:
            lazies = tuple([s.lazy if s._base is None else _synced_lazy(s) for s in srcs])
        dev = lazies[0].device
        depth = 0
        for lz in lazies:
            if lz.device is not dev and lz.device != dev:
                raise DeviceError(
                    f"{op.name}: tensors are on different devices, {dev} and "
                    f"{lz.device}; move one with .to(device)"
                )
            if lz.buf is None and lz.depth > depth:
                depth = lz.depth
        lb = _lazy.LazyBuffer(op, lazies, arg, shape, dtype, dev)
        lb.depth = depth = depth + 1
        t = Tensor.__new__(Tensor)
        t.lazy, t.grad, t._ctx, t.requires_grad, t._base, t._vers = lb, None, None, False, None, 0
        if dtype.kind == "f":
            for s in srcs:
                if s.requires_grad:
                    if _grad_state.enabled and op._value_ not in _NONDIFF_VALUES:
                        vers = tuple([x._vers if x._base is None else _version_of(x) for x in srcs])
                        t.requires_grad, t._ctx = True, (op, srcs, arg, vers, 0)
                    break
        if depth > _bound[0] and (_lazy_state.eager or depth > _max_depth[0] > 0):
            _lazy.realize(lb)
        return t

    @staticmethod
    def _create(op: Op, arg: Any, shape: tuple[int, ...], dtype: DType, dev: Device) -> Tensor:
        lb = _lazy.LazyBuffer(op, (), arg, shape, dtype, dev)
        lb.depth = 1
        if not _bound[0] and _lazy_state.eager:
            _lazy.realize(lb)
        return Tensor._from_lazy(lb)

    def _full_like_shape(
        self, value: Scalar, shape: tuple[int, ...] | None = None, dtype: DType | None = None
    ) -> Tensor:
        lz = self.lazy
        shape = lz.shape if shape is None else shape
        dtype = lz.dtype if dtype is None else dtype
        lb = _lazy.LazyBuffer(_FULL, (), (shape, value, dtype), shape, dtype, lz.device)
        lb.depth = 1
        if not _bound[0] and _lazy_state.eager:
            _lazy.realize(lb)
        t = Tensor.__new__(Tensor)
        t.lazy, t.grad, t._ctx, t.requires_grad, t._base, t._vers = lb, None, None, False, None, 0
        return t

    def _supports(self, op: Op, dtype: DType | None = None) -> bool:
        return self.lazy.device.backend.supports(op, dtype or self.dtype)

    # metadata ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension (a tuple of ints, like ``torch.Size``)."""
        return self.lazy.shape

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the size of dimension ``dim``."""
        return self.shape if dim is None else self.shape[self._dim(dim)]

    @property
    def dtype(self) -> DType:
        return self.lazy.dtype

    @property
    def device(self) -> Device:
        return self.lazy.device

    @property
    def ndim(self) -> int:
        return len(self.lazy.shape)

    def dim(self) -> int:
        return len(self.lazy.shape)

    def numel(self) -> int:
        return math.prod(self.lazy.shape)

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating type (a method, as in PyTorch)."""
        return self.dtype.kind == "f"

    def _dim(self, d: int) -> int:
        n = self.ndim
        if not isinstance(d, builtins.int):
            raise TypeError(f"dim must be an int, got {d!r}")
        if not -max(n, 1) <= d < max(n, 1):
            raise IndexError(
                f"dimension {d} out of range for a tensor of {n} dims (shape {self.shape})"
            )
        return d % max(n, 1)

    # values: idrak.core.methods.values ---------------------------------------------------
    def __hash__(self) -> int:
        return id(self)

    # autograd ------------------------------------------------------------------------------
    def backward(
        self, gradient: Tensor | None = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Accumulate gradients of this tensor into the ``.grad`` of every leaf it depends on.

        Args:
            gradient: d(loss)/d(self), same shape as self; omit for a one-element tensor.
            retain_graph: keep the graph for another backward (implied by ``create_graph``).
            create_graph: record the backward pass so gradients can be differentiated again.

        Raises:
            IdrakError: no graph (does not require grad), non-scalar without ``gradient``, or a
                ``gradient`` of the wrong shape.
        """
        _ag.backward(self, gradient, retain_graph, create_graph)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(self)`` after each backward accumulates into this leaf's ``.grad``;
        returns a handle whose ``remove()`` drops it. See
        :func:`idrak.core.autograd.register_post_accumulate_grad_hook`."""
        return _ag.register_post_accumulate_grad_hook(self, hook)

    def detach(self) -> Tensor:
        """The same value, cut from the graph, sharing this tensor's storage as torch's does: an
        in-place op on the result changes ``self`` too (and bumps the shared version counter).
        See :mod:`idrak.core.methods.inplace`."""
        return self._detached_view()

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """A leaf with the same value (buffers are immutable, so sharing one is a copy)."""
        import copy

        out = type(self).__new__(type(self))
        out.lazy, out._ctx, out.requires_grad = self.lazy, None, self.requires_grad
        out._base, out._vers = None, 0
        out.grad = copy.deepcopy(self.grad, memo) if self.grad is not None else None
        memo[id(self)] = out
        return out

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf. Returns ``self``.

        Raises:
            IdrakError: for a non-floating tensor, or a non-leaf asked to stop requiring grad.
        """
        if requires_grad and self.dtype.kind != "f":
            raise IdrakError(f"only floating-point tensors can require grad, got {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise IdrakError("requires_grad_(False) on a non-leaf; use .detach() instead")
        self.requires_grad = requires_grad
        return self

    def assign(self, value: Tensor | Scalar) -> Tensor:
        """Replace this tensor's value with ``value`` (broadcast to this shape; cast to this dtype),
        without recording it for autograd; the tensor keeps its leaf status and ``requires_grad``.

        Counts as an in-place op (bumps the version; a view writes through to its base) but is
        allowed on a leaf that requires grad in any grad mode: used by optimizers and
        ``nn.init``. Returns ``self``.

        Raises:
            DeviceError: ``value`` is on another device.
            IdrakError: ``value``'s shape does not broadcast to this tensor's.
        """
        if not isinstance(value, Tensor):
            value = self._full_like_shape(value)
        if value.device != self.device:
            raise DeviceError(f"assign: value is on {value.device}, tensor on {self.device}")
        return self._apply(
            "assign", lambda o: value, check_leaf=False, check_dtype=False, record=False
        )

    # conversion ----------------------------------------------------------------------------
    def cast(self, dtype: DType | str) -> Tensor:
        """Convert to ``dtype`` (float->int truncates toward zero). A no-op when equal."""
        if dtype is self.lazy.dtype:
            return self
        d = to_dtype(dtype)
        if d == self.lazy.dtype:
            return self
        return Tensor._prim(_CAST, (self,), d, self.lazy.shape, d)

    def contiguous(self) -> Tensor:
        return Tensor._prim(Op.CONTIGUOUS, (self,), None, self.shape, self.dtype)

    # elementwise plumbing -------------------------------------------------------------------
    def _broadcast_to(self, shape: tuple[builtins.int, ...]) -> Tensor:
        have = self.lazy.shape
        if have == shape:
            return self
        x = self
        if len(have) < len(shape):
            x = x.reshape((1,) * (len(shape) - len(have)) + have)
        return x.expand(shape)

    def _operands(
        self, other: Any, reverse: builtins.bool = False, float_only: builtins.bool = False
    ) -> tuple[Tensor, Tensor]:
        """Promote and broadcast ``self`` and ``other`` (a Tensor or Python scalar)."""
        if isinstance(other, Tensor):
            dt = _promote(self, other)
            if float_only and dt.kind != "f":
                dt = get_default_dtype()
            sa, sb = self.lazy.shape, other.lazy.shape
            if sa == sb:
                a, b = self.cast(dt), other.cast(dt)
            else:
                shape = broadcast_shapes(sa, sb)
                a = self.cast(dt)._broadcast_to(shape)
                b = other.cast(dt)._broadcast_to(shape)
        else:
            kind = self.lazy.dtype.kind
            tp = type(other)
            if (tp is float and kind == "f") or (tp is int and kind != "b"):
                dt = self.lazy.dtype  # the common cases of result_type, without the call
            else:
                if isinstance(other, np.generic):
                    other = other.item()
                if isinstance(other, np.ndarray):  # as torch does: t + array is a Tensor op
                    from idrak.core.dlpack import as_tensor

                    return self._operands(as_tensor(other, device=self.device), reverse, float_only)
                if not isinstance(other, (bool, int, float)):
                    raise TypeError(
                        f"unsupported operand type {type(other).__name__} for a "
                        "Tensor op; expected a Tensor or a Python number"
                    )
                dt = result_type([self.lazy.dtype], [other])
            if float_only and dt.kind != "f":
                dt = get_default_dtype()
            a = self if dt is self.lazy.dtype else self.cast(dt)
            b = a._full_like_shape(other)
        return (b, a) if reverse else (a, b)

    def _binary(
        self, op: Op, other: Any, reverse: builtins.bool = False, float_only: builtins.bool = False
    ) -> Tensor:
        if isinstance(other, Tensor):
            la, lo = self.lazy, other.lazy
            dt = la.dtype
            # the common case: same dtype and shape, nothing to promote or broadcast
            if dt is lo.dtype and la.shape == lo.shape and (not float_only or dt.kind == "f"):
                return Tensor._prim(
                    op,
                    (other, self) if reverse else (self, other),
                    None,
                    la.shape,
                    bool_ if op is _CMPLT or op is _CMPEQ else dt,
                )
        a, b = self._operands(other, reverse, float_only)
        lz = a.lazy
        return Tensor._prim(
            op, (a, b), None, lz.shape, bool_ if op is _CMPLT or op is _CMPEQ else lz.dtype
        )

    def _unary(self, op: Op, float_only: builtins.bool = True) -> Tensor:
        x = self
        if float_only and x.dtype.kind != "f":
            x = x.cast(get_default_dtype())
        return Tensor._prim(op, (x,), None, x.shape, x.dtype)

    def _select(self, a: Tensor | Scalar, b: Tensor | Scalar) -> Tensor:
        """``where(self, a, b)`` with ``self`` a bool tensor; broadcasting and promotion apply."""
        cond = self if self.dtype == bool_ else self.cast(bool_)
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            dt = _promote(a, b)
        elif isinstance(a, Tensor):
            dt = result_type([a.dtype], [b])
        elif isinstance(b, Tensor):
            dt = result_type([b.dtype], [a])
        else:
            dt = result_type(
                [get_default_dtype() if isinstance(a, float) or isinstance(b, float) else int64]
            )
        shapes = [cond.shape] + [t.shape for t in (a, b) if isinstance(t, Tensor)]
        shape = broadcast_shapes(*shapes)
        ta = (
            a.cast(dt)._broadcast_to(shape)
            if isinstance(a, Tensor)
            else cond._full_like_shape(a, shape, dt)
        )
        tb = (
            b.cast(dt)._broadcast_to(shape)
            if isinstance(b, Tensor)
            else cond._full_like_shape(b, shape, dt)
        )
        return Tensor._prim(Op.WHERE, (cond._broadcast_to(shape), ta, tb), None, shape, dt)

    def _optional(
        self,
        op: Op,
        srcs: tuple[TensorBase, ...],
        arg: Any,
        shape: tuple[builtins.int, ...],
        dtype: DType,
    ) -> Tensor:
        """Optional ``op`` on ``self``'s device: see :func:`optional`."""
        return optional(op, srcs, arg, shape, dtype, self.lazy.device)


def optional(
    op: Op,
    srcs: tuple[TensorBase, ...],
    arg: Any,
    shape: tuple[int, ...],
    dtype: DType,
    dev: Device,
) -> Tensor:
    """Record optional ``op`` natively when the backend of ``dev`` declares it (for the operands'
    dtype), else run its decomposition from :data:`idrak.core.decompositions.DECOMPOSITIONS`."""
    if dev.backend.supports(op, srcs[0].lazy.dtype if srcs else dtype):
        if srcs:
            return Tensor._prim(op, srcs, arg, shape, dtype)
        return Tensor._create(op, arg, shape, dtype, dev)
    # every TensorBase at run time is a Tensor (the mixins exist only inside it)
    return DECOMPOSITIONS[op](cast("tuple[Tensor, ...]", srcs), arg, shape, dtype, dev)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _promote(a: Tensor, b: Tensor) -> DType:
    """The result dtype of an op on tensors ``a`` and ``b`` (PyTorch's rules).

    As in PyTorch, a 0-d tensor combined with a dimensioned one counts only when its category
    (bool < integer < floating) is higher: ``int8[3] + int64 0-d`` is int8, ``int32[3] +
    float64 0-d`` is float64.
    """
    da, db = a.lazy.dtype, b.lazy.dtype
    if da is db:
        return da
    za, zb = not a.lazy.shape, not b.lazy.shape
    if za != zb:
        zero, dim = (da, db) if za else (db, da)
        return zero if _CATEGORY[zero.kind] > _CATEGORY[dim.kind] else dim
    return result_type([da, db])


def tensor(
    data: Any,
    dtype: DType | str | None = None,
    device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays, Tensors).

    Python floats give the default float dtype, ints int64, bools bool; NumPy arrays keep their
    dtype.

    Raises:
        TypeError: unknown dtype or data type. DeviceError: unknown device.
        NotSupportedError: the device's backend does not declare the dtype.
    """
    dev = _device(device)
    if isinstance(data, Tensor):
        out = data.detach().to(dev)
        if dtype is not None:
            out = out.cast(dtype)
        out = Tensor._from_lazy(out.realize().lazy)
    else:
        out = Tensor._from_lazy(host_buffer(data, dtype, dev))
    if requires_grad:
        out.requires_grad_()
    return out


# The frontend's scheduler: realizations go through the fusion pass (docs/fusion.md).
_fusion.install()
