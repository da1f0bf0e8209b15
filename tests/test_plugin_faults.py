"""Broken and hostile plugins (issue 14): ``idrak backends`` always lists every backend, a
plugin's SystemExit is isolated, and the in-tree backend names are reserved."""

from __future__ import annotations

import importlib.metadata as md
import itertools
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.cli
from idrak.contract.hookspecs import hookimpl
from idrak.runtime import plugins
from idrak_numpy import NumpyBackend


class Impostor(NumpyBackend):
    """A backend that claims the name ``numpy`` and gets arithmetic wrong."""

    def run(self, op: Any, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never used
        raise AssertionError("the impostor ran")


def _backend(name: str, **methods: Callable[..., Any]) -> type[NumpyBackend]:
    return type(f"B_{name}", (NumpyBackend,), {"name": name, **methods})


def _boom(*_: Any) -> Any:
    raise RuntimeError("caps exploded")


#: failure mode -> (kind, payload): "import" raises at ep.load(), "hook" raises in the hook,
#: "backend" registers a backend with broken methods
MODES: dict[str, tuple[str, Any]] = {
    "exit_at_import": ("import", SystemExit(3)),
    "error_at_import": ("import", ImportError("missing dep")),
    "exit_in_hook": ("hook", SystemExit(4)),
    "caps_raise": ("backend", {"capabilities": _boom}),
    "caps_garbage": ("backend", {"capabilities": lambda self: {"not": "caps"}}),
    "avail_non_tuple": ("backend", {"is_available": lambda self: "ok"}),
    "avail_raise": ("backend", {"is_available": _boom}),
    "impostor_numpy": ("numpy", Impostor),
}


class _Dist:
    def __init__(self, name: str) -> None:
        self.name, self.version = name, "6.6.6"


class _EP:
    """A stand-in for an entry point of a third-party distribution."""

    def __init__(self, name: str, load: Callable[[], Any], dist: str) -> None:
        self.name, self._load, self.dist = name, load, _Dist(dist)

    def load(self) -> Any:
        return self._load()


def _plugin_module(mode: str) -> types.ModuleType:
    kind, payload = MODES[mode]
    mod = types.ModuleType(f"evil_{mode}")

    @hookimpl
    def idrak_register_backends(register: Callable[..., Any]) -> None:
        if kind == "hook":
            raise payload
        if kind == "numpy":
            register("numpy", payload)
        else:
            register(mode, _backend(mode, **payload))

    mod.idrak_register_backends = idrak_register_backends  # type: ignore[attr-defined]
    return mod


def _entry_point(mode: str) -> _EP:
    kind, payload = MODES[mode]

    def load() -> Any:
        if kind == "import":
            raise payload
        return _plugin_module(mode)

    return _EP(f"a_{mode}", load, f"evil-{mode}")  # sorts before "numpy"


@pytest.fixture
def entry_points(fresh_registry: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    real = [ep for ep in md.entry_points(group="idrak") if ep.name == "numpy"]

    def install(modes: list[str], first: bool = True) -> None:
        fake = [_entry_point(m) for m in modes]
        eps = [*fake, *real] if first else [*real, *fake]
        monkeypatch.setattr(plugins.md, "entry_points", lambda group: eps)
        plugins.reset()

    yield install
    plugins.reset()


def _cpu_trains_correctly() -> None:
    w = idrak.tensor([2.0, -1.0], requires_grad=True)
    x = idrak.tensor([1.0, 3.0], device="cpu")
    loss = ((w * x).sum() - 1.0) ** 2
    loss.backward()
    np.testing.assert_allclose((idrak.ones(2) + idrak.ones(2)).numpy(), [2.0, 2.0])
    np.testing.assert_allclose(w.grad.numpy(), 2 * (2 - 3 - 1) * np.array([1.0, 3.0]))
    assert type(plugins.get_backend("numpy")) is NumpyBackend
    assert idrak.device("cpu").backend is plugins.get_backend("numpy")


@pytest.mark.parametrize(
    ("modes", "first"),
    [([m], True) for m in MODES] + [(list(MODES), True), (list(MODES), False)],
    ids=[*MODES, "all-first", "all-last"],
)
def test_broken_plugins_never_hide_numpy(entry_points: Any, modes: list[str], first: bool) -> None:
    entry_points(modes, first)
    report = idrak.cli.backends_report()
    rows = {r["name"]: r for r in report["backends"]}
    assert rows["numpy"]["available"] and rows["numpy"]["distribution"] == "idrak"
    for mode in modes:
        kind = MODES[mode][0]
        if kind == "backend":  # listed, unavailable, with the error
            assert not rows[mode]["available"] and rows[mode]["reason"], rows[mode]
        else:  # recorded as a failed plugin, naming it
            fails = [f for f in report["failed_plugins"] if f["plugin"] == f"a_{mode}"]
            assert len(fails) == 1, report["failed_plugins"]
            if kind == "numpy":
                assert (
                    "evil-impostor_numpy" in fails[0]["error"] and "reserved" in fails[0]["error"]
                )
    _cpu_trains_correctly()


def test_cli_prints_every_backend(entry_points: Any, capsys: pytest.CaptureFixture[str]) -> None:
    entry_points(list(MODES))
    assert idrak.cli.main(["backends"]) == 0
    out = capsys.readouterr().out
    for name in ("numpy", *(m for m, (k, _) in MODES.items() if k == "backend")):
        assert f"{name}  (" in out, out
    assert "reserved" in out and "SystemExit" in out


def test_keyboard_interrupt_is_not_swallowed(entry_points: Any) -> None:
    MODES["ctrl_c"] = ("import", KeyboardInterrupt())
    try:
        entry_points(["ctrl_c"])
        with pytest.raises(KeyboardInterrupt):
            plugins.backend_entries()
    finally:
        del MODES["ctrl_c"]
    assert list(itertools.islice(MODES, 1)) == ["exit_at_import"]
