"""Module-level spellings of Tensor methods (``idrak.exp(x)``, ``idrak.where(c, a, b)``, ...)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from idrak.core.creation import arange
from idrak.core.methods.movement import cat, stack
from idrak.core.tensor import Tensor, broadcast_shapes
from idrak.engine import lazy as _lazy
from idrak.engine.lazy import eager, is_eager

__all__ = [
    "abs",
    "add",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "broadcast_shapes",
    "broadcast_to",
    "cat",
    "ceil",
    "chunk",
    "clamp",
    "clip",
    "concat",
    "cos",
    "cumsum",
    "div",
    "eager",
    "erf",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "flatten",
    "flip",
    "floor",
    "gather",
    "gelu",
    "index_select",
    "is_eager",
    "isfinite",
    "isinf",
    "isnan",
    "lerp",
    "log",
    "log1p",
    "log2",
    "log_softmax",
    "logical_not",
    "logsumexp",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "narrow",
    "norm",
    "one_hot",
    "permute",
    "pow",
    "prod",
    "realize",
    "relu",
    "repeat_interleave",
    "reshape",
    "round",
    "rsqrt",
    "scatter_add",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "tanh",
    "tile",
    "transpose",
    "trunc",
    "unflatten",
    "unsqueeze",
    "var",
    "where",
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
        ValueError: ``num_classes`` smaller than the largest index + 1, or a negative index
            (checked on the host: the indices are read, as torch does).
    """
    if x.dtype.kind not in "iu":
        raise TypeError(f"one_hot needs an integer tensor, got {x.dtype}")
    if num_classes < 0:
        num_classes = int(x.amax().item()) + 1 if x.numel() else 0
    if x.numel():
        lo, hi = int(x.amin().item()), int(x.amax().item())
        if lo < 0 or hi >= num_classes:
            raise ValueError(
                f"one_hot: class values must be in [0, {num_classes}), got {lo if lo < 0 else hi}"
            )
    return (x.unsqueeze(-1) == arange(num_classes, device=x.device)).cast("int64")


P = ParamSpec("P")
R = TypeVar("R")


def _function(method: Callable[Concatenate[Tensor, P], R]) -> Callable[Concatenate[Tensor, P], R]:
    """``idrak.NAME(input, ...)`` for the Tensor method ``NAME``: same parameters (``self``
    spelled ``input``, as PyTorch does), same types, the method's docstring."""
    name = method.__name__

    def f(input: Tensor, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return getattr(input, name)(*args, **kwargs)

    sig = inspect.signature(method)
    params = list(sig.parameters.values())
    params[0] = params[0].replace(name="input", kind=inspect.Parameter.POSITIONAL_ONLY)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = method.__doc__ or f"``idrak.{name}(x, ...)`` is ``x.{name}(...)``."
    f.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    f.__module__ = __name__
    return f


abs = _function(Tensor.abs)
add = _function(Tensor.add)
all = _function(Tensor.all)
amax = _function(Tensor.amax)
amin = _function(Tensor.amin)
any = _function(Tensor.any)
argmax = _function(Tensor.argmax)
argmin = _function(Tensor.argmin)
broadcast_to = _function(Tensor.broadcast_to)
ceil = _function(Tensor.ceil)
chunk = _function(Tensor.chunk)
clamp = _function(Tensor.clamp)
clip = _function(Tensor.clamp)  # Tensor.clip is Tensor.clamp
cos = _function(Tensor.cos)
cumsum = _function(Tensor.cumsum)
div = _function(Tensor.div)
erf = _function(Tensor.erf)
erfc = _function(Tensor.erfc)
exp = _function(Tensor.exp)
exp2 = _function(Tensor.exp2)
expm1 = _function(Tensor.expm1)
flatten = _function(Tensor.flatten)
flip = _function(Tensor.flip)
floor = _function(Tensor.floor)
gather = _function(Tensor.gather)
gelu = _function(Tensor.gelu)
index_select = _function(Tensor.index_select)
isfinite = _function(Tensor.isfinite)
isinf = _function(Tensor.isinf)
isnan = _function(Tensor.isnan)
lerp = _function(Tensor.lerp)
log = _function(Tensor.log)
log1p = _function(Tensor.log1p)
log2 = _function(Tensor.log2)
log_softmax = _function(Tensor.log_softmax)
logical_not = _function(Tensor.logical_not)
logsumexp = _function(Tensor.logsumexp)
masked_fill = _function(Tensor.masked_fill)
matmul = _function(Tensor.matmul)
max = _function(Tensor.max)
maximum = _function(Tensor.maximum)
mean = _function(Tensor.mean)
min = _function(Tensor.min)
minimum = _function(Tensor.minimum)
mul = _function(Tensor.mul)
narrow = _function(Tensor.narrow)
norm = _function(Tensor.norm)
permute = _function(Tensor.permute)
pow = _function(Tensor.pow)
prod = _function(Tensor.prod)
relu = _function(Tensor.relu)
repeat_interleave = _function(Tensor.repeat_interleave)
reshape = _function(Tensor.reshape)
round = _function(Tensor.round)
rsqrt = _function(Tensor.rsqrt)
scatter_add = _function(Tensor.scatter_add)
sigmoid = _function(Tensor.sigmoid)
sign = _function(Tensor.sign)
silu = _function(Tensor.silu)
sin = _function(Tensor.sin)
softmax = _function(Tensor.softmax)
split = _function(Tensor.split)
sqrt = _function(Tensor.sqrt)
square = _function(Tensor.square)
squeeze = _function(Tensor.squeeze)
std = _function(Tensor.std)
sub = _function(Tensor.sub)
sum = _function(Tensor.sum)
tanh = _function(Tensor.tanh)
tile = _function(Tensor.tile)
transpose = _function(Tensor.transpose)
trunc = _function(Tensor.trunc)
unflatten = _function(Tensor.unflatten)
unsqueeze = _function(Tensor.unsqueeze)
var = _function(Tensor.var)
