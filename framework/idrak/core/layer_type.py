"""``idrak.core.tensor.Module``: the abstract type of every layer, seen from the core.

The Axon seed checks ``isinstance(layer, axon.core.tensor.Module)``. The layers themselves live
two layers up, in :mod:`idrak.nn`, and the core must not import them, so the core owns only this
abstract base class and :class:`idrak.nn.Module` registers itself with it when ``idrak.nn`` is
imported (``Module.register(nn.Module)``: an import going downwards). Any instance of
``idrak.nn.Module`` (a Linear, a Conv2d, a Pipeline, a Net) is then an instance of this class;
it adds no methods and holds no state. Use :class:`idrak.nn.Module` to write layers.
"""

from __future__ import annotations

import abc

__all__ = ["Module"]


class Module(abc.ABC):  # noqa: B024 (an ABC without abstract methods: a type to register with)
    """The abstract layer type; ``isinstance(x, Module)`` is true for every ``idrak.nn.Module``.

    Not a base class to subclass: write layers on :class:`idrak.nn.Module`, which registers
    itself here.
    """
