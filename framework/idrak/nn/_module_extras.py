"""Module conversions (device, dtype, grad flags) and the tree repr, split out of module.py."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from idrak.contract.dtypes import DType, to_dtype
from idrak.core.tensor import Tensor

if TYPE_CHECKING:
    from idrak.nn.module import Module

__all__ = ["ModuleExtrasMixin", "describe_step"]


def describe_step(step: Any) -> str:
    """A one-line name for a pipeline step that is not a Module (a function, a lambda, ...)."""
    name = getattr(step, "__qualname__", None) or getattr(step, "__name__", None)
    if name and "<locals>" in name:  # a closure made by a factory: its own name reads better
        name = getattr(step, "__name__", name)
    mod = getattr(step, "__module__", None)
    if name is None:
        return repr(step)
    return f"{mod}.{name}" if mod and mod not in ("builtins", "__main__") else name


def _move(t: Tensor, device: Any, dtype: DType | None) -> None:
    """Move/cast ``t`` in place (the object stays, so optimizers keep their references)."""
    new = t.detach()
    if device is not None:
        new = new.to(device)
    if dtype is not None and t.dtype.kind == "f":  # like torch: only floating tensors change
        new = new.cast(dtype)
    if new.lazy is not t.lazy:
        t.lazy = new.lazy
    if t.grad is not None:
        g = t.grad
        _move(g, device, dtype)


def _share(t: Tensor) -> Tensor:
    """A new tensor object with ``t``'s value (lazy values are never mutated, only replaced)."""
    from idrak.nn.parameter import Parameter

    if isinstance(t, Parameter):
        out: Tensor = Parameter(Tensor._from_lazy(t.lazy), requires_grad=t.requires_grad)
    else:
        out = Tensor._from_lazy(t.lazy, t.requires_grad and t.is_leaf)
    out.grad = None if t.grad is None else Tensor._from_lazy(t.grad.lazy)
    return out


class ModuleExtrasMixin:
    """``to``/``double``/``cpu``/..., ``requires_grad_`` and the printed tree."""

    __slots__ = ()

    def to(self: Module, *args: Any, **kwargs: Any) -> Module:  # type: ignore[misc]
        """Move every parameter and buffer to a device and/or cast floating ones to a dtype,
        in place (``to("cuda")``, ``to(idrak.float64)``, ``to(device=..., dtype=...)``).

        The Parameter objects are kept, so an optimizer built before ``to`` still works.
        Returns self.

        Raises:
            TypeError: an unexpected keyword. DeviceError: an unknown device.
        """
        from idrak.runtime.devices import device as to_device

        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Module.to() got unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, DType) or a in (float, int, bool):
                dtype = a
            elif isinstance(a, str):
                try:
                    dtype = to_dtype(a)
                except TypeError:
                    dev = a
            else:
                dev = a
        d = to_dtype(dtype) if dtype is not None else None
        target = to_device(dev) if dev is not None else None
        seen: set[int] = set()
        for m in self.modules():
            for store in (m.__dict__["_parameters"], m.__dict__["_buffers"]):
                for t in store.values():
                    if t is not None and id(t) not in seen:
                        seen.add(id(t))
                        _move(t, target, d)
        return self

    def __deepcopy__(self: Module, memo: dict[int, Any]) -> Module:  # type: ignore[misc]
        """An independent copy: new Parameter and buffer objects (sharing the current values
        until either side assigns new ones), copied hooks and ``fn`` overrides."""
        for m in self.modules():
            for store in (m.__dict__["_parameters"], m.__dict__["_buffers"]):
                for t in store.values():
                    if t is not None and id(t) not in memo:
                        memo[id(t)] = _share(t)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    def double(self: Module) -> Module:  # type: ignore[misc]
        return self.to("float64")

    def float(self: Module) -> Module:  # type: ignore[misc]
        return self.to("float32")

    def half(self: Module) -> Module:  # type: ignore[misc]
        return self.to("float16")

    def cpu(self: Module) -> Module:  # type: ignore[misc]
        return self.to(device="cpu")

    def cuda(self: Module, index: int = 0) -> Module:  # type: ignore[misc]
        return self.to(device=f"cuda:{index}")

    def requires_grad_(self: Module, requires_grad: bool = True) -> Module:  # type: ignore[misc]
        """``unfreeze()`` when True, ``freeze()`` when False. Returns self."""
        return self.unfreeze() if requires_grad else self.freeze()

    # printing ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's configuration, shown inside its parentheses; layers override this."""
        return ""

    def _own_tensors_repr(self: Module) -> str:  # type: ignore[misc]
        parts = []
        for name, p in self.__dict__["_parameters"].items():
            if p is not None:
                frozen = "" if p.requires_grad else " frozen"
                parts.append(f"{name} {tuple(p.shape)}{frozen}")
        for name, b in self.__dict__["_buffers"].items():
            if b is not None:
                parts.append(f"{name} {tuple(b.shape)} buffer")
        fn = self.__dict__.get("_fn")
        if fn is not None:
            parts.append(f"fn={describe_step(fn)}")
        return "  # " + ", ".join(parts) if parts else ""

    def __repr__(self: Module) -> str:  # type: ignore[misc]
        head = f"{type(self).__name__}({self.extra_repr()}"
        kids = list(self.__dict__["_modules"].items())
        if not kids:
            return head + ")" + self._own_tensors_repr()
        lines = [head + self._own_tensors_repr()]
        for name, child in kids:
            text = repr(child) if hasattr(child, "_own_tensors_repr") else describe_step(child)
            text = text.replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"
