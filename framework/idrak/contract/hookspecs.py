"""pluggy hook specifications for idrak plugins.

A plugin is any object (usually a module) with a function marked ``@hookimpl``::

    from idrak.contract.hookspecs import hookimpl

    @hookimpl
    def idrak_register_backends(register):
        register("mydevice", lambda: MyBackend())

and an entry point in the ``idrak`` group of its distribution::

    [project.entry-points.idrak]
    mydevice = "idrak_mydevice"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec"]

#: the pluggy project name and the entry-point group
PROJECT = "idrak"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def idrak_register_backends(register: Callable[..., Any]) -> None:
    """Register the plugin's backends.

    Call ``register(name, factory, *, description="")`` once per backend. ``name`` is the device
    prefix (lower case letters, digits and ``_``); ``factory`` is a zero-argument callable that
    builds the :class:`~idrak.contract.backend.Backend`. It is called on first use, so heavy
    imports (CuPy)
    belong inside it, never at module import.
    """


@hookspec
def idrak_register_comm_backends(register: Callable[..., Any]) -> None:
    """Register the plugin's communication backends (for :mod:`idrak.distributed`).

    Call ``register(name, factory, *, devices=("*",), description="")`` once per backend.
    ``name`` is what ``idrak.distributed.init_process_group(backend=name)`` takes (``"mpi"``,
    ``"nccl"``); ``factory`` is a zero-argument callable that returns a
    :class:`idrak.distributed.CommBackend` *class* (its import of ``mpi4py``, CuPy... happens
    inside the factory, never at module import). ``devices`` names the idrak device types whose
    buffers the backend reduces natively (``("cuda",)`` for NCCL); ``"*"`` means every device
    through host copies (``to_numpy``/``from_numpy``). A plugin may implement this hook, the
    backends hook, or both.
    """
