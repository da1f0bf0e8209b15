"""In-place ops, views and version counters, with PyTorch's semantics over the lazy graph.

Values in idrak's graph are immutable: an in-place op computes the new value from the old one
(ordinary, recorded ops) and *rebinds* the tensor to the new node. What makes that behave like
PyTorch's mutation of memory:

* **Version counters.** Every storage (a tensor that is not a view, and all views of it) has a
  version, ``t._version``, bumped by each in-place op on it or on any of its views. A recorded
  autograd node saves the versions of its inputs; backward raises torch's error ("one of the
  variables needed for gradient computation has been modified by an inplace operation ...")
  when one changed, instead of computing a wrong gradient.
* **Views.** ``reshape``/``view``, ``permute``/``transpose``/``t``, ``squeeze``/``unsqueeze``,
  ``expand``, basic indexing (ints, slices with a positive step, ``None``, ``...``),
  ``narrow``/``select`` and everything else built from the RESHAPE, PERMUTE, SHRINK and EXPAND
  primitives return a *view*: a tensor that records its base (``_base``, a weak reference to the
  root storage), the steps that derive it (``_steps``) and the base version it reflects
  (``_bver``). The reference is weak so that a view does not keep a temporary alive (the fusion
  pass would then have to materialize it); once the base is gone the view is a storage of its
  own, so two views of a temporary that nothing else references no longer see each other's
  in-place writes (torch's would). ``detach()`` and
  ``.data`` are views with no steps and no autograd history (``_vdet``). An in-place op on a view
  computes the view's new value, writes it back into the base (the inverse steps: RESHAPE back,
  inverse PERMUTE, PAD of a SHRINK plus a WHERE over the region) and rebinds the base; the view
  is then derived again. A view whose base changed (by an in-place op on the base or on a sibling
  view) is brought up to date when it is next used (any op, ``realize``, ``numpy``).
  ``flip``, ``x[::-1]``, advanced indexing, ``contiguous()`` and ``clone()`` are copies (as in
  torch; torch has no negative-step slice). An in-place op on an expanded view whose writes
  would overlap raises, as torch does.
* **Autograd.** In-place on a leaf that requires grad is refused while grad mode is on (torch's
  message); under ``no_grad`` it updates the value and the tensor stays a leaf. In-place on a
  non-leaf records the op (the tensor's history becomes the op applied to its old value).
* **Bounded graphs.** An in-place update of a leaf that requires grad (a parameter) under
  ``no_grad`` realizes the new value at once, so a training loop that never reads a value does
  not chain every step's graph into the next.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Self, TypeVar

from idrak.contract.dtypes import bool_
from idrak.contract.ops import Op
from idrak.core.methods.base import TensorBase
from idrak.errors import IdrakError

__all__ = ["InplaceMixin", "live_base", "mark_view", "sync_view", "synced_lazy", "version_of"]

T = TypeVar("T", bound=TensorBase)

_RESHAPE, _PERMUTE, _SHRINK, _EXPAND, _PAD = Op.RESHAPE, Op.PERMUTE, Op.SHRINK, Op.EXPAND, Op.PAD
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def mark_view(src: T, out: T) -> T:
    """Record ``out`` (just made from ``src`` by one RESHAPE/PERMUTE/SHRINK/EXPAND) as a view of
    ``src``'s storage. Called by the movement primitives; returns ``out``."""
    if out is src:
        return out
    lz = out.lazy
    step = (lz.op, lz.arg, src.lazy.shape, lz.shape)
    b = live_base(src) if src._base is not None else None
    if b is None:
        out._base, out._steps, out._bver, out._vdet = _ref(src), (step,), src._vers, False
    else:
        out._base, out._steps = src._base, src._steps + (step,)
        out._bver, out._vdet = src._bver, src._vdet
    return out


_ref = weakref.ref


