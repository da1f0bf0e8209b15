"""Files: checkpoints in safetensors (:mod:`~idrak.io.serialization`) and atomic writes
(:mod:`~idrak.io.atomic`)."""

from __future__ import annotations

from idrak.io.serialization import CheckpointError, load, save

__all__ = ["CheckpointError", "load", "save"]
