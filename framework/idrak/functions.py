"""Module-level spellings of Tensor methods (``idrak.exp(x)``, ``idrak.where(c, a, b)``, ...)."""

from __future__ import annotations

from typing import Any

from . import lazy as _lazy
from ._movement import cat, stack
from .tensor import Tensor, broadcast_shapes

__all__ = [
    "abs", "argmax", "argmin", "broadcast_shapes", "cat", "clamp", "concat", "cos", "exp",
    "flatten", "log", "logsumexp", "matmul", "maximum", "mean", "minimum", "one_hot", "realize",
    "relu", "sigmoid", "sin", "softmax", "sqrt", "stack", "sum", "tanh", "where",
]

concat = cat


def realize(*tensors: Tensor) -> None:
    """Compute all given tensors in one schedule (shared work runs once)."""
    _lazy.realize(*[t.lazy for t in tensors if t.lazy.buf is None])


def where(condition: Tensor, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (tensors or scalars, broadcast)."""
    return condition._select(input, other)


def one_hot(x: Tensor, num_classes: int = -1) -> Tensor:
    """(..., ) int64 class indices -> (..., num_classes) int64 one-hot rows.

    Raises:
        ValueError: ``num_classes`` smaller than the largest index + 1.
    """
    from .creation import arange

    if x.dtype.kind not in "iu":
        raise TypeError(f"one_hot needs an integer tensor, got {x.dtype}")
    if num_classes < 0:
        num_classes = int(x.amax().item()) + 1 if x.numel() else 0
    return (x.unsqueeze(-1) == arange(num_classes, device=x.device)).cast("int64")


def _method(name: str) -> Any:
    def f(x: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(x, name)(*args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"``idrak.{name}(x, ...)`` is ``x.{name}(...)``; see :meth:`Tensor.{name}`."
    return f


abs = _method("abs")
argmax = _method("argmax")
argmin = _method("argmin")
clamp = _method("clamp")
cos = _method("cos")
exp = _method("exp")
flatten = _method("flatten")
log = _method("log")
logsumexp = _method("logsumexp")
matmul = _method("matmul")
maximum = _method("maximum")
mean = _method("mean")
minimum = _method("minimum")
relu = _method("relu")
sigmoid = _method("sigmoid")
sin = _method("sin")
softmax = _method("softmax")
sqrt = _method("sqrt")
sum = _method("sum")
tanh = _method("tanh")