def live_base(t: T) -> T | None:
    """The base of the view ``t``, or ``None`` when ``t`` is not a view. A view whose base was
    freed becomes a storage of its own here (keeping the version it had)."""
    r = t._base
    if r is None:
        return None
    b: T | None = r()
    if b is None:
        t._base, t._vers = None, t._bver
    return b


def version_of(t: T) -> int:
    """The version counter of ``t``'s storage: bumped by every in-place op on ``t``, on its base
    or on any view of that base (``torch``'s ``t._version``)."""
    if t._base is None:
        return t._vers
    b = live_base(t)
    return t._vers if b is None else b._vers


def synced_lazy(t: T) -> Any:
    """``t.lazy`` after :func:`sync_view` (the frontend's per-op hook for views)."""
    r = t._base
    if r is None:
        return t.lazy
    b = r()  # live_base(t), inlined: this runs for every use of a view
    if b is None:
        t._base, t._vers = None, t._bver
    elif t._bver != b._vers:
        t._sync()
    return t.lazy


def sync_view(t: T) -> None:
    """Bring the view ``t`` up to date if its base was modified in place (called by the
    frontend before ``t`` is used; a no-op when it is current)."""
    b = live_base(t)
    if b is not None and t._bver != b._vers:
        t._sync()


def _own_storage(t: T) -> None:
    t._base = None


def _set_bver(t: T, version: int) -> None:
    t._bver = version


def _plain(t: T) -> T:
    """``t``'s current value as a new tensor with no history and no storage link."""
    return t._from_lazy(t.lazy)


def _snapshot(t: T) -> T:
    """A new tensor object holding ``t``'s current value and history (never modified later), so
    the graph of an in-place op runs through it rather than through ``t`` itself."""

    s = t._from_lazy(t.lazy, t.requires_grad)
    s._ctx, s._vers = t._ctx, t._vers
    return s


def _replay(steps: tuple[Any, ...], base: T) -> T:

    t = base
    for op, arg, _, shape in steps:
        t = t._prim(op, (t,), arg, shape, t.dtype)
    return t


def _check_no_overlap(steps: tuple[Any, ...], name: str) -> None:
    for op, _, in_shape, out_shape in steps:
        if op is _EXPAND and any(i != o for i, o in zip(in_shape, out_shape)):
            raise IdrakError(
                f"{name}: unsupported operation: more than one element of the written-to "
                f"tensor (expanded from {in_shape} to {out_shape}) refers to a single memory "
                "location. Please clone() the tensor before performing the operation."
            )


def _write_back(steps: tuple[Any, ...], value: T, base: T, name: str) -> T:
    """The new value of ``base`` once the view ``steps`` of it is set to ``value``."""
    val, mask = value, None
    for op, arg, in_shape, out_shape in reversed(steps):
        if op is _RESHAPE:
            val = val.reshape(in_shape)
            mask = None if mask is None else mask.reshape(in_shape)
        elif op is _PERMUTE:
            inv = [0] * len(arg)
            for i, p in enumerate(arg):
                inv[p] = i
            val = val.permute(inv)
            mask = None if mask is None else mask.permute(inv)
        elif op is _SHRINK:
            widths = tuple((a, s - b) for (a, b), s in zip(arg, in_shape))
            val = val._pad(widths, 0)
            if mask is None:
                mask = val._full_like_shape(True, out_shape, bool_)
            mask = mask._pad(widths, False)
        elif op is _PAD:  # only strided slicing records a PAD (see IndexingMixin._slice_dim)
            widths, _ = arg
            keep = tuple((lo, lo + s) for (lo, _), s in zip(widths, in_shape))
            val = val._shrink(keep)
            mask = None if mask is None else mask._shrink(keep)
        elif op is _EXPAND:
            _check_no_overlap(((op, arg, in_shape, out_shape),), name)
        else:  # pragma: no cover - only the ops above are recorded as view steps
            raise AssertionError(op)
    return val if mask is None else mask._select(val, base)


