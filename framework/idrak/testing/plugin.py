"""The pytest plugin of idrak's backend conformance suite (``pytest11`` entry point ``idrak``).

pytest loads this module in every run of an environment where idrak is installed, so it stays
inert and cheap: it adds the ``--idrak-...`` options and imports nothing at module level but
pluggy's marker (not even pytest); the suite's machinery is imported only when
``--idrak-backend`` is given. Run the suite with::

    pytest --pyargs idrak.testing --idrak-backend=NAME [--idrak-xfails FILE] [--idrak-report PATH]

Without ``--idrak-backend`` the suite's tests, if collected, skip with the reason.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any

import pluggy

__all__ = ["session_key"]

hookimpl = pluggy.HookimplMarker("pytest")  # what pytest.hookimpl is, without importing pytest
_HERE = os.path.dirname(os.path.abspath(__file__))
_KEY: list[Any] = []


def session_key() -> Any:
    """The ``config.stash`` key of the running :class:`idrak.testing._session.Session`."""
    if not _KEY:
        import pytest

        _KEY.append(pytest.StashKey())
    return _KEY[0]


def pytest_addoption(parser: Any) -> None:
    """Add ``--idrak-backend``, ``--idrak-xfails``, ``--idrak-only``, ``--idrak-layer``,
    ``--idrak-list`` and ``--idrak-report``."""
    g = parser.getgroup("idrak", "idrak backend conformance")
    g.addoption(
        "--idrak-backend",
        default=None,
        metavar="NAME",
        help="run idrak's conformance suite on this registered backend",
    )
    g.addoption(
        "--idrak-xfails",
        default=None,
        metavar="FILE",
        help="TOML (or .json) file of expected failures [xfail] and relaxed tolerances "
        "[relax] (see idrak.testing.tolerances)",
    )
    g.addoption(
        "--idrak-only",
        default=None,
        metavar="OP",
        help="run only the checks of this op (comma-separated ops allowed), plus the runtime "
        "layer they stand on",
    )
    g.addoption(
        "--idrak-layer",
        default=None,
        metavar="LAYER",
        help="run only the checks of this layer (comma-separated layers allowed)",
    )
    g.addoption(
        "--idrak-list",
        action="store_true",
        default=False,
        help="list the checks (layer and key) instead of running them",
    )
    g.addoption(
        "--idrak-report",
        default=None,
        metavar="PATH",
        help="write the conformance report as JSON to this path",
    )


def pytest_configure(config: Any) -> None:
    """With ``--idrak-backend``: load the backend and start the run's session."""
    name = config.getoption("idrak_backend", None)
    if not name:
        return
    import pytest

    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist", "no") != "no":
        raise pytest.UsageError(
            "the idrak conformance suite runs in one process (its layers "
            "depend on each other's outcomes); drop -n / --dist"
        )
    import tempfile

    # hypothesis keeps its example database and caches here, never in the working directory
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "idrak-hypothesis")
    )
    from idrak.testing._session import Session

    config.stash[session_key()] = Session(
        name, config.getoption("idrak_xfails"), config.getoption("idrak_report")
    )


def _session(config: Any) -> Any:
    return config.stash.get(session_key(), None)


def _check(item: Any) -> Any:
    if _session(item.config) is None:
        return None
    callspec = getattr(item, "callspec", None)
    c = callspec.params.get("check") if callspec is not None else None
    return c if getattr(c, "session", None) is not None else None


def pytest_report_header(config: Any) -> list[str] | None:
    """The backend, its dtypes and optional ops, its relaxations."""
    s = _session(config)
    if s is None:
        return None
    from idrak.testing._report import header

    return header(s)


