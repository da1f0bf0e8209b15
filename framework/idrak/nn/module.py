"""``Module``: parameters, buffers and child modules in plain ordered dicts.

Everything is an object you can poke at runtime: ``.params`` and ``.buffers`` are dicts keyed by
dotted names, ``m["fn"]`` is the function a module computes with (replace it with your own),
``m["weight"]`` is a parameter, hooks see and replace activations. See ``docs/models.md``.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from idrak.core.autograd import no_grad
from idrak.core.layer_type import Module as _LayerType
from idrak.core.tensor import Tensor, tensor
from idrak.nn._module_extras import ModuleExtrasMixin
from idrak.nn._module_types import (
    IncompatibleKeys,
    RemovableHandle,
    StateDictError,
    TensorDict,
    _Forward,
    hook_ids,
)
from idrak.nn.parameter import Parameter

__all__ = ["IncompatibleKeys", "Module", "RemovableHandle", "StateDictError", "TensorDict"]


class Module(ModuleExtrasMixin):
    """Base class of every layer and container.

    State lives in three ordered dicts on the instance: ``_parameters`` (name ->
    :class:`Parameter`), ``_buffers`` (name -> Tensor: running statistics and other state that
    is saved but not trained) and ``_modules`` (name -> child). Assigning a Parameter or a Module
    to an attribute registers it.

    The computation is ``m["fn"]``: a function ``fn(module, *inputs)``, by default the class's
    ``forward``. ``m(x)`` runs the forward pre-hooks, ``fn`` and the forward hooks. Replace it per
    instance with ``m["fn"] = f``, ``m.fn = f`` or ``m.forward = f`` (``f`` takes the module first);
    ``m["fn"] = None`` restores the class's.
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"], d["_buffers"], d["_modules"] = {}, {}, {}
        d["_non_persistent"] = set()
        d["_pre_hooks"], d["_post_hooks"] = {}, {}
        d["training"] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        f = cls.__dict__.get("forward")
        if isinstance(f, types.FunctionType):
            setattr(cls, "forward", _Forward(f))  # noqa: B010 - mypy: a descriptor, not a method

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it. Called through ``module(...)``."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define forward(); set "
            "module['fn'] = f or subclass and implement it"
        )

    # attribute registry ---------------------------------------------------------------------
    def _stores(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before "
                "assigning parameters, buffers or modules"
            )
        return d["_parameters"], d["_buffers"], d["_modules"]

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "forward":
            self.fn = value
            return
        params, buffers, modules = self._stores()
        if isinstance(value, Parameter):
            if name not in params:  # a swap keeps the position; a new name goes last
                self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            if name not in modules:
                self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__}: wrap it in nn.Parameter, or use "
                    f"module.{name}.assign(value) to replace the value"
                )
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"buffer {name!r} must be a Tensor or None, got {type(value).__name__}"
                )
            buffers[name] = value
        elif name in modules:
            if value is not None and not callable(value):
                raise TypeError(
                    f"child {name!r} must be a Module or callable, got {type(value).__name__}"
                )
            modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for store in self._stores():
            store.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in self._stores():
            if name in store:
                del store[name]
                self.__dict__["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    @property
    def fn(self) -> Callable[..., Any]:
        """The function ``fn(module, *inputs)`` that ``module(...)`` runs."""
        return self.__dict__.get("_fn") or type(self).forward

    @fn.setter
    def fn(self, f: Callable[..., Any] | None) -> None:
        if f is not None and not callable(f):
            raise TypeError(f"fn must be callable(module, *inputs) or None, got {f!r}")
        if f is None or f is type(self).forward:
            self.__dict__.pop("_fn", None)
        else:
            self.__dict__["_fn"] = f

    def __getitem__(self, key: str) -> Any:
        """``m["fn"]`` is the computation; ``m["weight"]`` (or ``m["block.conv.weight"]``) a
        parameter, buffer or child. Raises KeyError naming the known names."""
        if key == "fn":
            return self.fn
        if not isinstance(key, str):
            raise TypeError(f"{type(self).__name__} is indexed by name, got {key!r}")
        *path, last = key.split(".")
        try:
            owner = self.get_submodule(".".join(path))
        except AttributeError:
            owner = None
        for store in ("_parameters", "_buffers", "_modules"):
            d = getattr(owner, "__dict__", {}).get(store, {})
            if last in d:
                return d[last]
        raise KeyError(
            f"{type(self).__name__} has no parameter, buffer or child {key!r}; "
            f"known: {self._known_names()}"
        )

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "fn":
            self.fn = value
        else:
            setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        """``del m["fn"]`` restores the class's forward; other names are deleted."""
        if key == "fn":
            self.fn = None
        else:
            delattr(self, key)

    def _known_names(self) -> list[str]:
        params, buffers, modules = self._stores()
        return ["fn", *params, *buffers, *modules]

    def get_submodule(self, target: str) -> Any:
        """The descendant named by dotted ``target`` (``""`` is self). Raises AttributeError."""
        m: Any = self
        for part in target.split(".") if target else []:
            if not isinstance(m, Module) or part not in m._modules:
                raise AttributeError(
                    f"no child {part!r} on the way to {target!r} in {type(self).__name__}"
                )
            m = m._modules[part]
        return m

    # registration -----------------------------------------------------------------------------
    def _check_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str) or not name or "." in name or name == "fn":
            raise KeyError(
                f"{kind} name must be a non-empty string without '.', and not 'fn'; got {name!r}"
            )

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Register ``param`` (a Tensor is wrapped in :class:`Parameter`) under ``name``."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            param = Parameter(param)
        self._forget(name)
        self._stores()[0][name] = param

    def register_buffer(self, name: str, value: Tensor | None, persistent: bool = True) -> None:
        """Register a non-trained tensor; ``persistent`` buffers are part of ``state_dict``."""
        self._check_name(name, "buffer")
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got {type(value).__name__}")
        self._forget(name)
        self._stores()[1][name] = value
        if not persistent:
            self.__dict__["_non_persistent"].add(name)

    def add_module(self, name: str, module: Any) -> None:
        """Register a child (a Module, or any callable for containers)."""
        self._check_name(name, "module")
        self._forget(name)
        self._stores()[2][name] = module

    register_module = add_module

    # traversal -------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct child Modules (callables that are not Modules are skipped)."""
        for name, m in self._modules.items():
            if isinstance(m, Module):
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(
        self, prefix: str = "", memo: set[int] | None = None
    ) -> Iterator[tuple[str, Module]]:
        """Self and every descendant once, depth first, with dotted names."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def _named_tensors(self, kind: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for name, t in m.__dict__[kind].items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mname}.{name}" if mname else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for the whole tree; a shared parameter appears once."""
        yield from self._named_tensors("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_tensors("_buffers", prefix, recurse)

    @property
    def params(self) -> TensorDict:
        """Every parameter of the tree by dotted name (``{"conv.weight": ..., ...}``)."""
        return TensorDict(self.named_parameters())

    @property
    def buffers(self) -> TensorDict:
        """Every buffer of the tree by dotted name; ``m.buffers()`` iterates them."""
        return TensorDict(self.named_buffers())

    # state -----------------------------------------------------------------------------------
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> dict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached unless ``keep_vars``).

        The values are snapshots: a later optimizer step replaces the parameter's value, not
        the tensor in this dict.
        """
        out: dict[str, Tensor] = {}
        for mname, m in self.named_modules(prefix):
            skip = m.__dict__["_non_persistent"]
            for kind in ("_parameters", "_buffers"):
                for name, t in m.__dict__[kind].items():
                    if t is None or (kind == "_buffers" and name in skip):
                        continue
                    out[f"{mname}.{name}" if mname else name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (Tensors or NumPy arrays) into this module.

        Values are cast to each parameter's dtype and moved to its device; the Parameter
        objects stay the same (optimizers keep working).

        Raises:
            StateDictError: a shape mismatch (always), or with ``strict`` missing or unexpected
                keys; the message names every offending key and shape.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for k, t in own.items():
            if k in state_dict:
                shape = tuple(getattr(state_dict[k], "shape", ()))
                if shape != tuple(t.shape):
                    problems.append(
                        f"  {k}: checkpoint has shape {shape}, the model {tuple(t.shape)}"
                    )
        if strict and missing:
            problems.append(f"  missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"  unexpected keys: {', '.join(unexpected)}")
        if problems:
            raise StateDictError(
                f"error loading state_dict into {type(self).__name__}:\n" + "\n".join(problems)
            )
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    v = v.detach() if isinstance(v, Tensor) else tensor(v)
                    if v.device != t.device:
                        v = v.to(t.device)
                    t.assign(v.cast(t.dtype))
        return IncompatibleKeys(missing, unexpected)

    # modes -------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on the whole tree (affects Dropout, BatchNorm). Returns self."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def freeze(self) -> Module:
        """Stop gradients for every parameter (they stay parameters). Returns self."""
        for p in self.parameters():
            p.requires_grad = False
        return self

    def unfreeze(self) -> Module:
        for p in self.parameters():
            p.requires_grad_(p.dtype.kind == "f")
        return self

    def reset_parameters(self) -> None:
        """Re-initialise every parameter. Containers recurse; layers override this."""
        for child in self.children():
            child.reset_parameters()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` (to ``None``, or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad.zeros_like()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every child (recursively), then on self. Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # calling -------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, args)`` runs before ``fn``; returning a value replaces the inputs
        (a tuple, or a single input)."""
        key = next(hook_ids)
        self._pre_hooks[key] = hook
        return RemovableHandle(self._pre_hooks, key)

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``fn``; returning a value replaces the
        output."""
        key = next(hook_ids)
        self._post_hooks[key] = hook
        return RemovableHandle(self._post_hooks, key)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any(type(a) is np.ndarray for a in args):  # NumPy inputs, as in idrak.nn._convert
            args = self._arrays_to_tensors(args)
        for hook in list(self._pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        fn = self.__dict__.get("_fn")  # the override, however the class defined forward
        out = fn(self, *args, **kwargs) if fn is not None else self.forward(*args, **kwargs)
        for hook in list(self._post_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def _arrays_to_tensors(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        from idrak.nn._convert import to_tensor

        first = next(iter(self.parameters()), None)
        return tuple(
            to_tensor(a, f"{type(self).__name__} input {i}", first) if type(a) is np.ndarray else a
            for i, a in enumerate(args)
        )

    # composition ---------------------------------------------------------------------------
    def __rshift__(self, other: Any) -> Any:
        """``a >> b``: a :class:`~idrak.nn.Pipeline` running ``a`` then ``b``."""
        from idrak.nn.containers import Pipeline

        return Pipeline._compose(self, other)

    def __rrshift__(self, other: Any) -> Any:
        from idrak.nn.containers import Pipeline

        return Pipeline._compose(other, self)


setattr(Module, "forward", _Forward(Module.__dict__["forward"]))  # noqa: B010
_LayerType.register(Module)  # isinstance(layer, idrak.core.tensor.Module) holds
