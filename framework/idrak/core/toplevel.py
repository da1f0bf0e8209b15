"""Module-level spellings of Tensor methods (``idrak.exp(x)``, ``idrak.where(c, a, b)``, ...)."""

from __future__ import annotations

from typing import Any

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
    from idrak.core.creation import arange

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


def _method(name: str) -> Any:
    def f(x: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(x, name)(*args, **kwargs)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``idrak.{name}(x, ...)`` is ``x.{name}(...)``; see :meth:`Tensor.{name}`."
    return f


abs = _method("abs")
add = _method("add")
all = _method("all")
amax = _method("amax")
amin = _method("amin")
any = _method("any")
argmax = _method("argmax")
argmin = _method("argmin")
broadcast_to = _method("broadcast_to")
ceil = _method("ceil")
chunk = _method("chunk")
clamp = _method("clamp")
clip = _method("clip")
cos = _method("cos")
cumsum = _method("cumsum")
div = _method("div")
erf = _method("erf")
erfc = _method("erfc")
exp = _method("exp")
exp2 = _method("exp2")
expm1 = _method("expm1")
flatten = _method("flatten")
flip = _method("flip")
floor = _method("floor")
gather = _method("gather")
gelu = _method("gelu")
index_select = _method("index_select")
isfinite = _method("isfinite")
isinf = _method("isinf")
isnan = _method("isnan")
lerp = _method("lerp")
log = _method("log")
log1p = _method("log1p")
log2 = _method("log2")
log_softmax = _method("log_softmax")
logical_not = _method("logical_not")
logsumexp = _method("logsumexp")
masked_fill = _method("masked_fill")
matmul = _method("matmul")
max = _method("max")
maximum = _method("maximum")
mean = _method("mean")
min = _method("min")
minimum = _method("minimum")
mul = _method("mul")
narrow = _method("narrow")
norm = _method("norm")
permute = _method("permute")
pow = _method("pow")
prod = _method("prod")
relu = _method("relu")
repeat_interleave = _method("repeat_interleave")
reshape = _method("reshape")
round = _method("round")
rsqrt = _method("rsqrt")
scatter_add = _method("scatter_add")
sigmoid = _method("sigmoid")
sign = _method("sign")
silu = _method("silu")
sin = _method("sin")
softmax = _method("softmax")
split = _method("split")
sqrt = _method("sqrt")
square = _method("square")
squeeze = _method("squeeze")
std = _method("std")
sub = _method("sub")
sum = _method("sum")
tanh = _method("tanh")
tile = _method("tile")
transpose = _method("transpose")
trunc = _method("trunc")
unflatten = _method("unflatten")
unsqueeze = _method("unsqueeze")
var = _method("var")