def pytest_collect_file(file_path: Any, parent: Any) -> Any:
    """Collect the suite's modules even where a project's ``python_files`` does not match them."""
    if str(file_path.parent) != _HERE or not fnmatch.fnmatch(file_path.name, "test_*.py"):
        return None
    patterns = parent.config.getini("python_files")
    if any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return None
    import pytest

    return pytest.Module.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark expected failures; order the checks by layer."""
    s = _session(config)
    if s is None:
        return
    import pytest

    from idrak.testing._session import LAYERS

    order = {layer: i for i, layer in enumerate(LAYERS)}
    for item in items:
        c = _check(item)
        reason = s.expect.xfail_reason(c.key) if c is not None else None
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
    # layers run in dependency order whatever order the files were given in
    items.sort(key=lambda it: order[c.layer] if (c := _check(it)) is not None else -1)
    _select(config, items)


def _select(config: Any, items: list[Any]) -> None:
    """Apply ``--idrak-only`` / ``--idrak-layer``; for ``--idrak-list``, print and drop all."""
    only = {o.strip().upper() for o in (config.getoption("idrak_only") or "").split(",") if o}
    layers = {x.strip() for x in (config.getoption("idrak_layer") or "").split(",") if x}
    keep: list[Any] = []
    drop: list[Any] = []
    for it in items:
        c = _check(it)
        ok = c is not None or not (only or layers)
        if c is not None:
            ok = (not only or c.op.upper() in only or c.layer == "runtime") and (
                not layers or c.layer in layers
            )
        (keep if ok else drop).append(it)
    if config.getoption("idrak_list"):
        tw = config.pluginmanager.get_plugin("terminalreporter")
        for it in keep:
            c = _check(it)
            if c is not None and tw is not None:
                tw.write_line(f"{c.layer:<13}{c.key}")
        drop, keep = drop + keep, []
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@hookimpl(tryfirst=True)
def pytest_runtest_setup(item: Any) -> None:
    """Record the check's JUnit properties; skip it when a dependency failed."""
    c = _check(item)
    if c is None:
        return
    import pytest

    item.user_properties += [
        ("layer", c.layer),
        ("op", c.op),
        ("dtype", c.dtype),
        ("kind", c.kind),
        ("check", c.key),
    ]
    c.repro = None
    cause = c.s.blocked_by(c.deps)
    if cause is not None:
        pytest.skip(cause)


def _passes_again(item: Any, args: dict[str, Any]) -> bool:
    """Whether a failed check passes when run once more (its inputs are seeded by its key)."""
    try:
        item.obj(**args)
    except Exception:
        return False
    return True


#: layers whose checks run whole computations: a failure there is bisected to a primitive
_BISECTED = ("autograd", "model")


@hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: Any) -> Any:
    """On a failed check: run a primitive check again, to tell a flaky op from a wrong one;
    bisect an autograd or model check to the primitive behind it (see ``_bisect``)."""
    try:
        return (yield)
    except AssertionError as e:
        c = _check(pyfuncitem)
        args = {n: pyfuncitem.funcargs[n] for n in pyfuncitem._fixtureinfo.argnames}
        if c is not None and c.layer == "primitive" and _passes_again(pyfuncitem, args):
            e.args = (
                f"{e}\nflaky: the same check passed when run again on the same inputs, so "
                f"{c.op} is nondeterministic",
                *e.args[1:],
            )
        if c is not None and c.layer in _BISECTED and getattr(e, "culprit", None) is None:
            from idrak.testing._bisect import culprit

            name = culprit(c.s.backend, c.s.reference_backend(), lambda: pyfuncitem.obj(**args))
            e.culprit = name  # type: ignore[attr-defined]
            if name is not None:
                e.args = (
                    f"{e}\nbisection: the check passes when {name} runs on the NumPy reference "
                    f"backend, so {name} is the op that is wrong",
                    *e.args[1:],
                )
        raise


@hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Record each check's outcome (and its repro) in the session."""
    rep = yield
    c = _check(item)
    s = _session(item.config)
    if c is None and s is not None and rep.skipped and rep.when == "setup":
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        s.other_skips.append(f"{item.nodeid}: {reason.removeprefix('Skipped: ')}")
    if c is not None and (rep.when == "call" or (rep.when == "setup" and not rep.passed)):
        from idrak.testing._report import outcome_of

        out = outcome_of(c, item.nodeid, rep, call)
        c.s.record(out)
        if out.repro:
            item.user_properties.append(("repro", out.repro))
    return rep


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print the per-op table, the relaxations and the failures with their repros."""
    s = _session(config)
    if s is None:
        return
    from idrak.testing._report import summary

    for line in summary(s):
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Write the JSON report."""
    s = _session(session.config)
    if s is None:
        return
    from idrak.testing._report import finish

    finish(s)
