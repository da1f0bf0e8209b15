"""The core: the :class:`~idrak.core.tensor.Tensor` and its methods (:mod:`idrak.core.methods`),
autograd (:mod:`~idrak.core.autograd`, one VJP per op), decompositions of the optional ops
(:mod:`~idrak.core.decompositions`), creation functions (:mod:`~idrak.core.creation`), the
module-level functions (:mod:`~idrak.core.toplevel`) and the counter-based RNG
(:mod:`~idrak.core.random`).

The top-level ``idrak`` namespace is assembled from these modules' ``__all__``.
"""

from __future__ import annotations
