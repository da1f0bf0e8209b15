"""Plugin discovery, validation and failure isolation; device strings and the default device.

Every test that changes the plugin set or the environment uses the ``fresh_registry`` fixture
(tests/conftest.py), which resets discovery before and after, and registers temporary plugins
through fixtures that always unregister them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _venv import child_venv

import idrak
import idrak.cli
from idrak.contract.hookspecs import hookimpl
from idrak.contract.ops import Op
from idrak.errors import BackendUnavailableError, DeviceError
from idrak.runtime import plugins
from idrak_numpy import NumpyBackend

FIXTURES = Path(__file__).parent / "fixtures"


class TmpBackend(NumpyBackend):
    """The NumPy backend under another name: a backend that only exists inside a test."""

    name = "tmpbackend"


class OfflineBackend(NumpyBackend):
    name = "offline"

    def is_available(self) -> tuple[bool, str]:
        return False, "no device: the test says so"


class HookPlugin:
    """A plugin object whose ``idrak_register_backends`` hook calls ``body(register)``."""

    def __init__(self, body: Callable[[Callable[..., Any]], None]) -> None:
        self.body = body

    @hookimpl
    def idrak_register_backends(self, register: Callable[..., Any]) -> None:
        self.body(register)


RegisterFn = Callable[[str, Callable[[Callable[..., Any]], None]], None]


@pytest.fixture
def add_plugin(fresh_registry: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegisterFn]:
    """Register in-process plugins, ``add_plugin(name, body)``; all unregistered afterwards.

    The entry-point plugins are pinned to ``numpy`` so the outcome does not depend on what else
    (CuPy or not) is installed here.
    """
    monkeypatch.setenv("IDRAK_PLUGINS", "numpy")
    names: list[str] = []

    def add(name: str, body: Callable[[Callable[..., Any]], None]) -> None:
        names.append(name)
        plugins.register_plugin(HookPlugin(body), name)

    try:
        yield add
    finally:
        for name in names:
            plugins.unregister_plugin(name)
        plugins.reset()


@pytest.fixture
def tmpbackend(add_plugin: RegisterFn) -> str:
    """The ``tmpbackend`` backend, registered by the in-process plugin ``tmpplugin``."""
    add_plugin("tmpplugin", lambda register: register("tmpbackend", TmpBackend, description="t"))
    return "tmpbackend"


def cli_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert idrak.cli.main(["backends", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def add_one(dev: idrak.Device) -> list[float]:
    be = dev.backend
    x = be.from_numpy(np.array([1.0, 2.0], dtype=np.float32))
    return be.to_numpy(be.run(Op.ADD, (x, x), None, idrak.float32, dev.index)).tolist()


# --------------------------------------------------------------------------------------------
# in-process plugins


def test_temporary_plugin_is_discovered_and_usable(tmpbackend: str) -> None:
    entry = plugins.backend_entries()[tmpbackend]
    assert (entry.plugin, entry.distribution, entry.description) == ("tmpplugin", None, "t")
    assert "tmpbackend" in plugins.available_backends()
    dev = idrak.device("tmpbackend")
    assert (dev.type, dev.index, str(dev)) == ("tmpbackend", 0, "tmpbackend:0")
    assert isinstance(dev.backend, TmpBackend)
    assert dev.backend.capabilities().name == "tmpbackend"
    assert (
        idrak.device("tmpbackend:0") == dev and idrak.device("tmpbackend:0").backend is dev.backend
    )
    assert add_one(dev) == [2.0, 4.0]
    assert add_one(idrak.device("cpu")) == [2.0, 4.0]  # numpy is untouched


def test_unregistered_plugin_is_gone(tmpbackend: str) -> None:
    assert idrak.device(tmpbackend).type == tmpbackend
    plugins.unregister_plugin("tmpplugin")
    assert tmpbackend not in plugins.backend_entries()
    with pytest.raises(DeviceError, match="unknown device 'tmpbackend'"):
        idrak.device(tmpbackend)
    plugins.unregister_plugin("never-registered")  # a no-op


def test_temporary_plugin_in_cli(tmpbackend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = {r["name"]: r for r in cli_json(capsys)["backends"]}
    assert set(rows) == {"numpy", "tmpbackend"}
    row = rows["tmpbackend"]
    assert (row["available"], row["plugin"], row["distribution"], row["devices"]) == (
        True,
        "tmpplugin",
        None,
        1,
    )
    assert "float32" in row["dtypes"] and "MATMUL" in row["optional_ops"]
    assert idrak.cli.main(["backends"]) == 0
    text = capsys.readouterr().out
    assert "tmpbackend  (in-process, plugin 'tmpplugin')  available" in text


def test_failing_hook_is_reported_and_isolated(
    add_plugin: RegisterFn, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(register: Callable[..., Any]) -> None:
        raise RuntimeError("driver exploded")

    add_plugin("exploding", boom)
    (failure,) = plugins.plugin_failures()
    assert (failure.plugin, failure.stage) == ("exploding", "register")
    assert failure.error == "RuntimeError: driver exploded"
    assert "driver exploded" in failure.traceback
    assert add_one(idrak.device("numpy")) == [2.0, 4.0]
    rep = cli_json(capsys)
    assert rep["failed_plugins"] == [
        {"plugin": "exploding", "stage": "register", "error": "RuntimeError: driver exploded"}
    ]
    assert [(r["name"], r["available"]) for r in rep["backends"]] == [("numpy", True)]
    assert idrak.cli.main(["backends"]) == 0
    assert "FAILED plugin 'exploding' (register): RuntimeError: driver exploded" in (
        capsys.readouterr().out
    )
    with pytest.raises(DeviceError, match=r"(?s)no backend named 'nosuch'.*'exploding' failed"):
        plugins.get_backend("nosuch")


def test_plugin_with_a_malformed_hook_is_reported(fresh_registry: None) -> None:
    class WrongSignature:
        @hookimpl
        def idrak_register_backends(self, registrar: Any) -> None:  # not `register`
            raise AssertionError("never called")

    plugins.register_plugin(WrongSignature(), "wrongsig")
    try:
        failures = {f.plugin: f for f in plugins.plugin_failures()}
        assert failures["wrongsig"].stage == "load"
        assert "registrar" in failures["wrongsig"].error
        assert "numpy" in plugins.available_backends()
    finally:
        plugins.unregister_plugin("wrongsig")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            lambda r: r("numpy", TmpBackend),
            "backend name 'numpy' is already registered by plugin 'numpy'",
            id="duplicate-name",
        ),
        pytest.param(
            lambda r: (r("dupe", TmpBackend), r("dupe", TmpBackend)),
            "backend name 'dupe' is already registered by plugin 'badplugin'",
            id="duplicate-within-plugin",
        ),
        pytest.param(
            lambda r: r("Bad-Name", TmpBackend), "backend name 'Bad-Name' must match", id="bad-name"
        ),
        pytest.param(lambda r: r("", TmpBackend), "backend name '' must match", id="empty-name"),
        pytest.param(lambda r: r(3, TmpBackend), "backend name 3 must match", id="non-str-name"),
        pytest.param(
            lambda r: r("okname", 42),
            "factory for 'okname' is int, not a callable",
            id="non-callable-factory",
        ),
    ],
)
def test_invalid_registration_is_reported_naming_the_plugin(
    add_plugin: RegisterFn, capsys: pytest.CaptureFixture[str], body: Any, message: str
) -> None:
    def register_good_then_bad(register: Callable[..., Any]) -> None:
        register("goodone", TmpBackend)
        body(register)

    add_plugin("badplugin", register_good_then_bad)
    (failure,) = plugins.plugin_failures()
    assert (failure.plugin, failure.stage) == ("badplugin", "validate")
    assert failure.error.startswith(f"PluginError: plugin 'badplugin': {message}"), failure.error
    # a plugin that fails validation registers nothing, not even its valid backends
    assert set(plugins.backend_entries()) == {"numpy"}
    assert plugins.get_backend("numpy").name == "numpy"
    rep = cli_json(capsys)
    assert rep["failed_plugins"][0]["plugin"] == "badplugin"
    assert message in rep["failed_plugins"][0]["error"]


@pytest.mark.parametrize(
    ("factory", "reason"),
    [
        pytest.param(
            lambda: object(),
            "returned object, not an idrak.contract.backend.Backend",
            id="factory-returns-non-backend",
        ),
        pytest.param(lambda: 1 / 0, "ZeroDivisionError", id="factory-raises"),
    ],
)
def test_bad_factory_makes_its_backend_unavailable(
    add_plugin: RegisterFn, capsys: pytest.CaptureFixture[str], factory: Any, reason: str
) -> None:
    add_plugin("weird", lambda register: register("weirdbackend", factory))
    assert "weirdbackend" in plugins.backend_entries()  # registration itself was valid
    with pytest.raises(BackendUnavailableError) as info:
        plugins.get_backend("weirdbackend")
    assert "backend 'weirdbackend' (plugin 'weird') failed to start" in str(info.value)
    assert reason in str(info.value)
    with pytest.raises(BackendUnavailableError, match=reason):
        idrak.device("weirdbackend")
    assert plugins.available_backends() == ["numpy"]
    rows = {r["name"]: r for r in cli_json(capsys)["backends"]}
    assert rows["weirdbackend"]["available"] is False
    assert (
        "plugin 'weird'" in rows["weirdbackend"]["reason"]
        and reason in rows["weirdbackend"]["reason"]
    )
    assert rows["numpy"]["available"] is True


def test_unavailable_backend_reports_its_reason(
    add_plugin: RegisterFn, capsys: pytest.CaptureFixture[str]
) -> None:
    add_plugin("offplugin", lambda register: register("offline", OfflineBackend))
    with pytest.raises(BackendUnavailableError, match="'offline' is unavailable: no device: the"):
        idrak.device("offline")
    assert plugins.available_backends() == ["numpy"]
    rows = {r["name"]: r for r in cli_json(capsys)["backends"]}
    assert rows["offline"]["available"] is False
    assert "no device: the test says so" in rows["offline"]["reason"]


# --------------------------------------------------------------------------------------------
# environment variables


def test_idrak_plugins_selects_entry_points(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDRAK_PLUGINS", "numpy")
    assert set(plugins.backend_entries()) == {"numpy"}
    assert plugins.plugin_failures() == []
    monkeypatch.setenv("IDRAK_PLUGINS", "nosuchplugin, alsonot")
    plugins.reset()
    assert plugins.backend_entries() == {}
    with pytest.raises(DeviceError, match=r"unknown device 'cpu'; known devices: none"):
        idrak.device("cpu")


def test_idrak_disable_plugins_blocks_entry_points_and_in_process_plugins(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins.register_plugin(HookPlugin(lambda r: r("tmpbackend", TmpBackend)), "tmpplugin")
    try:
        monkeypatch.setenv("IDRAK_PLUGINS", "numpy")  # keep other installed plugins out of it
        monkeypatch.setenv("IDRAK_DISABLE_PLUGINS", "numpy")
        plugins.reset()
        assert set(plugins.backend_entries()) == {"tmpbackend"}
        with pytest.raises(DeviceError, match="unknown device 'cpu'; known devices: tmpbackend"):
            idrak.device("cpu")
        monkeypatch.setenv("IDRAK_DISABLE_PLUGINS", "tmpplugin")
        plugins.reset()
        assert "tmpbackend" not in plugins.backend_entries()
        assert "numpy" in plugins.backend_entries()
    finally:
        plugins.unregister_plugin("tmpplugin")


def test_in_process_plugins_survive_idrak_plugins(tmpbackend: str) -> None:
    # IDRAK_PLUGINS (pinned to numpy by the fixture) selects entry points only
    assert set(plugins.backend_entries()) == {"numpy", "tmpbackend"}


def test_default_discovery_finds_numpy(fresh_registry: None) -> None:
    entry = plugins.backend_entries()["numpy"]
    assert (entry.plugin, entry.distribution) == ("numpy", "idrak")
    assert "numpy" in plugins.available_backends()
    assert all(f.plugin != "numpy" for f in plugins.plugin_failures())


# --------------------------------------------------------------------------------------------
# device strings and the default device


@pytest.mark.parametrize("spec", ["cpu", "numpy", "numpy:0", "cpu:0", " NumPy:0 ", "CPU"])
def test_device_strings_for_numpy(fresh_registry: None, spec: str) -> None:
    dev = idrak.device(spec)
    assert (dev.type, dev.index, str(dev), repr(dev)) == (
        "numpy",
        0,
        "numpy:0",
        "device('numpy:0')",
    )
    assert dev == "cpu" and dev == idrak.device("numpy:0") and hash(dev) == hash(("numpy", 0))
    assert idrak.device(dev) is dev
    assert dev != "nosuch" and dev != 3


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("nosuch", r"unknown device 'nosuch'; known devices: cpu, numpy"),
        ("nosuch:1", r"unknown device 'nosuch:1'; known devices: cpu, numpy"),
        ("numpy:3", r"device 'numpy:3' does not exist: backend 'numpy' has 1 device\(s\)"),
        ("cpu:1", r"device 'cpu:1' does not exist"),
        ("numpy:x", r"malformed device 'numpy:x': index 'x' is not a non-negative int"),
        ("numpy:-1", r"malformed device 'numpy:-1'"),
        ("numpy:", r"malformed device 'numpy:'"),
        ("numpy:0:0", r"malformed device 'numpy:0:0'"),
        ("", r"unknown device ''"),
        (3, r"device must be a string like 'cpu' or 'cuda:0', got 3"),
        (["cpu"], r"device must be a string like 'cpu' or 'cuda:0', got \['cpu'\]"),
    ],
)
def test_bad_device_strings(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch, spec: Any, error: str
) -> None:
    monkeypatch.setenv("IDRAK_PLUGINS", "numpy")
    with pytest.raises(DeviceError, match=error):
        idrak.device(spec)


def test_default_device(tmpbackend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert idrak.get_default_device() == idrak.device("cpu")
    assert idrak.device() == idrak.device("numpy:0")
    idrak.set_default_device("tmpbackend")
    assert idrak.get_default_device().type == "tmpbackend"
    assert idrak.device(None).type == "tmpbackend"
    with pytest.raises(DeviceError, match="unknown device 'nosuch'"):
        idrak.set_default_device("nosuch")
    assert idrak.get_default_device().type == "tmpbackend"  # unchanged by the failed call
    idrak.set_default_device(idrak.device("cpu"))
    assert idrak.get_default_device() == "numpy:0"
    idrak.set_default_device(None)
    monkeypatch.setenv("IDRAK_DEVICE", "tmpbackend:0")
    assert idrak.get_default_device().type == "tmpbackend"
    idrak.set_default_device("cpu")  # an explicit default wins over the environment
    assert idrak.get_default_device().type == "numpy"
    idrak.set_default_device(None)
    monkeypatch.setenv("IDRAK_DEVICE", "bogus")
    with pytest.raises(DeviceError, match="unknown device 'bogus'"):
        idrak.get_default_device()


# --------------------------------------------------------------------------------------------
# import hygiene


def test_import_idrak_loads_no_backend() -> None:
    code = textwrap.dedent(
        """
        import sys
        import idrak
        import idrak.runtime.plugins
        loaded = [m for m in ("idrak_numpy", "idrak_cuda", "cupy") if m in sys.modules]
        assert not loaded, f"import idrak imported {loaded}"
        assert idrak.runtime.plugins._REG.pm is None, "import idrak ran plugin discovery"
        idrak.device("cpu")
        assert "idrak_numpy" in sys.modules and "cupy" not in sys.modules
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDRAK_")}
    env["IDRAK_PLUGINS"] = "numpy"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------------------------
