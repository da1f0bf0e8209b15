"""The conformance suite on planted bugs (tests/fixtures/mutants.py), in this process.

Every mutant is caught and every failure names the op that is wrong; every legal variant
passes. Each run is restricted to the mutant's op and layers (``--idrak-only``,
``--idrak-layer``) and stops at the first failure, so the whole table takes seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idrak.runtime.plugins
from idrak.contract.hookspecs import hookimpl
from idrak.testing import run_conformance

pytestmark = pytest.mark.filterwarnings("ignore:Benchmarks are automatically disabled")
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from mutants import BISECTED, LEGAL, MUTANTS, backend_class  # noqa: E402


class _Plugin:
    def __init__(self, cls: type) -> None:
        self.cls = cls

    @hookimpl
    def idrak_register_backends(self, register: Any) -> None:
        register("mutant", self.cls, description="a planted bug")


def _run(tmp_path: Path, entry: tuple[str, str, dict[str, Any]], stop: bool) -> dict[str, Any]:
    op, layers, overrides = entry
    idrak.runtime.plugins.register_plugin(_Plugin(backend_class("mutant", overrides)), "mutant")
    out = tmp_path / "r.json"
    try:
        extra = ["--idrak-only", op, "--idrak-layer", layers, *(["-x"] if stop else [])]
        run_conformance("mutant", json_path=str(out), extra=extra)
    finally:
        idrak.runtime.plugins.unregister_plugin("mutant")
    rep: dict[str, Any] = json.loads(out.read_text())
    return rep


def test_the_table_is_large_enough() -> None:
    assert len(MUTANTS) >= 30 and len(LEGAL) >= 8


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught_and_named(name: str, tmp_path: Path, fresh_registry: None) -> None:
    rep = _run(tmp_path, MUTANTS[name], stop=True)
    failed = [c for c in rep["checks"] if c["outcome"] == "failed"]
    assert failed, f"{name}: not caught"
    assert {c["op"] for c in failed} == {MUTANTS[name][0]}, [c["key"] for c in failed]


@pytest.mark.parametrize("name", list(LEGAL))
def test_legal_variant_passes(name: str, tmp_path: Path, fresh_registry: None) -> None:
    rep = _run(tmp_path, LEGAL[name], stop=False)
    failed = [c["key"] + ": " + c["message"] for c in rep["checks"] if c["outcome"] == "failed"]
    assert not failed and rep["totals"]["passed"] > 0, failed


@pytest.mark.parametrize("name", list(BISECTED))
def test_bisection_names_the_primitive(name: str, tmp_path: Path, fresh_registry: None) -> None:
    culprit, only, layers, overrides = BISECTED[name]
    rep = _run(tmp_path, (only, layers, overrides), stop=True)
    failed = [c for c in rep["checks"] if c["outcome"] == "failed"]
    assert failed, f"{name}: not caught"
    assert [c["culprit"] for c in failed] == [culprit], [(c["key"], c["message"]) for c in failed]
    assert f"{culprit} is the op that is wrong" in failed[0]["message"]


def test_a_failure_that_does_not_repeat_is_reported_as_flaky(
    tmp_path: Path, fresh_registry: None
) -> None:
    calls = {"float": 0}

    def mul_wrong_once(self: Any, x: Any, y: Any) -> Any:
        out = x & y if x.dtype == bool else x * y
        if out.dtype.kind == "f" and out.size:
            calls["float"] += 1
            if calls["float"] == 1:  # the first floating MUL only
                out = np.array(out)
                out.reshape(-1)[0] += 1
        return out

    rep = _run(tmp_path, ("MUL", "primitive", {"mul": mul_wrong_once}), stop=True)
    failed = [c for c in rep["checks"] if c["outcome"] == "failed"]
    assert [c["op"] for c in failed] == ["MUL"]
    assert "MUL is nondeterministic" in failed[0]["message"], failed[0]["message"]
