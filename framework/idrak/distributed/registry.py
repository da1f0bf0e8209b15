"""Discovery of communication backends: the ``idrak_register_comm_backends`` hook.

It is the second hook of idrak's pluggy project (the first registers device backends, see
:mod:`idrak.runtime.plugins`); plugins come from the same ``idrak`` entry-point group. Each
plugin's hook, and later each factory, runs in its own ``try``: a failing plugin is recorded
(:func:`comm_failures`) and never hides the others.

idrak's own ``mpi`` and ``nccl`` plugins are entry points of the ``idrak`` distribution; an
install made before they existed (an old editable install) lacks those entry points, so they
are added here when discovery did not find them. Their names are reserved: a third-party
plugin that registers ``mpi`` or ``nccl`` is recorded as failed.
"""

from __future__ import annotations

import importlib
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idrak.distributed.comm import CommBackend, DistributedError

__all__ = ["CommEntry", "comm_backends", "comm_failures", "get_comm_backend", "reset"]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: idrak's own plugins, by module
BUILTIN = ("idrak.distributed.mpi", "idrak.distributed.nccl")
#: names only idrak's own modules may register (a third-party plugin cannot take over "mpi")
RESERVED = {"mpi": "idrak.distributed.mpi", "nccl": "idrak.distributed.nccl"}


@dataclass
class CommEntry:
    """One registered communication backend."""

    name: str
    factory: Callable[[], type[CommBackend]]
    plugin: str
    devices: tuple[str, ...]
    description: str = ""


_lock = threading.RLock()
_entries: dict[str, CommEntry] | None = None
_failures: list[tuple[str, str]] = []


def _discover() -> dict[str, CommEntry]:
    from idrak.runtime import plugins

    entries: dict[str, CommEntry] = {}
    _failures.clear()
    impls: list[tuple[str, Callable[..., Any], str | None]] = []
    try:
        impls = [(name, fn, mod) for name, fn, _dist, mod in plugins.comm_hookimpls()]
    except Exception as e:  # discovery itself failed: the built-ins still work
        _failures.append(("(discovery)", f"{type(e).__name__}: {e}"))
    seen = {mod for _, _, mod in impls}
    for mod in BUILTIN:
        if mod not in seen:
            impls.append((mod.rsplit(".", 1)[1], importlib.import_module(mod).register, mod))
    for plugin, fn, module in impls:
        staged: list[CommEntry] = []

        def register(
            name: str,
            factory: Callable[[], type[CommBackend]],
            *,
            devices: tuple[str, ...] = ("*",),
            description: str = "",
            _plugin: str = plugin,
            _staged: list[CommEntry] = staged,
            _module: str | None = module,
        ) -> None:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise DistributedError(f"comm backend name {name!r} must match {_NAME_RE.pattern}")
            if not callable(factory):
                raise DistributedError(f"factory for comm backend {name!r} is not callable")
            if name in RESERVED and _module != RESERVED[name]:
                raise DistributedError(
                    f"comm backend name {name!r} is reserved for idrak's own {RESERVED[name]} "
                    f"(plugin {_plugin!r}, module {_module!r}): pick another name"
                )
            if name in entries or any(e.name == name for e in _staged):
                raise DistributedError(f"comm backend {name!r} is already registered")
            _staged.append(CommEntry(name, factory, _plugin, tuple(devices), description))

        try:
            fn(register=register)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            _failures.append((plugin, "".join(traceback.format_exception_only(e)).strip()))
            continue
        entries.update({e.name: e for e in staged})
    return entries


def comm_backends() -> dict[str, CommEntry]:
    """Every registered communication backend by name (discovers plugins on first call)."""
    global _entries
    with _lock:
        if _entries is None:
            _entries = _discover()
        return dict(_entries)


def comm_failures() -> list[tuple[str, str]]:
    """``(plugin, error)`` for each plugin whose comm hook failed."""
    comm_backends()
    return list(_failures)


def get_comm_backend(name: str) -> type[CommBackend]:
    """The :class:`CommBackend` class registered as ``name``.

    Raises:
        DistributedError: no such backend (the message lists the registered ones and the
            failed plugins), or its factory failed (e.g. ``mpi4py`` or CuPy is not installed).
    """
    entries = comm_backends()
    entry = entries.get(name)
    if entry is None:
        failed = "".join(f"\n  plugin {p!r} failed: {e}" for p, e in _failures)
        raise DistributedError(
            f"no communication backend named {name!r}; registered: "
            f"{', '.join(sorted(entries)) or 'none'}{failed}"
        )
    try:
        cls = entry.factory()
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        raise DistributedError(
            f"communication backend {name!r} (plugin {entry.plugin!r}) is unavailable: "
            f"{type(e).__name__}: {e}"
        ) from e
    if not (isinstance(cls, type) and issubclass(cls, CommBackend)):
        raise DistributedError(
            f"the factory of comm backend {name!r} returned {cls!r}, not a CommBackend subclass"
        )
    return cls


def reset() -> None:
    """Forget the discovered comm backends (re-read on next use; after ``register_plugin``)."""
    global _entries
    with _lock:
        _entries = None
