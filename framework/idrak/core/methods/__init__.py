"""The Tensor's methods, in mixins split by concern; :class:`~idrak.core.tensor.Tensor` inherits
them all. Each mixin builds on the primitive hooks declared by
:class:`~idrak.core.methods.base.TensorBase`."""

from __future__ import annotations

from idrak.core.methods.activation import ActivationMixin
from idrak.core.methods.conversion import ConvertMixin
from idrak.core.methods.elementwise import MathMixin
from idrak.core.methods.indexing import IndexingMixin
from idrak.core.methods.like import LikeMixin
from idrak.core.methods.movement import MovementMixin
from idrak.core.methods.neural import NNOpsMixin
from idrak.core.methods.reduce import ReduceMixin

__all__ = [
    "ActivationMixin",
    "ConvertMixin",
    "IndexingMixin",
    "LikeMixin",
    "MathMixin",
    "MovementMixin",
    "NNOpsMixin",
    "ReduceMixin",
]