# a real out-of-tree package, installed into a temporary virtual environment


@pytest.mark.slow
def test_out_of_tree_backend_package(tmp_path: Path) -> None:
    """pip-install tests/fixtures/outoftree_backend into a new venv; idrak finds it there.

    Offline: ``--no-index --no-deps`` in pip's isolated build environment; the fixture's
    declared build requirements are complete (an in-tree, stdlib-only build backend), so nothing
    is fetched and nothing of this interpreter's setuptools or wheel is used. The venv sees this
    environment's packages (idrak itself, NumPy, pluggy, pip) through ``tests/_venv.py``.
    """
    # build from a copy, so build/ and *.egg-info never land in the source tree
    src = tmp_path / "outoftree_backend"
    shutil.copytree(
        FIXTURES / "outoftree_backend",
        src,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDRAK_", "PYTHON"))}
    py, purelib = child_venv(tmp_path / "venv", env)

    pip = [
        py,
        "-m",
        "pip",
        "install",
        "--no-index",
        "--no-deps",
        "--disable-pip-version-check",
        "--quiet",
        str(src),
    ]
    proc = subprocess.run(pip, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Path(purelib, "idrak_outoftree", "__init__.py").exists()

    # `idrak backends --json`: the console script of this environment, run by the venv's Python
    script = Path(sysconfig.get_path("scripts"), "idrak")
    cmd = [py, str(script)] if script.is_file() else [py, "-m", "idrak.cli"]
    proc = subprocess.run([*cmd, "backends", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    rows = {r["name"]: r for r in rep["backends"]}
    assert rows["outoftree"]["available"] is True, rows["outoftree"]
    assert (rows["outoftree"]["plugin"], rows["outoftree"]["distribution"]) == (
        "outoftree",
        "idrak-outoftree",
    )
    assert rows["outoftree"]["version"] == "0.0.1"
    assert rows["numpy"]["available"] is True
    failed = {f["plugin"]: f for f in rep["failed_plugins"]}
    assert failed["broken"]["stage"] == "load"
    assert failed["broken"]["error"].startswith("ImportError: idrak_outoftree_broken needs")
    assert "outoftree" not in failed

    # and the backend computes through idrak's dispatch
    code = textwrap.dedent(
        """
        import numpy as np
        import idrak
        from idrak.contract.ops import Op
        dev = idrak.device("outoftree")
        be = dev.backend
        x = be.from_numpy(np.array([1.0, -2.0]))
        print(be.to_numpy(be.run(Op.ADD, (x, x), None, idrak.float64, dev.index)).tolist())
        try:
            be.run(Op.MATMUL, (x, x), None, idrak.float64, 0)
        except idrak.NotSupportedError as e:
            print(e)
        """
    )
    proc = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "[2.0, -4.0]"
    assert "backend 'outoftree' does not support MATMUL" in proc.stdout


def test_plugin_without_a_hook_is_reported(fresh_registry: None) -> None:
    import types

    plugins.register_plugin(types.ModuleType("hookless"), "hookless")
    try:
        failures = {f.plugin: f for f in plugins.plugin_failures()}
        assert failures["hookless"].stage == "register"
        assert "registered no backend" in failures["hookless"].error
        assert "numpy" in plugins.available_backends()
    finally:
        plugins.unregister_plugin("hookless")


def test_set_capabilities_drops_the_caches_derived_from_them() -> None:
    """Hiding the optional ops and restoring them leaves no stale supports()/dispatch entry
    behind (a fixture doing it by hand leaked "does not support SUB" into later tests)."""
    import dataclasses

    import idrak
    from idrak.contract.dtypes import float32
    from idrak.contract.ops import Op

    be = idrak.runtime.plugins.get_backend("numpy")
    assert be.supports(Op.SUB, float32)
    prev = be.set_capabilities(dataclasses.replace(be.caps, optional_ops=frozenset()))
    try:
        assert not be.supports(Op.SUB, float32)
        x = idrak.tensor([3.0, 1.0])
        assert (x - 1.0).tolist() == [2.0, 0.0]  # decomposed: ADD of NEG
    finally:
        assert be.set_capabilities(prev) is not prev
    assert be.supports(Op.SUB, float32)
    x = be.from_numpy(np.array([3.0], np.float32))
    assert be.to_numpy(be.run(Op.SUB, (x, x), None, float32, 0)).tolist() == [0.0]
