"""PyTorch's list- and dict-shaped containers: ModuleList, ModuleDict, ParameterList,
ParameterDict.

They only hold and register their entries (so ``.parameters()``, ``state_dict()`` and ``.to()``
see them, with torch's dotted names ``layers.0.weight`` / ``h.wte.weight``); none defines a
forward. Same names, constructors and methods as ``torch.nn``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from idrak.core.tensor import Tensor
from idrak.nn.module import Module
from idrak.nn.parameter import Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList"]


def _pairs(items: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(items, Mapping):
        return list(items.items())
    return [tuple(p) for p in items]


class _Indexed(Module):
    """Shared integer indexing over ``self._store()`` keyed '0', '1', ..."""

    def _store(self) -> dict[str, Any]:
        raise NotImplementedError

    def _index(self, i: int) -> int:
        n = len(self._store())
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"{type(self).__name__} indices must be int or slice, got {i!r}")
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for {type(self).__name__} of length {n}")
        return i % n

    def __len__(self) -> int:
        return len(self._store())

    def _values(self) -> list[Any]:
        return list(self._store().values())

    def _reset(self, values: list[Any]) -> None:
        store = self._store()
        store.clear()
        for i, v in enumerate(values):
            store[str(i)] = v

    def __delitem__(self, key: Any) -> None:
        vals = self._values()
        if isinstance(key, slice):
            del vals[key]
        else:
            del vals[self._index(key)]
        self._reset(vals)


class ModuleList(_Indexed):
    """Holds child modules in a list; registered as ``"0"``, ``"1"``, ... .

    Args:
        modules: optional iterable of modules to append.

    Raises:
        TypeError: an entry that is not a Module; a non-int index. IndexError: out of range.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _store(self) -> dict[str, Any]:
        return self._modules

    @staticmethod
    def _check(m: Any) -> Module:
        if not isinstance(m, Module):
            raise TypeError(f"ModuleList entries must be Modules, got {type(m).__name__}")
        return m

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return ModuleList(self._values()[key])
        return self._values()[self._index(key)]

    def __setitem__(self, key: Any, module: Any) -> None:
        self._modules[str(self._index(key))] = self._check(module)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns the list."""
        self._modules[str(len(self))] = self._check(module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        vals = self._values()
        vals.insert(index, self._check(module))
        self._reset(vals)

    def pop(self, key: int = -1) -> Module:
        m = self[key]
        del self[key]
        return m

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(); iterate over it")


class ModuleDict(Module):
    """Holds child modules by name, in insertion order (``h["wte"]``, ``h.wte``).

    Args:
        modules: optional mapping or iterable of (name, module) pairs.

    Raises:
        KeyError: an unknown name. TypeError: an entry that is not a Module.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Any:
        if key in self._modules:
            return self._modules[key]
        raise KeyError(f"no module {key!r} in the ModuleDict; keys: {list(self._modules)}")

    def __setitem__(self, key: str, module: Any) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict entries must be Modules, got {type(module).__name__}")
        if key in self._modules:
            self._modules[key] = module
        else:
            self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Any]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._modules.items())

    def update(self, modules: Mapping[str, Module] | Iterable[Any]) -> None:
        for k, v in _pairs(modules):
            self[k] = v

    def pop(self, key: str) -> Any:
        m = self[key]
        del self._modules[key]
        return m

    def clear(self) -> None:
        self._modules.clear()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(); index it by name")


def _as_param(v: Any) -> Any:
    if isinstance(v, Tensor) and not isinstance(v, Parameter):
        return Parameter(v)
    return v


class ParameterList(_Indexed):
    """Holds parameters in a list, registered as ``"0"``, ``"1"``, ...; a plain Tensor is
    wrapped in :class:`Parameter` (as torch does)."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _store(self) -> dict[str, Any]:
        return self._parameters

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return ParameterList(self._values()[key])
        return self._values()[self._index(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._parameters[str(self._index(key))] = _as_param(value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        self._parameters[str(len(self))] = _as_param(value)
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward()")


class ParameterDict(Module):
    """Holds parameters by name, in insertion order; plain Tensors become Parameters.

    Raises:
        KeyError: an unknown name.
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key in self._parameters:
            return self._parameters[key]
        raise KeyError(f"no parameter {key!r} in the ParameterDict; keys: {list(self._parameters)}")

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self._parameters:
            self._parameters[key] = _as_param(value)
        else:
            self.register_parameter(key, value)

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> list[str]:
        return list(self._parameters)

    def values(self) -> list[Any]:
        return list(self._parameters.values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._parameters.items())

    def update(self, parameters: Mapping[str, Any] | Iterable[Any]) -> None:
        for k, v in _pairs(parameters):
            self[k] = v

    def pop(self, key: str) -> Any:
        v = self[key]
        del self._parameters[key]
        return v

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterDict has no forward()")
