"""Sphinx configuration for idrak's documentation (Markdown pages through MyST).

Build: ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors). idrak is imported
from the installed package (``pip install -e .``), so no ``sys.path`` changes are needed here.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import version as _version
from typing import Any

from sphinx.application import Sphinx

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


def setup(app: Sphinx) -> dict[str, Any]:
    return {"parallel_read_safe": True, "parallel_write_safe": True}