def _fit(new: Any, self: T, name: str, check_dtype: bool) -> T:
    """``new`` broadcast to ``self``'s shape and cast to its dtype, with torch's errors."""
    from idrak.core.methods.movement import broadcast_shapes

    if not isinstance(new, TensorBase):
        new = self._full_like_shape(new)
    if new.shape != self.shape:
        try:
            bs = broadcast_shapes(new.shape, self.shape)
        except ValueError:
            bs = None
        if bs != self.shape:
            raise IdrakError(
                f"{name}: output with shape {list(self.shape)} doesn't match the broadcast "
                f"shape {list(bs) if bs is not None else list(new.shape)}"
            )
        new = new._broadcast_to(self.shape)
    if new.dtype != self.dtype:
        if check_dtype and _CATEGORY[new.dtype.kind] > _CATEGORY[self.dtype.kind]:
            raise IdrakError(
                f"{name}: result type {new.dtype.name} can't be cast to the desired output "
                f"type {self.dtype.name}"
            )
        new = new.cast(self.dtype)
    if new.requires_grad and new._ctx is None:  # a leaf's value: record the copy
        new = new.contiguous()
    return new


def _rebind(t: T, new: T) -> None:
    """Make ``new`` the value of the storage root ``t`` and bump its version."""
    t._vers += 1
    t.lazy = new.lazy
    ctx = new._ctx
    if new.requires_grad and ctx is not None:
        t.requires_grad = True
        t._ctx = (ctx[0], ctx[1], ctx[2], ctx[3], t._vers) if len(ctx) > 3 else ctx
    # else: a leaf stays a leaf; a non-leaf modified without recording keeps its history, whose
    # output version no longer matches (backward raises where the VJP reads that output)


def _redirect(new: T, root: T, mapping: dict[int, T]) -> None:
    """Point the recorded graph of ``new`` at the snapshots in ``mapping`` (id of a tensor about
    to be rebound -> a tensor holding its old value and history) wherever it uses those tensors,
    and at a snapshot of every other view of ``root`` (the storage about to change) it uses.

    ``x[0] = x[0] * 3`` or ``v.add_(v * 2)`` compute the new value from the tensor being
    modified; after the rebinding those uses must still mean the old value, as the memory torch
    saved for backward does. A snapshot carries the version the tensor has now, so a use that
    was already stale still raises at backward. Walks the graph of ``new`` once (not into the
    old history behind the snapshots).
    """
    seen = {id(t) for t in mapping.values()}
    keep: list[T] = []  # replaced tensors stay alive while ids name them
    stack = [new]
    while stack:
        t = stack.pop()
        ctx = t._ctx
        if ctx is None or ctx[1] is None:
            continue
        srcs = ctx[1]
        changed = False
        out = []
        for x in srcs:
            rep = mapping.get(id(x))
            if rep is None and x._base is not None and live_base(x) is root:
                rep = mapping[id(x)] = _snapshot(x)
                keep.append(x)
                rep._vers = root._vers
                stack.append(rep)  # its own history still reads the root: redirect it too
            if rep is not None:
                changed = True
                x = rep
            out.append(x)
        if changed:
            srcs = tuple(out)
            t._ctx = (ctx[0], srcs, *ctx[2:])
        for x in srcs:
            if x.requires_grad and id(x) not in seen:
                seen.add(id(x))
                stack.append(x)


