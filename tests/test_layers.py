"""The layers of docs/design-notes.md hold: import-linter's contracts (pyproject.toml) are kept, a
backend package loads only the contract, and ``import idrak`` itself loads nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_layer_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    res = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "3 kept, 0 broken" in res.stdout, res.stdout[-2000:]


def _modules_after(code: str) -> list[str]:
    res = subprocess.run(
        [sys.executable, "-c", code + "; import sys; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [m.strip("'") for m in res.stdout.strip().strip("[]").split(", ")]


@pytest.mark.parametrize("backend", ["idrak_numpy", "idrak_cuda"])
def test_a_backend_package_loads_only_the_contract(backend: str) -> None:
    mods = _modules_after(f"import {backend}")
    frontend = [m for m in mods if m.startswith("idrak.") and not m.startswith("idrak.contract")]
    assert frontend in ([], ["idrak.errors"]), frontend
    assert "idrak.core.tensor" not in mods


def test_the_numpy_backend_class_loads_only_the_contract() -> None:
    mods = _modules_after("import idrak_numpy; idrak_numpy.NumpyBackend().caps")
    frontend = [m for m in mods if m.startswith("idrak.") and not m.startswith("idrak.contract")]
    assert frontend in ([], ["idrak.errors"]), frontend


def test_import_idrak_loads_nothing_until_used() -> None:
    mods = _modules_after("import idrak")
    assert [m for m in mods if m.startswith("idrak")] == ["idrak"]
    mods = _modules_after("import idrak; idrak.zeros(2)")
    assert "idrak.core.tensor" in mods and "idrak.nn" not in mods


def test_docs_op_table_is_current() -> None:
    from idrak.contract.ops import markdown_table

    doc = (ROOT / "docs" / "ops.md").read_text()
    assert markdown_table() in doc, (
        "regenerate docs/ops.md from idrak.contract.ops.markdown_table()"
    )
