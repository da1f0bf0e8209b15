"""The Tensor's methods, in mixins split by concern; :class:`~idrak.core.tensor.Tensor` inherits
them all. Each mixin builds on the primitive hooks declared by
:class:`~idrak.core.methods.base.TensorBase`."""

from __future__ import annotations

from idrak.core.methods.activation import ActivationMixin
from idrak.core.methods.activation_more import MoreActivationMixin
from idrak.core.methods.conversion import ConvertMixin
from idrak.core.methods.elementwise import MathMixin
from idrak.core.methods.indexing import IndexingMixin
from idrak.core.methods.inplace import InplaceMixin
from idrak.core.methods.like import LikeMixin
from idrak.core.methods.matrix import MatrixMixin
from idrak.core.methods.movement import MovementMixin
from idrak.core.methods.neural import NNOpsMixin
from idrak.core.methods.pairwise import PairwiseMixin
from idrak.core.methods.reduce import ReduceMixin
from idrak.core.methods.sampling import SamplingMixin
from idrak.core.methods.scatter import ScatterMixin
from idrak.core.methods.sorting import SortingMixin
from idrak.core.methods.trig import TrigMixin

__all__ = [
    "ActivationMixin",
    "ConvertMixin",
    "IndexingMixin",
    "InplaceMixin",
    "LikeMixin",
    "MathMixin",
    "MatrixMixin",
    "MoreActivationMixin",
    "MovementMixin",
    "NNOpsMixin",
    "PairwiseMixin",
    "ReduceMixin",
    "SamplingMixin",
    "ScatterMixin",
    "SortingMixin",
    "TrigMixin",
]
