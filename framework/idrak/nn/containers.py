"""Containers: ``Net`` (a dict of named layers) and ``Pipeline`` (layers composed with ``>>``).

Both are Modules, so ``.params``, ``.buffers``, ``state_dict``, ``freeze`` and hooks work on
them; both accept any Python callable as a layer (a function has no parameters and is simply
called).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from idrak.nn.module import Module

__all__ = ["Net", "Pipeline", "Sequential"]


def _check_layer(layer: Any, where: str) -> None:
    if not callable(layer):
        raise TypeError(
            f"{where}: a layer must be a Module or a callable, got {type(layer).__name__} {layer!r}"
        )


class Net(Module):
    """A registry of named layers: the model's state as a transparent, dict-like container.

    ``net(x)`` runs the layers in insertion order, unless a forward function is given:
    ``Net(forward=f)`` or ``net.forward = f`` with ``f(net, x)`` (``net["fn"]`` reads it back).

    Example::

        net = nn.Net()
        net.add("fc1", nn.Linear(4, 8)).add("act", idrak.relu).add("fc2", nn.Linear(8, 2))
        net["fc1"]                      # the layer
        net["fc2"] = nn.Linear(8, 3)    # swap at runtime (keeps its position)
        del net["act"]; "act" in net    # False
        net.params                      # {"fc1.weight": ..., "fc1.bias": ..., ...}

    Args:
        layers: optional initial layers, a mapping or (name, layer) pairs.
        forward: optional ``f(net, *inputs)`` replacing the sequential default.
    """

    def __init__(
        self,
        layers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        *,
        forward: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        items = layers.items() if isinstance(layers, Mapping) else (layers or ())
        for name, layer in items:
            self.add(name, layer)
        if forward is not None:
            self.fn = forward

    def add(self, name: str, layer: Any) -> Net:
        """Append ``layer`` under ``name``. Returns the net, so calls chain.

        Raises:
            KeyError: ``name`` is taken (swap with ``net[name] = layer``), empty, has a dot, or
                is ``"fn"``. TypeError: ``layer`` is not callable.
        """
        if name in self._modules:
            raise KeyError(
                f"layer {name!r} already exists in the Net; swap it with net[{name!r}] = layer"
            )
        _check_layer(layer, f"Net.add({name!r})")
        self.add_module(name, layer)
        return self

    def __getitem__(self, name: str) -> Any:
        if isinstance(name, str) and name in self._modules:
            return self._modules[name]
        if name == "fn" or (isinstance(name, str) and "." in name):
            return super().__getitem__(name)  # the forward function, or a dotted path
        raise KeyError(f"no layer {name!r} in the Net; layers: {list(self._modules)}")

    def __setitem__(self, name: str, layer: Any) -> None:
        """Swap the layer ``name`` (keeping its position) or add it at the end; ``"fn"`` sets
        the forward function."""
        if name == "fn":
            self.fn = layer
            return
        _check_layer(layer, f"net[{name!r}] = ...")
        if name in self._modules:
            self._modules[name] = layer
        else:
            self.add_module(name, layer)

    def __delitem__(self, name: str) -> None:
        if name not in self._modules:
            raise KeyError(f"no layer {name!r} in the Net; layers: {list(self._modules)}")
        del self._modules[name]

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        """The layer names, in insertion order."""
        return iter(list(self._modules))

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Any]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._modules.items())

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the layers in insertion order (extra arguments go to the first layer)."""
        for layer in self._modules.values():
            x = layer(x, *args, **kwargs)
            args, kwargs = (), {}
        return x


def _is_plain_pipeline(x: Any) -> bool:
    """A Pipeline with nothing of its own (no fn override, no hooks): its steps can be inlined."""
    return type(x) is Pipeline and not (x.__dict__.get("_fn") or x._pre_hooks or x._post_hooks)


