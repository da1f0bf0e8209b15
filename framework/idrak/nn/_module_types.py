"""Small types used by :class:`~idrak.nn.Module`: the ``.params`` dict, hook handles, the
``forward`` descriptor behind ``m["fn"]``, and the state-dict error."""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from idrak.core.tensor import Tensor
from idrak.errors import IdrakError

__all__ = ["IncompatibleKeys", "RemovableHandle", "StateDictError", "TensorDict", "hook_ids"]

hook_ids = itertools.count()


class StateDictError(IdrakError, RuntimeError):
    """``load_state_dict`` got missing, unexpected or mis-shaped keys (all named)."""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class TensorDict(dict[str, Tensor]):
    """A dict of dotted name -> Tensor that also takes a position: ``d[0]`` is the first value.

    Returned by :attr:`Module.params` and :attr:`Module.buffers`; it is a snapshot of the names
    (mutating it does not change the module, mutating the tensors does). Calling it
    (``m.buffers()``) iterates its values, as PyTorch's ``Module.buffers()`` does.
    """

    def __getitem__(self, key: str | int) -> Tensor:
        if isinstance(key, int):
            vals = list(self.values())
            if not -len(vals) <= key < len(vals):
                raise IndexError(f"index {key} out of range for {len(vals)} tensors")
            return vals[key]
        return super().__getitem__(key)

    def __call__(self, recurse: bool = True) -> Iterator[Tensor]:
        return iter(list(self.values()))


class RemovableHandle:
    """Returned by hook registration; ``handle.remove()`` unregisters the hook."""

    def __init__(self, store: dict[int, Any], key: int) -> None:
        self._store, self.id = store, key

    def remove(self) -> None:
        self._store.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _Forward:
    """Descriptor for ``forward``: the instance's ``fn`` override if set, else the class's."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", "forward")

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self.func
        fn = obj.__dict__.get("_fn")
        # super().forward reaches a parent's descriptor: only the most-derived one overrides
        if fn is None or type(obj).forward is not self.func:
            fn = self.func
        return types.MethodType(fn, obj)
