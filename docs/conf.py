"""Sphinx configuration for idrak's documentation (Markdown pages through MyST).

Build: ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors). idrak is imported
from the installed package (``pip install -e .``), so no ``sys.path`` changes are needed here.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import version as _version
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

project = "idrak"
author = "idrak developers"
copyright = "idrak developers"
release = _version("idrak")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_heading_anchors = 3  # so pages can link to each other's sections: page.md#a-heading
myst_enable_extensions = ["colon_fence", "deflist"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo" if importlib.util.find_spec("furo") else "alabaster"
html_title = f"idrak {release}"


class OpTable(SphinxDirective):
    """``{idrak-op-table} required|optional``: the ops of :mod:`idrak.contract.ops` with their semantics.

    Generated from ``idrak.contract.ops.SEMANTICS`` so the page never drifts from the code.
    """

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from idrak.contract.ops import OPTIONAL, REQUIRED, SEMANTICS, Op

        which = self.arguments[0]
        if which not in ("required", "optional"):
            raise self.error(f"idrak-op-table: expected 'required' or 'optional', got {which!r}")
        chosen = REQUIRED if which == "required" else OPTIONAL
        rows = [(op.name, f"{op.method}()", SEMANTICS[op]) for op in Op if op in chosen]

        table = nodes.table()
        group = nodes.tgroup(cols=3)
        table += group
        for width in (14, 14, 72):
            group += nodes.colspec(colwidth=width)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        head += self._row(("op", "backend method", "semantics"), literal=False)
        for row in rows:
            body += self._row(row, literal=True)
        return [table]

    @staticmethod
    def _row(cells: tuple[str, str, str], literal: bool) -> nodes.row:
        row = nodes.row()
        for i, text in enumerate(cells):
            entry = nodes.entry()
            para = nodes.paragraph()
            para += nodes.literal(text=text) if literal and i < 2 else nodes.Text(text)
            entry += para
            row += entry
        return row


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("idrak-op-table", OpTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
