"""Backend discovery: pluggy plugins found through the ``idrak`` entry-point group.

Discovery is lazy (nothing is loaded at ``import idrak``) and isolated: each entry point is
loaded, and each plugin's hook is called, in its own ``try``; a failure is recorded as a
:class:`PluginFailure` (shown by ``idrak backends``) and never stops the other plugins.

A failure is anything a plugin raises, ``SystemExit`` included (a plugin that calls
``sys.exit`` at import is recorded, not obeyed); only ``KeyboardInterrupt`` goes through.

The names of the in-tree backends are reserved: ``numpy`` and ``cuda`` are accepted only from
idrak's own modules (``idrak_numpy``, ``idrak_cuda``, shipped in the ``idrak`` distribution); a
third-party plugin that claims one is rejected with an error naming its distribution, whatever
the load order, so ``cpu`` (an alias of ``numpy``) always means idrak's NumPy backend.

Environment:
    ``IDRAK_PLUGINS=a,b`` loads only those entry points; ``IDRAK_DISABLE_PLUGINS=a`` blocks some.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from idrak.contract import hookspecs
from idrak.contract.backend import Backend
from idrak.errors import BackendUnavailableError, DeviceError, PluginError
from idrak.runtime import threads

__all__ = [
    "BackendEntry",
    "PluginFailure",
    "available_backends",
    "backend_entries",
    "comm_hookimpls",
    "get_backend",
    "plugin_failures",
    "register_plugin",
    "reset",
    "unregister_plugin",
]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: backend name -> the only module allowed to register it (from the ``idrak`` distribution)
RESERVED = {"numpy": "idrak_numpy", "cuda": "idrak_cuda"}
_OWN_DISTRIBUTION = "idrak"


def _isolate(e: BaseException) -> None:
    """Re-raise what must never be swallowed (Ctrl-C); everything else is a plugin failure."""
    if isinstance(e, KeyboardInterrupt):
        raise e


@dataclass
class BackendEntry:
    """One registered backend: its factory and where it came from."""

    name: str
    factory: Callable[[], Backend]
    plugin: str
    distribution: str | None = None
    version: str | None = None
    description: str = ""
    instance: Backend | None = field(default=None, repr=False)
    error: str | None = None  # why the factory failed, if it did


@dataclass
class PluginFailure:
    """A plugin that failed to load, register or validate."""

    plugin: str
    stage: str  # "load", "register" or "validate"
    error: str
    traceback: str = ""


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.entries: dict[str, BackendEntry] = {}
        self.failures: list[PluginFailure] = []
        self.dists: dict[str, tuple[str | None, str | None]] = {}
        self.modules: dict[str, str | None] = {}  # plugin name -> its module's __name__
        self.extra: list[tuple[str, Any]] = []  # plugins registered in-process (tests, notebooks)
        self.generation = 0  # bumped whenever the plugin set may have changed

    def ensure(self) -> None:
        with self.lock:
            if self.pm is None:
                self._discover()

    def _discover(self) -> None:
        self.generation += 1
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        self.pm, self.entries, self.failures = pm, {}, []
        only = _env_list("IDRAK_PLUGINS")
        blocked = set(_env_list("IDRAK_DISABLE_PLUGINS"))
        for ep in md.entry_points(group=hookspecs.PROJECT):
            if (only and ep.name not in only) or ep.name in blocked:
                continue
            try:
                obj = ep.load()
                pm.register(obj, name=ep.name)
            except BaseException as e:  # isolation is the point: record it, go on
                _isolate(e)
                self._fail(ep.name, "load", e)
                continue
            self.modules[ep.name] = getattr(obj, "__name__", None)
            dist = getattr(ep, "dist", None)
            self.dists[ep.name] = (getattr(dist, "name", None), getattr(dist, "version", None))
        for name, obj in self.extra:
            if name not in blocked:
                try:
                    pm.register(obj, name=name)
                    self.modules[name] = getattr(obj, "__name__", None)
                except BaseException as e:
                    _isolate(e)
                    self._fail(name, "load", e)
        impls = pm.hook.idrak_register_backends.get_hookimpls()
        for impl in impls:
            self._call(impl.plugin_name, impl.function)
        # a plugin with no hook implementation would otherwise vanish without a word (one that
        # registers only communication backends is read by idrak.distributed)
        comm = pm.hook.idrak_register_comm_backends.get_hookimpls()
        quiet = {impl.plugin_name for impl in [*impls, *comm]} | {f.plugin for f in self.failures}
        for name, _ in pm.list_name_plugin():
            if name not in quiet:
                self._fail(
                    name,
                    "register",
                    PluginError(
                        name,
                        "defines no @hookimpl idrak_register_backends(register) (nor "
                        "idrak_register_comm_backends); it registered no backend (was its "
                        "module imported from the wrong place?)",
                    ),
                )

    def _call(self, plugin: str, fn: Callable[..., Any]) -> None:
        dist, ver = self.dists.get(plugin, (None, None))
        staged: list[BackendEntry] = []

        def register(name: str, factory: Callable[[], Backend], *, description: str = "") -> None:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise PluginError(plugin, f"backend name {name!r} must match {_NAME_RE.pattern}")
            if not callable(factory):
                raise PluginError(
                    plugin, f"factory for {name!r} is {type(factory).__name__}, not a callable"
                )
            owned = self.modules.get(plugin) == RESERVED.get(name) and dist in (
                None,
                _OWN_DISTRIBUTION,
            )
            why = (
                f"the name is reserved for idrak's own {RESERVED[name]} backend; distribution "
                f"{dist or '(in-process)'!r} (module {self.modules.get(plugin)!r}) may not "
                "claim it: pick another name"
                if name in RESERVED and not owned
                else ""
            )
            if name in self.entries or any(e.name == name for e in staged):
                other = self.entries[name].plugin if name in self.entries else plugin
                raise PluginError(
                    plugin,
                    f"backend name {name!r} is already registered by plugin {other!r}"
                    + (f" ({why})" if why else ""),
                )
            if why:
                raise PluginError(plugin, f"backend name {name!r}: {why}")
            staged.append(BackendEntry(name, factory, plugin, dist, ver, description))

        try:
            fn(register=register)
        except PluginError as e:
            self._fail(plugin, "validate", e)
            return
        except BaseException as e:
            _isolate(e)
            self._fail(plugin, "register", e)
            return
        for entry in staged:
            self.entries[entry.name] = entry

    def _fail(self, plugin: str, stage: str, e: BaseException) -> None:
        tb = "".join(traceback.format_exception(e)) if e.__traceback__ else ""
        self.failures.append(PluginFailure(plugin, stage, f"{type(e).__name__}: {e}", tb))


_REG = _Registry()


def _env_list(var: str) -> list[str]:
    return [s.strip() for s in os.environ.get(var, "").split(",") if s.strip()]


def backend_entries() -> dict[str, BackendEntry]:
    """Every registered backend by name (discovers plugins on first call)."""
    _REG.ensure()
    return dict(_REG.entries)


def plugin_failures() -> list[PluginFailure]:
    """Every plugin that failed to load, register or validate, with its error."""
    _REG.ensure()
    return list(_REG.failures)


def get_backend(name: str) -> Backend:
    """The backend instance registered as ``name``, built on first use.

    Raises:
        DeviceError: no backend of that name (the message lists those registered).
        BackendUnavailableError: the backend's factory failed, or it reports itself unavailable.
    """
    _REG.ensure()
    with _REG.lock:
        entry = _REG.entries.get(name)
        if entry is None:
            known = ", ".join(sorted(_REG.entries)) or "none"
            failed = "".join(
                f"\n  plugin {f.plugin!r} failed ({f.stage}): {f.error}" for f in _REG.failures
            )
            raise DeviceError(f"no backend named {name!r}; registered backends: {known}{failed}")
        if entry.instance is None:
            if entry.error is None:
                try:
                    inst = entry.factory()
                    if not isinstance(inst, Backend):
                        raise PluginError(
                            entry.plugin,
                            f"factory for {name!r} returned "
                            f"{type(inst).__name__}, not an idrak.contract.backend.Backend",
                        )
                    threads.apply(inst)
                    entry.instance = inst
                except BaseException as e:  # a broken factory: only its backend is unavailable
                    _isolate(e)
                    entry.error = f"{type(e).__name__}: {e}"
            if entry.instance is None:
                raise BackendUnavailableError(
                    f"backend {name!r} (plugin {entry.plugin!r}) failed to start: {entry.error}"
                )
        try:
            result = entry.instance.is_available()
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError(f"returned {type(result).__name__} {str(result)[:60]!r}")
            ok, reason = result
        except BaseException as e:
            _isolate(e)
            raise BackendUnavailableError(
                f"backend {name!r}: is_available() did not return (ok, reason): "
                f"{type(e).__name__}: {e}"
            ) from None
        if not ok:
            raise BackendUnavailableError(f"backend {name!r} is unavailable: {reason}")
        return entry.instance


def available_backends() -> list[str]:
    """Names of the registered backends that can run here."""
    out = []
    for name in backend_entries():
        try:
            get_backend(name)
            out.append(name)
        except DeviceError:
            pass
    return out


def generation() -> int:
    """A counter that changes whenever discovery is re-run (device caches key on it)."""
    _REG.ensure()
    return _REG.generation


def comm_hookimpls() -> list[tuple[str, Callable[..., Any], str | None, str | None]]:
    """``(plugin, function, distribution, module)`` for every ``idrak_register_comm_backends``
    implementation of the discovered plugins (read by :mod:`idrak.distributed`)."""
    _REG.ensure()
    with _REG.lock:
        assert _REG.pm is not None
        impls = _REG.pm.hook.idrak_register_comm_backends.get_hookimpls()
        return [
            (
                i.plugin_name,
                i.function,
                _REG.dists.get(i.plugin_name, (None, None))[0],
                _REG.modules.get(i.plugin_name),
            )
            for i in impls
        ]


def register_plugin(plugin: Any, name: str) -> None:
    """Register an in-process plugin object (a module or an instance with hook implementations).

    Used by tests and notebooks; packages should use the ``idrak`` entry-point group instead.
    Takes effect immediately (discovery is re-run).
    """
    with _REG.lock:
        _REG.extra = [(n, p) for n, p in _REG.extra if n != name] + [(name, plugin)]
        _REG.pm = None


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin`; a no-op for unknown names."""
    with _REG.lock:
        _REG.extra = [(n, p) for n, p in _REG.extra if n != name]
        _REG.pm = None


def reset() -> None:
    """Forget everything discovered (the environment is read again on next use)."""
    with _REG.lock:
        _REG.pm = None
        _REG.entries = {}
        _REG.failures = []