class Pipeline(Module):
    """Layers run one after the other; any Python callable is a valid step.

    ``Pipeline(a, b, c)`` equals ``a >> b >> c``, and so does ``Pipeline(a >> b >> c)`` (a single
    plain Pipeline argument is flattened). Steps are indexed like a list
    (``p[0]``, ``p[-1] = layer``, ``del p[1]``); a slice is a new Pipeline over the same
    layer objects (shared parameters). Parameters are named by position: ``"0.weight"``.

    Example::

        model = nn.Conv2d(3, 8, 3) >> idrak.relu >> nn.Flatten() >> nn.Linear(8 * 30 * 30, 10)
        model[0] = nn.Conv2d(3, 8, 3, padding=1)   # swap a layer
        model.reset_parameters()                   # re-initialise every layer

    Raises:
        TypeError: a step that is not callable.
    """

    def __init__(self, *steps: Any) -> None:
        super().__init__()
        if len(steps) == 1 and isinstance(steps[0], (list, tuple)):
            steps = tuple(steps[0])
        elif len(steps) == 1 and _is_plain_pipeline(steps[0]):
            steps = tuple(steps[0].steps)  # Pipeline(a >> b) is a >> b, not a 1-step Pipeline
        for i, s in enumerate(steps):
            _check_layer(s, f"Pipeline step {i}")
        self._set_steps(list(steps))

    def _set_steps(self, steps: list[Any]) -> None:
        self.__dict__["_modules"] = {str(i): s for i, s in enumerate(steps)}

    @property
    def steps(self) -> list[Any]:
        """The steps, in order (a new list; the objects are shared)."""
        return list(self._modules.values())

    @classmethod
    def _compose(cls, a: Any, b: Any) -> Pipeline:
        """``a >> b``: plain Pipelines (no fn override, no hooks) are flattened into the new one."""

        def parts(x: Any) -> list[Any]:
            if _is_plain_pipeline(x):
                return list(x.steps)
            _check_layer(x, ">>")
            return [x]

        return Pipeline(*parts(a), *parts(b))

    def _index(self, i: int) -> int:
        n = len(self._modules)
        if not -n <= i < n:
            raise IndexError(f"step {i} out of range for a Pipeline of {n} steps")
        return i % n

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return Pipeline(*self.steps[key])
        if isinstance(key, int):
            return self.steps[self._index(key)]
        if isinstance(key, str) and key in self._modules:
            return self._modules[key]
        return super().__getitem__(key)

    def __setitem__(self, key: Any, layer: Any) -> None:
        if isinstance(key, str) and not key.lstrip("-").isdigit():
            super().__setitem__(key, layer)
            return
        i = self._index(int(key))
        _check_layer(layer, f"pipeline[{key}] = ...")
        steps = self.steps
        steps[i] = layer
        self._set_steps(steps)

    def __delitem__(self, key: Any) -> None:
        steps = self.steps
        if isinstance(key, int):
            key = self._index(key)
        del steps[key]
        self._set_steps(steps)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.steps)

    def __eq__(self, other: object) -> bool:
        """Equal when both run the very same step objects in the same order."""
        if not isinstance(other, Pipeline):
            return NotImplemented
        a, b = self.steps, other.steps
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))

    __hash__ = Module.__hash__

    def append(self, layer: Any) -> Pipeline:
        """Add a step at the end. Returns self."""
        _check_layer(layer, "Pipeline.append")
        self._set_steps([*self.steps, layer])
        return self

    def insert(self, index: int, layer: Any) -> Pipeline:
        """Insert a step before position ``index`` (list semantics). Returns self."""
        _check_layer(layer, "Pipeline.insert")
        steps = self.steps
        steps.insert(index, layer)
        self._set_steps(steps)
        return self

    def extend(self, layers: Iterable[Any]) -> Pipeline:
        for layer in layers:
            self.append(layer)
        return self

    def pop(self, index: int = -1) -> Any:
        steps = self.steps
        out = steps.pop(self._index(index))
        self._set_steps(steps)
        return out

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """Feed ``x`` through every step (extra arguments go to the first step)."""
        for step in self._modules.values():
            x = step(x, *args, **kwargs)
            args, kwargs = (), {}
        return x


#: PyTorch's name for a :class:`Pipeline`
Sequential = Pipeline
