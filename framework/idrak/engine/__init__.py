"""The engine: lazy graph nodes, scheduling, realization (:mod:`~idrak.engine.lazy`), the fusion
pass (:mod:`~idrak.engine.fusion`) and schedule printing (:mod:`~idrak.engine.debug`).

The engine works on :class:`~idrak.engine.lazy.LazyBuffer` nodes and never imports the Tensor.
"""

from __future__ import annotations

from idrak.engine import debug, fusion, lazy
from idrak.engine.lazy import LazyBuffer, eager, is_eager, realize

__all__ = ["LazyBuffer", "debug", "eager", "fusion", "is_eager", "lazy", "realize"]
