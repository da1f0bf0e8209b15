"""Files: checkpoints in safetensors (:mod:`~idrak.io.serialization`), atomic writes
(:mod:`~idrak.io.atomic`) and PyTorch weights (:mod:`~idrak.io.torch_weights`)."""

from __future__ import annotations

from idrak.io.serialization import CheckpointError, load, save
from idrak.io.torch_weights import convert_state_dict

__all__ = ["CheckpointError", "convert_state_dict", "load", "save"]
