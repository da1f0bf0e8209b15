"""docs/coming-from-pytorch.md's table of PyTorch names is generated from the code and current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idrak.torch_names import BEGIN, END, coverage, load_names, markdown, update_page

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "docs" / "torch-names.json"
PAGE = ROOT / "docs" / "coming-from-pytorch.md"


def test_page_is_current() -> None:
    assert markdown(load_names(NAMES)) in PAGE.read_text(), (
        "regenerate with: python -m idrak.torch_names docs/coming-from-pytorch.md"
    )


def test_coverage_reflects_the_namespaces() -> None:
    cov = coverage(
        {
            "torch": ["long", "no_grad", "surely_not_a_name"],
            "torch.utils.data": ["DataLoader"],
            "torch.Tensor": ["new_zeros"],
            "torch.nowhere": ["x"],
        }
    )
    assert cov["torch"] == {"long": True, "no_grad": True, "surely_not_a_name": False}
    assert cov["torch.utils.data"] == {"DataLoader": True}
    assert cov["torch.Tensor"] == {"new_zeros": True}
    assert cov["torch.nowhere"] == {"x": False}


def test_update_page_rewrites_only_the_section(tmp_path: Path) -> None:
    names = tmp_path / "n.json"
    names.write_text(json.dumps({"modules": {"torch": ["zeros", "nope"]}}))
    page = tmp_path / "p.md"
    page.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n")
    assert update_page(page, names)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "stale" not in text
    assert "- **has**: `zeros`" in text and "- **lacks**: `nope`" in text
    assert not update_page(page, names)  # already current
    (tmp_path / "bad.md").write_text("no markers")
    with pytest.raises(ValueError, match=r"no .* section"):
        update_page(tmp_path / "bad.md", names)
    names.write_text("[1]")
    with pytest.raises(ValueError, match="expected"):
        load_names(names)