class InplaceMixin(TensorBase):
    """The ``_``-suffixed in-place methods, ``+=`` and friends, ``.data``, ``__setitem__``,
    views and version counters (see the module docstring)."""

    __slots__ = ()

    # views and versions ---------------------------------------------------------------------
    @property
    def _version(self) -> int:
        """The storage's version counter (torch's ``t._version``)."""
        return version_of(self)

    def _sync(self) -> None:
        """Derive this view again from its base (the base was modified in place)."""
        from idrak.core.autograd import _grad_mode

        b = live_base(self)
        if b is None:
            return
        steps = self._steps
        if steps and b.shape != steps[0][2]:
            raise IdrakError(
                f"a view of shape {self.shape} is no longer valid: its base's .data was "
                f"replaced by one of shape {b.shape}; take the view again"
            )
        if self._vdet:
            self.lazy = _replay(steps, _plain(b)).lazy
        else:
            with _grad_mode(True):
                r = _replay(steps, b)
            self.lazy, self._ctx, self.requires_grad = r.lazy, r._ctx, r.requires_grad
        _set_bver(self, b._vers)

    def _detached_view(self) -> Self:
        b = live_base(self) if self._base is not None else None
        if b is not None and self._bver != b._vers:
            self._sync()
        out = _plain(self)
        if b is None:
            out._base, out._steps, out._bver, out._vdet = _ref(self), (), self._vers, True
        else:
            out._base, out._steps, out._bver, out._vdet = self._base, self._steps, self._bver, True
        return out

    @property
    def data(self) -> Self:
        """A tensor sharing this one's storage without autograd history (torch's ``.data``):
        in-place ops on it change this tensor. Assigning replaces the value (any shape/dtype),
        without recording it and leaving the tensor's leaf status and ``requires_grad`` as
        they are."""
        return self._detached_view()

    @data.setter
    def data(self, value: TensorBase) -> None:

        if not isinstance(value, TensorBase):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        if value.device != self.device:
            value = value.to(self.device)
        if live_base(self) is not None:  # a view: its value is its base's, so write through
            if value.shape == self.shape and value.dtype == self.dtype:
                self._apply("data", lambda old: _plain(value), check_leaf=False, record=False)
                return
            _own_storage(self)  # torch: the tensor now has its own storage
        value.realize()
        self._vers += 1
        self.lazy = value.lazy

    # the one in-place path ------------------------------------------------------------------
    def _check_inplace(self, name: str) -> None:
        from idrak.core.autograd import _grad_state

        if not (_grad_state.enabled and self.requires_grad):
            return
        b = live_base(self)
        if b is None and self._ctx is None:
            raise IdrakError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place "
                "operation. Wrap the update in idrak.no_grad() (or update .data)"
            )
        if b is not None and not self._vdet and b._ctx is None and b.requires_grad:
            raise IdrakError(
                f"{name}: a view of a leaf Variable that requires grad is being used in an "
                "in-place operation. Wrap the update in idrak.no_grad()"
            )

    def _apply(
        self,
        name: str,
        fn: Callable[[Self], Any],
        check_leaf: bool = True,
        check_dtype: bool = True,
        record: bool = True,
    ) -> Self:
        """Replace this tensor's value with ``fn(old value)`` in place (see the module doc)."""
        from idrak.core.autograd import _grad_state

        if check_leaf:
            self._check_inplace(name)
        b = live_base(self)
        if b is None:
            steps = getattr(self, "_steps", None)  # set on a view whose base was freed
            if steps:
                _check_no_overlap(steps, name)
            old = _snapshot(self)
            new = _fit(fn(old), self, name, check_dtype)
            if not record:
                new = _plain(new)
            elif new._ctx is not None:
                _redirect(new, self, {id(self): old})
            _rebind(self, new)
            root = self
        else:
            old_base = _snapshot(b)
            det = self._vdet or not record
            view = _replay(self._steps, _plain(old_base) if det else old_base)
            view._vers = b._vers
            new = _fit(fn(view), self, name, check_dtype)
            if det:
                new = _plain(new)
                old_base = _plain(old_base)
            new_base = _write_back(self._steps, new, old_base, name)
            if new_base._ctx is not None:
                _redirect(new_base, b, {id(b): old_base, id(self): view})
            _rebind(b, new_base)
            self._sync()
            root = b
        if root.requires_grad and root._ctx is None and not _grad_state.enabled:
            root.realize()  # a parameter updated under no_grad: cut the graph here
        return self

    def _setitem(self, key: Any, value: Any) -> None:
        def put(old: Self) -> Self:
            tmp = _snapshot(old)  # ``old`` must keep the old value: IndexingMixin rebinds tmp
            # IndexingMixin's functional assignment: the next ``__setitem__`` in Tensor's MRO
            super(InplaceMixin, tmp).__setitem__(key, value)
            return tmp

        self._apply("__setitem__", put, check_dtype=False)

    def __setitem__(self, key: Any, value: Any) -> None:
        """``x[key] = value`` as an in-place op (writes through views; bumps the version)."""
        self._setitem(key, value)

    # arithmetic -------------------------------------------------------------------------------
    def add_(self, other: Any, alpha: Any = 1) -> Self:
        """``self += alpha * other`` in place."""
        return self._apply("add_", lambda o: o.add(other, alpha=alpha))

    def sub_(self, other: Any, alpha: Any = 1) -> Self:
        """``self -= alpha * other`` in place."""
        return self._apply("sub_", lambda o: o - other * alpha if alpha != 1 else o - other)

    def mul_(self, other: Any) -> Self:
        return self._apply("mul_", lambda o: o * other)

    def div_(self, other: Any, rounding_mode: str | None = None) -> Self:
        return self._apply("div_", lambda o: o.div(other, rounding_mode=rounding_mode))

    def floor_divide_(self, other: Any) -> Self:
        return self._apply("floor_divide_", lambda o: o // other)

    def remainder_(self, other: Any) -> Self:
        return self._apply("remainder_", lambda o: o % other)

    def pow_(self, exponent: Any) -> Self:
        return self._apply("pow_", lambda o: o.pow(exponent))

    def neg_(self) -> Self:
        return self._apply("neg_", lambda o: -o)

    def abs_(self) -> Self:
        return self._apply("abs_", lambda o: o.abs())

    def exp_(self) -> Self:
        return self._apply("exp_", lambda o: o.exp())

    def log_(self) -> Self:
        return self._apply("log_", lambda o: o.log())

    def sqrt_(self) -> Self:
        return self._apply("sqrt_", lambda o: o.sqrt())

    def reciprocal_(self) -> Self:
        return self._apply("reciprocal_", lambda o: o.reciprocal())

    def square_(self) -> Self:
        return self._apply("square_", lambda o: o.square())

    def sin_(self) -> Self:
        return self._apply("sin_", lambda o: o.sin())

    def cos_(self) -> Self:
        return self._apply("cos_", lambda o: o.cos())

    def sigmoid_(self) -> Self:
        return self._apply("sigmoid_", lambda o: o.sigmoid())

    def tanh_(self) -> Self:
        return self._apply("tanh_", lambda o: o.tanh())

    def relu_(self) -> Self:
        return self._apply("relu_", lambda o: o.relu())

    def clamp_(self, min: Any = None, max: Any = None) -> Self:
        return self._apply("clamp_", lambda o: o.clamp(min, max))

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Self:
        return self._apply("clamp_min_", lambda o: o.clamp(min=min))

    def clamp_max_(self, max: Any) -> Self:
        return self._apply("clamp_max_", lambda o: o.clamp(max=max))

    def lerp_(self, end: TensorBase, weight: Any) -> Self:
        return self._apply("lerp_", lambda o: o.lerp(end, weight))

    def addcmul_(self, tensor1: TensorBase, tensor2: TensorBase, value: Any = 1) -> Self:
        """``self += value * tensor1 * tensor2`` in place (``torch.Tensor.addcmul_``)."""
        return self._apply("addcmul_", lambda o: o + tensor1 * tensor2 * value)

    def addcdiv_(self, tensor1: TensorBase, tensor2: TensorBase, value: Any = 1) -> Self:
        """``self += value * tensor1 / tensor2`` in place (``torch.Tensor.addcdiv_``)."""
        return self._apply("addcdiv_", lambda o: o + tensor1 / tensor2 * value)

    # bitwise ------------------------------------------------------------------------------------
    def bitwise_and_(self, other: Any) -> Self:
        return self._apply("bitwise_and_", lambda o: o & other)

    def bitwise_or_(self, other: Any) -> Self:
        return self._apply("bitwise_or_", lambda o: o | other)

    def bitwise_xor_(self, other: Any) -> Self:
        return self._apply("bitwise_xor_", lambda o: o ^ other)

    # filling ------------------------------------------------------------------------------------
    def zero_(self) -> Self:
        """Set every element to zero in place."""
        return self._apply("zero_", lambda o: o._full_like_shape(0))

    def fill_(self, value: Any) -> Self:
        """Set every element to ``value`` (a number or a 0-d tensor) in place."""
        if isinstance(value, TensorBase) and value.ndim != 0:
            raise IdrakError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions"
            )
        return self._apply(
            "fill_",
            lambda o: value if isinstance(value, TensorBase) else o._full_like_shape(value),
            check_dtype=False,
        )

    def copy_(self, src: Any, non_blocking: bool = False) -> Self:
        """Copy ``src`` (broadcast to this shape, cast to this dtype, moved to this device) into
        this tensor in place; the gradient flows to ``src`` (``torch.Tensor.copy_``)."""

        if not isinstance(src, TensorBase):
            src = self._from_host(src, self.dtype)
        if src.device != self.device:
            src = src.to(self.device)
        return self._apply("copy_", lambda o: src, check_dtype=False)

    def masked_fill_(self, mask: Self, value: Any) -> Self:
        if mask.dtype != bool_:
            raise IdrakError(f"masked_fill_ only supports boolean masks, but got {mask.dtype}")
        return self._apply("masked_fill_", lambda o: o.masked_fill(mask, value), check_dtype=False)

    def index_fill_(self, dim: int, index: TensorBase, value: Any) -> Self:
        """Set ``self[..., index, ...] = value`` along ``dim`` in place."""
        d = self._dim(dim)
        key = (slice(None),) * d + (index,)
        self._setitem(key, value)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Self:
        """Fill with samples from U(a, b) in place (idrak's counter-based stream)."""
        from idrak.core.creation import rand

        u = rand(self.shape, dtype=self.dtype, device=self.device, generator=generator)
        return self._apply("uniform_", lambda o: u * (b - a) + a, check_dtype=False)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Self:
        """Fill with samples from N(mean, std^2) in place."""
        from idrak.core.creation import randn

        z = randn(self.shape, dtype=self.dtype, device=self.device, generator=generator)
        return self._apply("normal_", lambda o: z * std + mean, check_dtype=False)

    # augmented assignment: in place, as in torch ------------------------------------------------
    def __iadd__(self, other: Any) -> Self:
        return self._apply("__iadd__", lambda o: o + other)

    def __isub__(self, other: Any) -> Self:
        return self._apply("__isub__", lambda o: o - other)

    def __imul__(self, other: Any) -> Self:
        return self._apply("__imul__", lambda o: o * other)

    def __itruediv__(self, other: Any) -> Self:
        return self._apply("__itruediv__", lambda o: o / other)

    def __ifloordiv__(self, other: Any) -> Self:
        return self._apply("__ifloordiv__", lambda o: o // other)

    def __imod__(self, other: Any) -> Self:
        return self._apply("__imod__", lambda o: o % other)

    def __ipow__(self, other: Any) -> Self:
        return self._apply("__ipow__", lambda o: o**other)

    def __iand__(self, other: Any) -> Self:
        return self._apply("__iand__", lambda o: o & other)

    def __ior__(self, other: Any) -> Self:
        return self._apply("__ior__", lambda o: o | other)

    def __ixor__(self, other: Any) -> Self:
        return self._apply("__ixor__", lambda o: o ^ other)
