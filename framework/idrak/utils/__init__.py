"""``idrak.utils``: PyTorch's ``torch.utils`` paths, so ``import idrak as torch`` ports
``torch.utils.data.DataLoader`` unchanged. :mod:`idrak.utils.data` is :mod:`idrak.data`'s API.

Nothing is imported until ``idrak.utils.data`` is first named.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["data"]


def __getattr__(name: str) -> Any:
    if name == "data":
        module = importlib.import_module("idrak.utils.data")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'idrak.utils' has no attribute {name!r}")


if TYPE_CHECKING:
    from idrak.utils import data
