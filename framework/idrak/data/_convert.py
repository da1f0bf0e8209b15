"""The only two places idrak.data touches the Tensor class: to NumPy and back."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """``x.numpy()`` for a Tensor (or anything with ``.numpy``), else ``np.asarray(x)``."""
    if not isinstance(x, np.ndarray) and hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def to_tensor(array: np.ndarray, device: Any = None) -> Any:
    """Wrap ``array`` in an idrak Tensor on ``device`` (idrak is imported lazily: no cycle).

    Raises:
        RuntimeError: this build of idrak has no ``idrak.tensor`` yet.
    """
    import idrak

    make = getattr(idrak, "tensor", None)
    if make is None:
        raise RuntimeError(
            "idrak.tensor is not available in this build, so batches cannot become Tensors; "
            "pass to_tensor=False to DataLoader to get NumPy batches"
        )
    return make(array, device=device)
