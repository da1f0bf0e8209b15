"""Bringing PyTorch weights into idrak without pickle.

Two routes (``docs/coming-from-pytorch.md`` has the recipe):

1. a file: PyTorch writes ``safetensors.torch.save_file(model.state_dict(), "m.safetensors")``
   and idrak reads it with :func:`idrak.load` (a flat ``{name: Tensor}`` dict; bfloat16 widened
   exactly to float32), then ``model.load_state_dict(sd)``;
2. in memory: :func:`convert_state_dict` turns a ``state_dict`` of torch tensors (or NumPy
   arrays, or anything with ``.numpy()``) into idrak Tensors.

Neither imports torch: the conversion goes by duck typing (``detach``, ``cpu``, ``numpy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from idrak.core.tensor import Tensor, tensor
from idrak.runtime.devices import DeviceLike

__all__ = ["convert_state_dict"]


def _host_array(name: str, value: Any) -> np.ndarray:
    v = value
    if hasattr(v, "detach"):  # a torch tensor: off the graph, onto the host
        v = v.detach()
    if hasattr(v, "cpu"):
        v = v.cpu()
    if str(getattr(v, "dtype", "")) == "torch.bfloat16":  # NumPy has no bfloat16: exact widening
        v = v.float()
    if hasattr(v, "numpy") and not isinstance(v, np.ndarray | np.generic):
        v = v.numpy()
    arr = np.asarray(v)
    if arr.dtype == object:
        raise TypeError(f"state_dict entry {name!r}: cannot convert {type(value).__name__}")
    return arr


def convert_state_dict(
    state_dict: Mapping[str, Any], device: DeviceLike | None = None
) -> dict[str, Tensor]:
    """A PyTorch ``state_dict`` as ``{name: idrak Tensor}``, for ``model.load_state_dict``.

    Values may be torch tensors (any device; bfloat16 becomes float32 exactly), NumPy arrays,
    idrak Tensors or numbers. Names are kept as they are: idrak's layers use PyTorch's
    parameter names (``fc.weight``, ``0.bias``, ``norm.running_mean``), so a twin model loads
    them directly. Values are copied (an idrak Tensor's value never changes under it).

    Raises:
        TypeError: ``state_dict`` is not a mapping with str keys, or a value cannot be
            converted (its name and type are given).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
    out: dict[str, Tensor] = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"state_dict keys must be str, got {name!r}")
        if isinstance(value, Tensor):
            out[name] = value.detach().to(device) if device is not None else value.detach()
        else:
            out[name] = tensor(_host_array(name, value), device=device)
    return out
