"""The Tensor API against PyTorch and NumPy, as a table of op specs (DESIGN.md §9.10).

Every :class:`OpSpec` row names an op, an idrak function, reference functions and the inputs to
draw. Each row runs on every available backend, and once more on each backend with its optional
fast paths hidden (``/required``) so idrak's reference decompositions are checked too:

- forward: values against NumPy float64 (``np_ref``) and PyTorch float64 (``fn`` run on torch),
  and the output dtype against PyTorch at the tested dtype;
- gradients (float64, differentiable rows): against central finite differences of idrak's own
  forward, and against ``torch.autograd`` when torch is importable.

Row functions take a namespace first (``m``): :data:`I` for idrak, :data:`T` for torch, so one
lambda serves both (``lambda m, x: m.cat([x, x], 1)``).

Below the table: type promotion, creation, conversion, metadata, repr, edge values (NaN/inf),
empty and 0-d tensors, and op-write-time errors.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from _gradcheck import as_list, assert_close, idrak_numpy_fn, numerical_grad

import idrak
import idrak.runtime.plugins

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the torch comparisons skip; NumPy references and gradchecks still run
    torch = None  # type: ignore[assignment]
    F = None  # type: ignore[assignment]

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
# torch notes that padding="same" with an even kernel copies the input; the row tests exactly that
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


# ---------------------------------------------------------------------------------------------
# namespaces: one spelling for idrak and torch
class NS:
    """``base``'s attributes, with some overridden (functional spellings that differ)."""

    def __init__(self, base: Any, **over: Any) -> None:
        self._base, self._over = base, over

    def __getattr__(self, name: str) -> Any:
        if name in self._over:
            return self._over[name]
        return getattr(self._base, name)


def _m(name: str) -> Callable[..., Any]:
    return lambda x, *a, **k: getattr(x, name)(*a, **k)


I = NS(
    idrak,
    **{
        n: _m(n)
        for n in (
            "pad",
            "conv2d",
            "max_pool2d",
            "avg_pool2d",
            "gelu",
            "silu",
            "softplus",
            "logsigmoid",
            "leaky_relu",
            "elu",
            "mish",
            "linear",
            "log_softmax",
            "relu6",
        )
    },
)
T = NS(
    torch,
    **(
        {}
        if torch is None
        else {
            "pad": F.pad,
            "conv2d": F.conv2d,
            "max_pool2d": F.max_pool2d,
            "avg_pool2d": F.avg_pool2d,
            "gelu": F.gelu,
            "silu": F.silu,
            "softplus": F.softplus,
            "logsigmoid": F.logsigmoid,
            "leaky_relu": F.leaky_relu,
            "elu": F.elu,
            "mish": F.mish,
            "linear": F.linear,
            "log_softmax": F.log_softmax,
            "relu6": F.relu6,
            "one_hot": F.one_hot,
        }
    ),
)


# ---------------------------------------------------------------------------------------------
# the table
@dataclass(frozen=True)
class In:
    """One input: its shape and how to draw it.

    kind: ``normal``, ``pos`` (0.5..2), ``unit`` (-0.9..0.9), ``away`` (|x| in 0.2..2, away from
    kinks at 0), ``distinct`` (well-separated values: no ties for max/sort-like ops), ``smallint``
    (small integers as floats, so equality happens), ``int`` (``lo..hi``), ``bool``.
    dtype: a fixed dtype (indices, masks); ``None`` follows the dtype under test.
    diff: whether gradients are checked for it (float inputs only).
    """

    shape: tuple[int, ...]
    kind: str = "normal"
    dtype: str | None = None
    diff: bool = True
    lo: int = 0
    hi: int = 5
    value: Any = None


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable[..., Any]  # fn(namespace, *tensors)
    inputs: tuple[In, ...]
    np_ref: Callable[..., Any] | None = None  # np_ref(*float64 arrays)
    dtypes: tuple[str, ...] = ("float32", "float64")
    grad: bool = True
    rtol: float | None = None
    atol: float | None = None
    grad_tol: float = 1e-6
    eps: float = 1e-6
    fd: bool = True  # False where finite differences are meaningless (ties, float32 rounding)

    def __str__(self) -> str:
        return self.name


def S(name: str, fn: Callable[..., Any], *inputs: In | tuple[int, ...], **kw: Any) -> OpSpec:
    ins = tuple(i if isinstance(i, In) else In(i) for i in inputs)
    return OpSpec(name, fn, ins, **kw)


FLOAT = ("float32", "float64")
INTS = ("int32", "int64")
NUM = ("int32", "int64", "float32", "float64")
A = (3, 4)


def unary(name: str, method: str, kind: str = "normal", np_ref: Any = None, **kw: Any) -> OpSpec:
    return S(name, lambda m, x: getattr(x, method)(), In(A, kind), np_ref=np_ref, **kw)


SPECS: list[OpSpec] = [
    # arithmetic, broadcasting, scalars on either side ------------------------------------------
    S("add", lambda m, a, b: a + b, A, A, np_ref=np.add, dtypes=NUM),
    S("add_bcast", lambda m, a, b: a + b, (3, 1), (1, 4), np_ref=np.add, dtypes=NUM),
    S("add_bcast_rank", lambda m, a, b: a + b, (4,), (2, 3, 4), np_ref=np.add),
    S("add_scalar_r", lambda m, a: a + 2.5, A, np_ref=lambda a: a + 2.5),
    S("add_scalar_l", lambda m, a: 2.5 + a, A, np_ref=lambda a: 2.5 + a),
    S("add_int_scalar", lambda m, a: a + 2, A, dtypes=NUM),
    S("add_alpha", lambda m, a, b: a.add(b, alpha=2), A, A),
    S("add_0d", lambda m, a, b: a + b, (), (3,), np_ref=np.add),
    S("sub", lambda m, a, b: a - b, (3, 1), (4,), np_ref=np.subtract, dtypes=NUM),
    S("rsub", lambda m, a: 2 - a, A, np_ref=lambda a: 2 - a, dtypes=NUM),
    S("mul", lambda m, a, b: a * b, (2, 1, 4), (3, 1), np_ref=np.multiply, dtypes=NUM),
    S("rmul", lambda m, a: 3 * a, A, np_ref=lambda a: 3 * a, dtypes=NUM),
    S("div", lambda m, a, b: a / b, A, In((4,), "away"), np_ref=np.divide),
    S(
        "div_int",
        lambda m, a, b: a / b,
        In(A, "int", lo=-9, hi=9),
        In(A, "int", lo=1, hi=4),
        dtypes=INTS,
        grad=False,
    ),
    S("rdiv", lambda m, a: 2 / a, In(A, "away"), np_ref=lambda a: 2 / a),
    S(
        "floor_divide",
        lambda m, a, b: a // b,
        In(A, "int", lo=-9, hi=9),
        In(A, "int", lo=1, hi=4),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "floor_divide_neg",
        lambda m, a, b: a.floor_divide(b),
        In(A, "int", lo=-9, hi=9),
        In(A, "int", lo=-4, hi=-1),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "div_trunc",
        lambda m, a, b: a.div(b, rounding_mode="trunc"),
        In(A, "int", lo=-9, hi=9),
        In(A, "int", lo=1, hi=4),
        dtypes=NUM,
        grad=False,
    ),
    S("remainder", lambda m, a, b: a % b, A, In(A, "pos")),
    S(
        "remainder_int",
        lambda m, a, b: a % b,
        In(A, "int", lo=-9, hi=9),
        In(A, "int", lo=-4, hi=-1),
        dtypes=INTS,
        grad=False,
    ),
    S("neg", lambda m, a: -a, A, np_ref=np.negative, dtypes=NUM),
    S("pow", lambda m, a, b: a**b, In(A, "pos"), A, np_ref=np.power),
    S("pow_int_exp", lambda m, a: a**3, A, np_ref=lambda a: a**3),
    S("pow_square", lambda m, a: a**2, A, np_ref=lambda a: a**2),
    S("pow_sqrt", lambda m, a: a**0.5, In(A, "pos"), np_ref=np.sqrt),
    S("pow_recip", lambda m, a: a**-1, In(A, "away"), np_ref=lambda a: 1 / a),
    S("pow_frac", lambda m, a: a**2.5, In(A, "pos"), np_ref=lambda a: a**2.5),
    S("pow_neg_base", lambda m, a, b: a.pow(b), In(A, "away"), In(A, "smallint", diff=False)),
    S("rpow", lambda m, a: 2**a, A, np_ref=lambda a: 2**a),
    S("pow_int", lambda m, a: a**2, In(A, "int", lo=-5, hi=5), dtypes=INTS, grad=False),
    S(
        "maximum",
        lambda m, a, b: m.maximum(a, b),
        In(A, "distinct"),
        In((4,), "distinct"),
        np_ref=np.maximum,
        dtypes=NUM,
    ),
    S(
        "minimum",
        lambda m, a, b: m.minimum(a, b),
        In(A, "distinct"),
        In((3, 1), "distinct"),
        np_ref=np.minimum,
        dtypes=NUM,
    ),
    S("maximum_ties", lambda m, a: m.maximum(a, a), A),
    # comparisons, logic, where ------------------------------------------------------------------
    S(
        "lt",
        lambda m, a, b: a < b,
        In(A, "smallint"),
        In((4,), "smallint"),
        np_ref=np.less,
        dtypes=NUM,
        grad=False,
    ),
    S(
        "le",
        lambda m, a, b: a <= b,
        In(A, "smallint"),
        In(A, "smallint"),
        np_ref=np.less_equal,
        dtypes=NUM,
        grad=False,
    ),
    S("gt_scalar", lambda m, a: a > 0.5, In(A, "smallint"), dtypes=NUM, grad=False),
    S("ge_scalar_l", lambda m, a: 1 >= a, In(A, "smallint"), dtypes=NUM, grad=False),
    S(
        "eq",
        lambda m, a, b: a == b,
        In(A, "smallint"),
        In(A, "smallint"),
        np_ref=np.equal,
        dtypes=NUM,
        grad=False,
    ),
    S(
        "ne",
        lambda m, a, b: a != b,
        In(A, "smallint"),
        In((3, 1), "smallint"),
        np_ref=np.not_equal,
        dtypes=NUM,
        grad=False,
    ),
    S(
        "logical",
        lambda m, a, b: [a & b, a | b, a ^ b, ~a],
        In(A, "bool"),
        In(A, "bool"),
        dtypes=("bool",),
        grad=False,
    ),
    S("logical_not", lambda m, a: a.logical_not(), In(A, "smallint"), dtypes=NUM, grad=False),
    S("where", lambda m, c, a, b: m.where(c, a, b), In(A, "bool", "bool"), A, A, np_ref=np.where),
    S(
        "where_bcast",
        lambda m, c, a, b: m.where(c, a, b),
        In((3, 1), "bool", "bool"),
        (4,),
        (),
        np_ref=np.where,
    ),
    S("where_scalar", lambda m, c, a: m.where(c, a, 0.0), In(A, "bool", "bool"), A),
    S("where_method", lambda m, c, a, b: a.where(c, b), In(A, "bool", "bool"), A, A),
    S("masked_fill", lambda m, c, a: a.masked_fill(c, -1.5), In(A, "bool", "bool"), A),
    S(
        "isnan_isinf",
        lambda m, a: [a.isnan(), a.isinf(), a.isfinite()],
        In((6,), value=[0.0, math.nan, math.inf, -math.inf, 1.5, -2.0]),
        grad=False,
    ),
    # unary math ---------------------------------------------------------------------------------
    unary("exp", "exp", np_ref=np.exp),
    unary("log", "log", "pos", np_ref=np.log),
    unary("sqrt", "sqrt", "pos", np_ref=np.sqrt),
    unary("rsqrt", "rsqrt", "pos", np_ref=lambda x: 1 / np.sqrt(x)),
    unary("reciprocal", "reciprocal", "away", np_ref=np.reciprocal),
    unary("sin", "sin", np_ref=np.sin),
    unary("cos", "cos", np_ref=np.cos),
    unary("tanh", "tanh", np_ref=np.tanh),
    unary("sigmoid", "sigmoid", np_ref=lambda x: 1 / (1 + np.exp(-x))),
    unary("relu", "relu", "away", np_ref=lambda x: np.maximum(x, 0)),
    unary("abs", "abs", "away", np_ref=np.abs),
    unary("sign", "sign", "away", np_ref=np.sign),
    unary("floor", "floor", np_ref=np.floor),
    unary("ceil", "ceil", np_ref=np.ceil),
    unary("round", "round", np_ref=np.round),
    unary("trunc", "trunc", np_ref=np.trunc),
    unary("frac", "frac"),
    unary("exp2", "exp2", np_ref=np.exp2),
    unary("log2", "log2", "pos", np_ref=np.log2),
    unary("log10", "log10", "pos", np_ref=np.log10),
    unary("log1p", "log1p", "pos", np_ref=np.log1p),
    unary("expm1", "expm1", np_ref=np.expm1),
    unary("square", "square", np_ref=np.square),
    unary("erf", "erf"),
    unary("erfc", "erfc"),
    S("erfc_tail", lambda m, x: x.erfc(), In((6,), value=[-3, 0.3, 2, 5, 9, 20.0])),
    S("erf_wide", lambda m, x: x.erf(), In((40,), value=np.linspace(-6, 6, 40))),
    S("gelu", lambda m, x: m.gelu(x), In((40,), value=np.linspace(-8, 8, 40))),
    S("gelu_tanh", lambda m, x: m.gelu(x, approximate="tanh"), A),
    S("silu", lambda m, x: m.silu(x), A),
    S("softplus", lambda m, x: m.softplus(x), In((6,), value=[-30, -2, 0.5, 3, 19, 25.0])),
    S("logsigmoid", lambda m, x: m.logsigmoid(x), In((5,), value=[-40, -2, 0.5, 3, 40.0])),
    S("leaky_relu", lambda m, x: m.leaky_relu(x, 0.1), In(A, "away")),
    S("elu", lambda m, x: m.elu(x), In(A, "away")),
    S("relu6", lambda m, x: m.relu6(x * 4), In(A, "away")),
    S("mish", lambda m, x: m.mish(x), A),
    S("clamp", lambda m, x: x.clamp(-0.5, 0.5), A, np_ref=lambda x: np.clip(x, -0.5, 0.5)),
    S("clamp_min", lambda m, x: x.clamp(min=0.1), A, dtypes=FLOAT),
    S(
        "clamp_max_int",
        lambda m, x: x.clamp(max=2),
        In(A, "int", lo=-5, hi=5),
        dtypes=INTS,
        grad=False,
    ),
    S(
        "clamp_tensor",
        lambda m, x, lo, hi: x.clamp(lo, hi),
        A,
        In((4,), "unit", diff=False),
        In((4,), "pos", diff=False),
    ),
    S("clip", lambda m, x: x.clip(-1, 1), A),
    S("lerp", lambda m, a, b: a.lerp(b, 0.3), A, A),
    S(
        "abs_int",
        lambda m, x: [x.abs(), x.sign()],
        In(A, "int", lo=-5, hi=5),
        dtypes=INTS,
        grad=False,
    ),
    S(
        "round_ties",
        lambda m, x: x.round(),
        In((8,), value=[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.4]),
        grad=False,
    ),
    S("round_decimals", lambda m, x: x.round(decimals=2), A, grad=False),
    # reductions ---------------------------------------------------------------------------------
    S("sum", lambda m, x: x.sum(), A, np_ref=np.sum, dtypes=NUM),
    S(
        "sum_dim",
        lambda m, x: [x.sum(1), x.sum(-1, keepdim=True), x.sum((0, 2))],
        (2, 3, 4),
        dtypes=NUM,
    ),
    S("sum_bool", lambda m, x: [x.sum(), x.sum(0)], In(A, "bool"), dtypes=("bool",), grad=False),
    S("mean", lambda m, x: [x.mean(), x.mean(0), x.mean((0, 1), keepdim=True)], (2, 3, 4)),
    S("max_all", lambda m, x: [x.max(), x.min()], In(A, "distinct"), dtypes=NUM),
    S("max_dim", lambda m, x: [*x.max(1), *x.min(0, keepdim=True)], In(A, "distinct"), dtypes=NUM),
    S("max_ties", lambda m, x: [x.max(), x.amax(1)], In(A, "smallint"), fd=False),
    S(
        "amax_amin",
        lambda m, x: [x.amax((0, 2)), x.amin(-1, keepdim=True)],
        In((2, 3, 4), "distinct"),
        dtypes=NUM,
    ),
    S(
        "argmax",
        lambda m, x: [x.argmax(), x.argmax(0), x.argmax(1, keepdim=True)],
        In(A, "distinct"),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "argmin",
        lambda m, x: [x.argmin(), x.argmin(1), x.argmin(0, keepdim=True)],
        In(A, "distinct"),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "argmax_ties",
        lambda m, x: [x.argmax(1), x.argmin(1)],
        In(A, "smallint", lo=-1, hi=2),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "var",
        lambda m, x: [
            x.var(),
            x.var(1),
            x.var(dim=0, correction=0),
            x.var(dim=1, correction=2, keepdim=True),
        ],
        (4, 5),
    ),
    S("std", lambda m, x: [x.std(), x.std(0), x.std(dim=1, correction=0)], (4, 5)),
    S(
        "prod",
        lambda m, x: [x.prod(), x.prod(1), x.prod(0, keepdim=True)],
        In((3, 5), "away"),
        rtol=1e-5,
    ),
    S(
        "prod_int",
        lambda m, x: [x.prod(), x.prod(1)],
        In(A, "int", lo=-3, hi=4),
        dtypes=INTS,
        grad=False,
    ),
    S(
        "logsumexp",
        lambda m, x: [x.logsumexp(1), x.logsumexp((0, 1)), x.logsumexp(0, keepdim=True)],
        (3, 4),
    ),
    S("softmax", lambda m, x: [x.softmax(-1), x.softmax(0)], A),
    S("log_softmax", lambda m, x: [m.log_softmax(x, -1), m.log_softmax(x, 0)], A),
    S("cumsum", lambda m, x: [x.cumsum(0), x.cumsum(1), x.cumsum(-1)], (5, 7), dtypes=NUM),
    S("cumprod", lambda m, x: x.cumprod(1), In((3, 5), "away")),
    S(
        "all_any",
        lambda m, x: [x.all(), x.any(), x.all(1), x.any(0, keepdim=True)],
        In(A, "bool"),
        dtypes=("bool",),
        grad=False,
    ),
    S(
        "all_any_num",
        lambda m, x: [x.all(), x.any(1)],
        In(A, "int", lo=0, hi=3),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "norm",
        lambda m, x: [x.norm(), x.norm(1), x.norm(2, 1), x.norm(math.inf, 0)],
        In(A, "distinct"),
    ),
    # movement -----------------------------------------------------------------------------------
    S("reshape", lambda m, x: [x.reshape(4, 3), x.reshape(-1), x.view(2, -1, 2)], A, dtypes=NUM),
    S(
        "permute",
        lambda m, x: [x.permute(2, 0, 1), x.permute((1, 0, 2)), x.permute(-1, 1, 0)],
        (2, 3, 4),
        dtypes=NUM,
    ),
    S("transpose", lambda m, x: [x.transpose(0, 2), x.transpose(-1, 0), x.mT], (2, 3, 4)),
    S("T", lambda m, x: x.T, A),
    S("flatten", lambda m, x: [x.flatten(), x.flatten(1), x.flatten(0, 1)], (2, 3, 4)),
    S("unflatten", lambda m, x: [x.unflatten(1, (2, 2)), x.unflatten(0, (1, -1))], A),
    S(
        "squeeze",
        lambda m, x: [x.squeeze(), x.squeeze(0), x.squeeze((0, 2)), x.squeeze(1)],
        (1, 3, 1, 4),
    ),
    S("unsqueeze", lambda m, x: [x.unsqueeze(0), x.unsqueeze(-1), x.unsqueeze(1)], A),
    S(
        "expand",
        lambda m, x: [x.expand(2, 3, 4), x.expand(-1, 4), x.broadcast_to((3, 3, 4))],
        (3, 1),
    ),
    S("expand_as", lambda m, x, y: x.expand_as(y), (1, 4), In(A, diff=False)),
    S(
        "pad",
        lambda m, x: [
            m.pad(x, (1, 2)),
            m.pad(x, (1, 0, 0, 2), value=-1.0),
            m.pad(x, (-1, 1, 1, -1)),
        ],
        A,
    ),
    S(
        "cat",
        lambda m, a, b: [m.cat([a, b]), m.cat([a, a, b], 1), m.cat((b, a), -1)],
        (3, 2),
        (3, 2),
        dtypes=NUM,
    ),
    S("cat_mixed", lambda m, a, b: m.cat([a, b.double()], 0), (2, 2), (1, 2)),
    S("stack", lambda m, a, b: [m.stack([a, b]), m.stack([a, b], 1), m.stack([a, b], -1)], A, A),
    S("split", lambda m, x: [*x.split(2), *x.split([1, 3], 1), *x.split(3, -1)], (5, 4)),
    S("chunk", lambda m, x: [*x.chunk(3), *x.chunk(2, 1)], (5, 4)),
    S("unbind", lambda m, x: list(x.unbind(1)), A),
    S("narrow", lambda m, x: [x.narrow(1, 1, 2), x.narrow(0, -2, 2)], A),
    S("flip", lambda m, x: [x.flip(0), x.flip((0, 2)), x.flip(-1)], (2, 3, 4), dtypes=NUM),
    S("repeat", lambda m, x: [x.repeat(2, 1), x.repeat(2, 1, 3)], (2, 3)),
    S("tile", lambda m, x: [x.tile((2,)), x.tile((2, 2))], (2, 3)),
    S(
        "repeat_interleave",
        lambda m, x: [x.repeat_interleave(2), x.repeat_interleave(3, 1)],
        (2, 3),
    ),
    S("contiguous_clone", lambda m, x: [x.T.contiguous(), x.clone()], A),
    # indexing -----------------------------------------------------------------------------------
    S("index_int", lambda m, x: [x[1], x[-1], x[0, 2], x[1, -1]], A, dtypes=NUM),
    S(
        "index_slice",
        lambda m, x: [x[1:3], x[:, ::2], x[-3:-1, 1:], x[-100:2], x[3:100]],
        (5, 4),
        dtypes=NUM,
    ),
    S("index_step", lambda m, x: [x[1::3], x[::4], x[-7:-1:2], x[2:3:5]], (9,)),
    S(
        "index_none_ellipsis",
        lambda m, x: [x[None], x[..., 1], x[:, None, 1:], x[..., None], x[0, ...]],
        (2, 3, 4),
    ),
    S("index_empty_slice", lambda m, x: x[2:1], A, grad=False),
    S("index_tensor", lambda m, x, i: x[i], A, In((5,), "int", "int64", lo=-3, hi=3)),
    S("index_tensor_dim1", lambda m, x, i: x[:, i], A, In((2, 3), "int", "int64", hi=4)),
    S(
        "index_two_tensors",
        lambda m, x, i, j: x[i, j],
        (3, 4, 2),
        In((5,), "int", "int64", hi=3),
        In((5,), "int", "int64", hi=4),
    ),
    S(
        "index_nonadjacent",
        lambda m, x, i, j: x[i, :, j],
        (3, 2, 4),
        In((2, 1), "int", "int64", hi=3),
        In((3,), "int", "int64", hi=4),
    ),
    S(
        "index_adjacent_inner",
        lambda m, x, i, j: x[:, i, j],
        (2, 3, 4),
        In((5,), "int", "int64", hi=3),
        In((5,), "int", "int64", hi=4),
    ),
    S("index_list", lambda m, x: [x[[0, 2, 2]], x[:, [3, 0]]], A),
    S("index_mask", lambda m, x, k: x[k], A, In(A, "bool", "bool")),
    S(
        "index_mask_rows",
        lambda m, x, k: x[k],
        A,
        In((3,), value=[True, False, True], dtype="bool"),
    ),
    S(
        "index_mask_dim1",
        lambda m, x, k: x[:, k],
        A,
        In((4,), value=[False, True, True, False], dtype="bool"),
    ),
    S(
        "gather",
        lambda m, x, i: [x.gather(1, i), m.gather(x, 0, i[:2])],
        A,
        In((3, 3), "int", "int64", hi=3),
        dtypes=NUM,
    ),
    S(
        "scatter_add",
        lambda m, x, i, s: x.scatter_add(1, i, s),
        A,
        In((3, 2), "int", "int64", hi=4),
        (3, 2),
    ),
    S(
        "scatter_add_dim0",
        lambda m, x, i, s: x.scatter_add(0, i, s),
        (4, 3),
        In((5, 3), "int", "int64", hi=4),
        (5, 3),
    ),
    S(
        "index_select",
        lambda m, x, i: [x.index_select(0, i), x.index_select(1, i)],
        A,
        In((4,), "int", "int64", hi=3),
    ),
    S(
        "one_hot",
        lambda m, i: [m.one_hot(i, 5), m.one_hot(i)],
        In((2, 3), "int", "int64", hi=4),
        dtypes=("int64",),
        grad=False,
    ),
    # matmul -------------------------------------------------------------------------------------
    S("matmul", lambda m, a, b: a @ b, (3, 4), (4, 5), np_ref=np.matmul, rtol=1e-5),
    S("matmul_vec", lambda m, a, b, v: [v @ b, a @ v, v @ v], (3, 4), (4, 5), (4,), rtol=1e-5),
    S("matmul_batch", lambda m, a, b: a.matmul(b), (2, 3, 4), (4, 5), np_ref=np.matmul, rtol=1e-5),
    S(
        "matmul_bcast",
        lambda m, a, b: m.matmul(a, b),
        (2, 1, 3, 4),
        (5, 4, 2),
        np_ref=np.matmul,
        rtol=1e-5,
    ),
    S(
        "matmul_int",
        lambda m, a, b: a @ b,
        In(A, "int", lo=-3, hi=3),
        In((4, 2), "int", lo=-3, hi=3),
        dtypes=("int64",),
        grad=False,
    ),
    S("linear", lambda m, x, w, b: m.linear(x, w, b), (2, 3, 4), (5, 4), (5,), rtol=1e-5),
    S("dot", lambda m, a, b: a.dot(b), (4,), (4,)),
    # convolution and pooling --------------------------------------------------------------------
    S("conv2d", lambda m, x, w: m.conv2d(x, w), (1, 2, 5, 5), (3, 2, 3, 3), rtol=1e-5),
    S(
        "conv2d_bias_stride_pad",
        lambda m, x, w, b: m.conv2d(x, w, b, stride=2, padding=1),
        (2, 2, 5, 6),
        (3, 2, 3, 2),
        (3,),
        rtol=1e-5,
    ),
    S(
        "conv2d_dilation",
        lambda m, x, w: m.conv2d(x, w, dilation=2, padding=(2, 1)),
        (1, 1, 6, 6),
        (2, 1, 3, 3),
        rtol=1e-5,
    ),
    S(
        "conv2d_groups",
        lambda m, x, w: m.conv2d(x, w, groups=2, stride=(1, 2)),
        (1, 4, 5, 5),
        (4, 2, 2, 2),
        rtol=1e-5,
    ),
    S(
        "conv2d_same_3d",
        lambda m, x, w: m.conv2d(x, w, padding="same"),
        (2, 4, 4),
        (3, 2, 2, 3),
        rtol=1e-5,
    ),
    S("max_pool2d", lambda m, x: m.max_pool2d(x, 2), In((1, 2, 4, 6), "distinct")),
    S(
        "max_pool2d_pad",
        lambda m, x: m.max_pool2d(x, 3, stride=2, padding=1),
        In((1, 2, 5, 5), "distinct"),
    ),
    S(
        "max_pool2d_dilation",
        lambda m, x: m.max_pool2d(x, 2, stride=1, dilation=2),
        In((2, 1, 5, 5), "distinct"),
    ),
    S(
        "max_pool2d_ceil",
        lambda m, x: m.max_pool2d(x, 2, stride=2, ceil_mode=True),
        In((1, 1, 5, 5), "distinct"),
    ),
    S("avg_pool2d", lambda m, x: m.avg_pool2d(x, 2), (1, 2, 4, 6)),
    S("avg_pool2d_pad", lambda m, x: m.avg_pool2d(x, 3, stride=2, padding=1), (1, 2, 5, 5)),
    S(
        "avg_pool2d_nopadcount",
        lambda m, x: m.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        (1, 1, 5, 5),
    ),
    S("avg_pool2d_ceil", lambda m, x: m.avg_pool2d(x, 2, ceil_mode=True), (1, 1, 5, 5)),
    # conversions in the graph -------------------------------------------------------------------
    S("cast_roundtrip", lambda m, x: x.float().double() * 2, (3,), dtypes=("float64",), fd=False),
    S(
        "to_int",
        lambda m, x: [x.long(), x.int(), x.to(m.int16), x.bool()],
        In(A, "unit"),
        grad=False,
    ),
]

#: the numpy_ref of each row computes in float64, so it is used for float dtypes only
TOL = {
    "float16": (2e-3, 2e-3),
    "bfloat16": (2e-2, 2e-2),
    "float32": (2e-6, 2e-6),
    "float64": (1e-12, 1e-13),
}


# ---------------------------------------------------------------------------------------------
# backends: every available one, and each once more with its optional fast paths hidden
def _backend_params() -> list[str]:
    out = []
    for name in idrak.runtime.plugins.available_backends():
        out += [name, f"{name}/required"]
    return out


@pytest.fixture(params=_backend_params())
def device(request: pytest.FixtureRequest) -> Iterator[str]:
    """A device string; ``<name>/required`` hides the backend's optional ops (decompositions)."""
    name, _, variant = request.param.partition("/")
    be = idrak.runtime.plugins.get_backend(name)
    if not variant:
        yield name
        return
    caps = be.set_capabilities(dataclasses.replace(be.caps, optional_ops=frozenset()))
    try:
        yield name
    finally:
        be.set_capabilities(caps)


def _draw(spec: OpSpec, dtype: str) -> list[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
    out = []
    for i in spec.inputs:
        dt = np.dtype(i.dtype or dtype)
        if i.value is not None:
            out.append(np.asarray(i.value).astype(dt))
            continue
        n = math.prod(i.shape)
        if i.kind == "normal":
            a = rng.standard_normal(i.shape)
        elif i.kind == "pos":
            a = rng.uniform(0.5, 2.0, i.shape)
        elif i.kind == "unit":
            a = rng.uniform(-0.9, 0.9, i.shape)
        elif i.kind == "away":
            a = rng.uniform(0.2, 2.0, i.shape) * rng.choice([-1.0, 1.0], i.shape)
        elif i.kind == "distinct":
            a = (rng.permutation(n) - n / 2 + rng.uniform(0.1, 0.4, n)).reshape(i.shape) * 0.5
        elif i.kind == "smallint":
            a = rng.integers(-2, 3, i.shape)
        elif i.kind == "int":
            a = rng.integers(i.lo, i.hi, i.shape)
        elif i.kind == "bool":
            a = rng.random(i.shape) < 0.5
        else:
            raise ValueError(i.kind)
        if dt.kind in "iu" and a.dtype.kind == "f":
            a = np.round(a * 3)
        out.append(np.asarray(a).astype(dt))
    return out


def _run_idrak(spec: OpSpec, arrays: list[np.ndarray], device: str) -> list[idrak.Tensor]:
    ts = [idrak.tensor(a, device=device) for a in arrays]
    return as_list(spec.fn(I, *ts))


def _run_torch(spec: OpSpec, arrays: list[np.ndarray]) -> list[Any]:
    ts = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
    return as_list(spec.fn(T, *ts))


def _tol(spec: OpSpec, dtype: str) -> tuple[float, float]:
    rtol, atol = TOL.get(dtype, (0.0, 0.0))
    if dtype == "float32":
        rtol, atol = max(rtol, spec.rtol or 0), max(atol, spec.atol or 0)
    return rtol, atol


def _cases() -> list[Any]:
    return [pytest.param(s, d, id=f"{s.name}-{d}") for s in SPECS for d in s.dtypes]


def _widen(arrays: list[np.ndarray], spec: OpSpec) -> list[np.ndarray]:
    """The same values in float64 for float inputs (the reference precision)."""
    return [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]


@pytest.mark.parametrize(("spec", "dtype"), _cases())
def test_forward(spec: OpSpec, dtype: str, device: str) -> None:
    arrays = _draw(spec, dtype)
    outs = _run_idrak(spec, arrays, device)
    got = [o.numpy() for o in outs]
    rtol, atol = _tol(spec, dtype)
    checked = False
    if spec.np_ref is not None and np.dtype(dtype).kind == "f":
        ref = np.asarray(spec.np_ref(*_widen(arrays, spec)))
        assert_close(got[0], ref, rtol, atol, f"{spec.name} vs numpy")
        checked = True
    if torch is not None:
        same = _run_torch(spec, arrays)  # at the tested dtype: output dtypes must agree
        assert len(same) == len(outs), f"{spec.name}: {len(outs)} outputs, torch {len(same)}"
        for k, (o, t) in enumerate(zip(outs, same)):
            assert o.dtype.name == str(t.dtype).removeprefix("torch."), (
                f"{spec.name} output {k}: dtype {o.dtype.name}, torch {t.dtype}"
            )
            assert o.shape == tuple(t.shape), (
                f"{spec.name} output {k}: shape {o.shape} vs {tuple(t.shape)}"
            )
        wide = _run_torch(spec, _widen(arrays, spec)) if dtype != "float64" else same
        for k, (g, t) in enumerate(zip(got, wide)):
            assert_close(g, t.numpy(), rtol, atol, f"{spec.name} output {k} vs torch")
        checked = True
    if not checked:
        pytest.skip("no reference for this row without torch")


def _grad_cases(fd: bool = False) -> list[Any]:
    return [
        pytest.param(s, id=s.name)
        for s in SPECS
        if s.grad and "float64" in s.dtypes and (s.fd or not fd)
    ]


def _idrak_grads(
    spec: OpSpec, arrays: list[np.ndarray], cts: list[np.ndarray], device: str
) -> list[np.ndarray | None]:
    ts = [
        idrak.tensor(a, device=device, requires_grad=a.dtype.kind == "f" and i.diff)
        for a, i in zip(arrays, spec.inputs)
    ]
    outs = as_list(spec.fn(I, *ts))
    loss = None
    for o, c in zip(outs, cts):
        if o.dtype.is_floating_point and o.requires_grad:
            term = (o * idrak.tensor(c, device=device)).sum()
            loss = term if loss is None else loss + term
    assert loss is not None, f"{spec.name}: no output requires grad"
    loss.backward()
    return [None if t.grad is None else t.grad.numpy() for t in ts]


@pytest.mark.parametrize("spec", _grad_cases(fd=True))
def test_grad_finite_differences(spec: OpSpec, device: str) -> None:
    arrays = _draw(spec, "float64")
    with idrak.no_grad():
        outs = [o.numpy() for o in _run_idrak(spec, arrays, device)]
    rng = np.random.default_rng(1)
    cts = [rng.standard_normal(o.shape) for o in outs]
    got = _idrak_grads(spec, arrays, cts, device)
    wrt = [k for k, (a, i) in enumerate(zip(arrays, spec.inputs)) if a.dtype.kind == "f" and i.diff]
    fixed = {k: a for k, a in enumerate(arrays) if k not in wrt}
    f = idrak_numpy_fn(lambda *ts: spec.fn(I, *ts), device.partition("/")[0], fixed)
    fcts = [c if o.dtype.kind == "f" else np.zeros(o.shape) for c, o in zip(cts, outs)]
    num = numerical_grad(f, arrays, fcts, wrt=wrt, eps=spec.eps)
    for k, n in zip(wrt, num):
        g = got[k] if got[k] is not None else np.zeros_like(n)
        assert_close(g, n, 1e-5, spec.grad_tol, f"{spec.name}: d/d(input {k}) vs finite diff")


@needs_torch
@pytest.mark.parametrize("spec", _grad_cases())
def test_grad_vs_torch(spec: OpSpec, device: str) -> None:
    arrays = _draw(spec, "float64")
    with idrak.no_grad():
        outs = [o.numpy() for o in _run_idrak(spec, arrays, device)]
    rng = np.random.default_rng(2)
    cts = [rng.standard_normal(o.shape) for o in outs]
    got = _idrak_grads(spec, arrays, cts, device)
    ts = [
        torch.tensor(a, requires_grad=a.dtype.kind == "f" and i.diff)
        for a, i in zip(arrays, spec.inputs)
    ]
    touts = as_list(spec.fn(T, *ts))
    loss = sum(
        (o * torch.from_numpy(c)).sum()
        for o, c in zip(touts, cts)
        if o.dtype.is_floating_point and o.requires_grad
    )
    loss.backward()  # type: ignore[union-attr]
    for k, t in enumerate(ts):
        if t.requires_grad:
            ref = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            g = got[k] if got[k] is not None else np.zeros_like(ref)
            assert_close(g, ref, 1e-9, 1e-11, f"{spec.name}: d/d(input {k}) vs torch")


# ---------------------------------------------------------------------------------------------
# slicing with negative steps: NumPy's semantics (torch rejects negative steps)
@pytest.mark.parametrize(
    "key",
    [np.s_[::-1], np.s_[:, 3:0:-2], np.s_[-1:-6:-2, ::-3], np.s_[..., ::-1], np.s_[4:1:-1, 1]],
)
def test_negative_step_slices(key: Any, device: str) -> None:
    a = np.arange(20.0).reshape(5, 4)
    x = idrak.tensor(a, dtype="float64", device=device, requires_grad=True)
    y = x[key]
    np.testing.assert_array_equal(y.numpy(), a[key])
    y.sum().backward()
    expect = np.zeros_like(a)
    np.add.at(expect, key, 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), expect)


# ---------------------------------------------------------------------------------------------
# type promotion
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
#: PyTorch's table for pairs people get wrong (checked without torch too)
PROMOTE = [
    ("int8", "uint8", "int16"),
    ("int32", "float16", "float16"),
    ("bool", "int32", "int32"),
    ("uint8", "int64", "int64"),
    ("int16", "uint8", "int16"),
    ("bool", "float16", "float16"),
    ("int64", "float32", "float32"),
    ("float16", "float64", "float64"),
]


@pytest.mark.parametrize(("a", "b", "out"), PROMOTE)
def test_promotion_table(a: str, b: str, out: str, device: str) -> None:
    x, y = idrak.ones(2, dtype=a, device=device), idrak.ones(2, dtype=b, device=device)
    assert (x + y).dtype.name == out and (y * x).dtype.name == out
    assert idrak.where(x > 0, x, y).dtype.name == out


@needs_torch
@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_promotion_vs_torch(a: str, b: str, device: str) -> None:
    x, y = idrak.ones(3, dtype=a, device=device), idrak.ones(3, dtype=b, device=device)
    tx, ty = torch.ones(3, dtype=getattr(torch, a)), torch.ones(3, dtype=getattr(torch, b))
    want = str(torch.result_type(tx, ty)).removeprefix("torch.")
    if want != "bool":  # bool + bool is logical or in both
        assert (x + y).dtype.name == want, f"{a} + {b}"
        assert (x * y).dtype.name == want
    assert (x / y).dtype.name == str((tx / ty).dtype).removeprefix("torch.")
    # a 0-d tensor only counts when its category is higher
    z = idrak.ones((), dtype=b, device=device)
    tz = torch.ones((), dtype=getattr(torch, b))
    assert (x * z).dtype.name == str((tx * tz).dtype).removeprefix("torch."), f"{a}[3] * {b}[]"


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5])
def test_promotion_scalars(a: str, scalar: Any, device: str) -> None:
    x = idrak.ones(3, dtype=a, device=device)
    expect = {
        "b": a,
        "i": a if a != "bool" else "int64",
        "f": a if a.startswith("float") else "float32",
    }["b" if isinstance(scalar, bool) else "i" if isinstance(scalar, int) else "f"]
    if a == "bool" and isinstance(scalar, bool):
        ops = [x * scalar, scalar * x]
    else:
        # a bool operand of - raises (torch's rule): scalar - x only for numeric operands
        sub_ok = a != "bool" and not isinstance(scalar, bool)
        ops = [x * scalar, scalar * x, x + scalar, scalar - x if sub_ok else x + scalar]
    for r in ops:
        assert r.dtype.name == expect, f"{a} with {scalar!r}: {r.dtype.name}"
    if torch is not None:
        assert expect == str(
            torch.result_type(torch.ones(3, dtype=getattr(torch, a)), scalar)
        ).removeprefix("torch.")


def test_promotion_int_true_division(device: str) -> None:
    x = idrak.tensor([7, -7], device=device)
    assert (x / 2).dtype == idrak.float32 and (x / 2).tolist() == [3.5, -3.5]
    assert (x // 2).dtype == idrak.int64 and (x // 2).tolist() == [3, -4]
    assert (x * 0.5).dtype == idrak.float32
    assert (idrak.tensor([1], dtype="int8", device=device) + 1000).dtype == idrak.int8


# ---------------------------------------------------------------------------------------------
# creation
def test_tensor_infers_dtype(device: str) -> None:
    cases = [
        ((1, 2), "int64"),
        ((1, 2.5), "float32"),
        ((True, False), "bool"),
        ((True, 2), "int64"),
        (((1, 2.5), (True, 3)), "float32"),
    ]
    for data, want in cases:
        t = idrak.tensor(data, device=device)
        assert t.dtype.name == want, data
        assert t.tolist() == np.asarray(data, dtype=want).tolist()
    assert idrak.tensor(np.array([1, 2], dtype=np.int16), device=device).dtype == idrak.int16
    assert idrak.tensor(3.5, device=device).shape == ()
    assert idrak.tensor([], device=device).shape == (0,)
    t = idrak.tensor([idrak.tensor(1.0), idrak.tensor(2.0)], device=device)
    assert t.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError):
        idrak.tensor(["a"], device=device)


def test_factories(device: str) -> None:
    for f, v in ((idrak.zeros, 0), (idrak.ones, 1), (idrak.empty, 0)):
        for shape in ((2, 3), ((2, 3),), ([2, 3],)):
            t = f(*shape, device=device)
            assert t.shape == (2, 3) and t.dtype == idrak.float32
            if f is not idrak.empty:
                assert (t.numpy() == v).all()
        assert f(2, dtype="int32", device=device).dtype == idrak.int32
        assert f((), device=device).shape == ()
    assert idrak.full((2,), True, device=device).dtype == idrak.bool_
    assert idrak.full((2,), 3, device=device).dtype == idrak.int64
    assert idrak.full((2,), 1.5, device=device).tolist() == [1.5, 1.5]
    assert idrak.full(3, 2.0, dtype="float64", device=device).dtype == idrak.float64
    x = idrak.ones(2, 3, dtype="int32", device=device)
    for f in (idrak.zeros_like, idrak.ones_like, idrak.empty_like):
        assert f(x).shape == (2, 3) and f(x).dtype == idrak.int32
    assert idrak.full_like(x, 7).tolist() == [[7] * 3] * 2
    assert idrak.zeros_like(x, dtype="float64").dtype == idrak.float64
    assert idrak.ones(2, requires_grad=True, device=device).requires_grad
    with pytest.raises(ValueError, match="negative"):
        idrak.zeros(-1, device=device)


@pytest.mark.parametrize(
    "args",
    [
        (5,),
        (1, 4),
        (5, 0, -2),
        (1, 2, 0.25),
        (0, 1, 0.1),
        (-3, 3),
        (2.5,),
        (0, -1, -1),
        (10, 2, -3),
    ],
)
def test_arange(args: tuple[Any, ...], device: str) -> None:
    t = idrak.arange(*args, device=device)
    ref = np.arange(*args)
    assert t.shape == ref.shape
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-6)
    if torch is not None:
        assert t.dtype.name == str(torch.arange(*args).dtype).removeprefix("torch.")
    assert idrak.arange(3, dtype="float64", device=device).dtype == idrak.float64


@pytest.mark.parametrize(
    ("start", "end", "steps"), [(0, 1, 5), (-1, 1, 1), (3, -2, 7), (0, 1, 0), (0.1, 0.9, 33)]
)
def test_linspace(start: float, end: float, steps: int, device: str) -> None:
    t = idrak.linspace(start, end, steps, dtype="float64", device=device)
    np.testing.assert_allclose(t.numpy(), np.linspace(start, end, steps), rtol=0, atol=1e-15)
    if steps > 1:
        assert t.numpy()[0] == start and t.numpy()[-1] == end
    assert idrak.linspace(start, end, steps, device=device).dtype == idrak.float32


def test_eye(device: str) -> None:
    np.testing.assert_array_equal(idrak.eye(3, device=device).numpy(), np.eye(3))
    np.testing.assert_array_equal(
        idrak.eye(2, 4, dtype="int64", device=device).numpy(), np.eye(2, 4, dtype=np.int64)
    )
    assert idrak.eye(0, device=device).shape == (0, 0)


def test_random_factories_shapes(device: str) -> None:
    idrak.manual_seed(0)
    assert idrak.rand(2, 3, device=device).shape == (2, 3)
    assert idrak.rand((4,), dtype="float64", device=device).dtype == idrak.float64
    assert idrak.randn(3, device=device).dtype == idrak.float32
    r = idrak.randint(2, 5, (3, 4), device=device)
    assert r.shape == (3, 4) and r.dtype == idrak.int64
    assert idrak.randint(3, size=(2,), dtype="int32", device=device).dtype == idrak.int32
    x = idrak.ones(2, 2, dtype="float64", device=device)
    assert idrak.rand_like(x).dtype == idrak.float64 and idrak.randn_like(x).shape == (2, 2)
    assert idrak.rand(2, requires_grad=True, device=device).requires_grad


# ---------------------------------------------------------------------------------------------
# conversion and metadata
def test_dtype_conversion(device: str) -> None:
    x = idrak.tensor([-1.7, 1.7, 0.5, -0.0], device=device)
    assert x.long().tolist() == [-1, 1, 0, 0] and x.long().dtype == idrak.int64
    assert x.int().dtype == idrak.int32 and x.half().dtype == idrak.float16
    assert x.double().dtype == idrak.float64 and x.float() is x
    assert x.bool().tolist() == [True, True, True, False]
    assert x.to(idrak.int16).dtype == idrak.int16 and x.to("float64").dtype == idrak.float64
    assert x.to(int).dtype == idrak.int64 and x.to(dtype=bool).dtype == idrak.bool_
    assert x.type("int8").dtype == idrak.int8
    assert idrak.tensor([True, False], device=device).float().tolist() == [1.0, 0.0]
    if torch is not None:
        for dt in ("uint8", "int8", "int32"):
            v = [-1.7, 1.7, 130.2, -3.0]
            assert (
                idrak.tensor(v, device=device).to(dt).tolist()
                == torch.tensor(v).to(getattr(torch, dt)).tolist()
            )


def test_to_device_same_backend(device: str) -> None:
    x = idrak.tensor([1.0, 2.0], device=device, requires_grad=True)
    for target in (device, f"{device}:0", idrak.device(device)):
        y = x.to(target)
        assert y.device == x.device and y.tolist() == [1.0, 2.0]
        assert y.requires_grad
    y = x.to(device, "float64")
    assert y.dtype == idrak.float64 and y.requires_grad
    y.sum().backward()  # same-device .to keeps the graph
    assert x.grad.tolist() == [1.0, 1.0]
    assert idrak.ones(2).cpu().device == idrak.device("cpu")


def test_metadata_and_values(device: str) -> None:
    x = idrak.arange(6, device=device).reshape(2, 3)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(-1) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.dtype == idrak.int64 and x.device == idrak.device(device)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.int64
    a[0, 0] = 100  # a copy: the tensor does not change
    assert x[0, 0].item() == 0
    assert isinstance(x[1, 2].item(), int) and isinstance(x.float()[0, 0].item(), float)
    assert isinstance(idrak.tensor(True).item(), bool)
    assert x.is_leaf and not x.requires_grad and x.element_size() == 8
    with pytest.raises(ValueError, match="one element"):
        x.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    assert bool(idrak.tensor([1.0])) and float(idrak.tensor(2.5)) == 2.5 and int(x[1, 1]) == 4
    assert [t.tolist() for t in x] == [[0, 1, 2], [3, 4, 5]]
    assert f"{idrak.tensor(2.0):.2f}" == "2.00"


REPR_CASES: list[tuple[Any, str | None]] = [
    ([1.0, 2.5, 3.0], None),
    ([1, 2, 3], None),
    ([True, False], None),
    (3.5, None),
    (7, None),
    ([1e-5, 2.0], None),
    ([1234.5678], None),
    ([[1.0, 2.0], [3.0, 4.0]], None),
    ([math.nan, 1.0, math.inf], None),
    ([0.0, -0.0], None),
    ([1e10, 1.0], None),
    ([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], None),
    (np.arange(30.0) / 3, "float32"),
    (np.arange(2000.0).reshape(40, 50) / 7, "float32"),
    (np.arange(1001), None),
    ([1, 2], "int8"),
    ([1.5, -2.0], "float64"),
    ([1.5], "float16"),
    ([[]], None),
]


@needs_torch
@pytest.mark.parametrize(("data", "dtype"), REPR_CASES)
def test_repr_like_torch(data: Any, dtype: str | None) -> None:
    x = idrak.tensor(data, dtype=dtype)
    t = (
        torch.tensor(np.asarray(data), dtype=getattr(torch, dtype) if dtype else None)
        if isinstance(data, np.ndarray)
        else torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    )
    assert repr(x) == repr(t).replace("torch.", "idrak.")
    assert str(x) == repr(x)


def test_repr_autograd_and_empty() -> None:
    x = idrak.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(idrak.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(idrak.zeros(0, dtype="int64")) == "tensor([], dtype=idrak.int64)"
    assert repr(idrak.zeros(2, dtype="float64")) == "tensor([0., 0.], dtype=idrak.float64)"


# ---------------------------------------------------------------------------------------------
# edge values, empty and 0-d tensors
def test_nan_in_max_and_argmax(device: str) -> None:
    x = idrak.tensor([[1.0, math.nan, 3.0], [4.0, 2.0, -math.inf]], device=device)
    assert math.isnan(x.max().item()) and math.isnan(x.min().item())
    assert x.argmax().item() == 1 and x.argmin().item() == 1
    assert x.argmax(1).tolist() == [1, 0] and x.argmin(1).tolist() == [1, 2]
    v, i = x.max(1)
    assert math.isnan(v.tolist()[0]) and v.tolist()[1] == 4.0 and i.tolist() == [1, 0]
    assert math.isnan(idrak.maximum(x, idrak.zeros(3, device=device)).tolist()[0][1])
    assert idrak.tensor([math.inf, 1.0], device=device).argmax().item() == 0
    assert idrak.tensor([-math.inf, -math.inf], device=device).argmax().item() == 0


def test_softmax_with_infinities(device: str) -> None:
    x = idrak.tensor(
        [[-math.inf, 0.0, 0.0], [-math.inf] * 3, [math.inf, 1.0, 0.0], [1000.0, 0.0, -1000.0]],
        dtype="float64",
        device=device,
    )
    ref = torch.tensor(x.numpy()) if torch is not None else None
    got_sm, got_lsm, got_lse = (
        x.softmax(1).numpy(),
        x.log_softmax(1).numpy(),
        x.logsumexp(1).numpy(),
    )
    np.testing.assert_allclose(got_sm[0], [0, 0.5, 0.5])
    np.testing.assert_allclose(got_sm[3], [1, 0, 0])
    assert np.isnan(got_sm[1]).all() and np.isnan(got_sm[2]).all()
    assert got_lse.tolist()[:3] == [math.log(2), -math.inf, math.inf]
    if ref is not None:
        np.testing.assert_allclose(got_sm, ref.softmax(1).numpy(), equal_nan=True)
        np.testing.assert_allclose(got_lsm, ref.log_softmax(1).numpy(), equal_nan=True)
        np.testing.assert_allclose(got_lse, ref.logsumexp(1).numpy(), equal_nan=True)


def test_ieee_edge_values(device: str) -> None:
    x = idrak.tensor([0.0, -1.0, 1000.0, -1000.0], device=device)
    with np.errstate(all="ignore"):
        a = x.numpy()
        np.testing.assert_array_equal(x.log().numpy(), np.log(a))
        np.testing.assert_array_equal(x.sqrt().numpy(), np.sqrt(a))
        np.testing.assert_array_equal(x.exp().numpy(), np.exp(a))
        np.testing.assert_array_equal((1.0 / x).numpy(), 1.0 / a)
    np.testing.assert_allclose(x.sigmoid().numpy(), [0.5, 1 / (1 + math.e), 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(x.tanh().numpy(), np.tanh(a), rtol=2e-7)
    big = idrak.tensor([1e300, -1e300, math.inf, -math.inf, math.nan], dtype="float64")
    for m in ("floor", "ceil", "round", "trunc"):
        np.testing.assert_array_equal(
            getattr(big, m)().numpy(), getattr(np, m)(big.numpy()), err_msg=m
        )
    z = idrak.tensor([-0.5, -0.4, -0.0, 0.4], device=device)
    for m in ("floor", "ceil", "round", "trunc"):  # the sign of zero, as torch keeps it
        np.testing.assert_array_equal(
            np.signbit(getattr(z, m)().numpy()), np.signbit(getattr(np, m)(z.numpy())), err_msg=m
        )


def test_erf_accuracy_float64(device: str) -> None:
    x = np.concatenate([np.linspace(-7, 7, 2001), [0.46875, -0.46875, 4.0, -4.0, 27.0, 30.0]])
    t = idrak.tensor(x, dtype="float64", device=device)
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(t.erf().numpy(), ref, rtol=0, atol=5e-16)
    refc = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(t.erfc().numpy(), refc, rtol=2e-15, atol=1e-300)
    assert t.erf().dtype == idrak.float64
    assert idrak.tensor([1, 2], device=device).erf().dtype == idrak.float32


def test_empty_tensors(device: str) -> None:
    e = idrak.zeros(0, 3, device=device)
    assert e.sum(0).tolist() == [0.0, 0.0, 0.0] and e.sum().item() == 0.0
    assert np.isnan(e.mean(0).numpy()).all() and e.prod(0).tolist() == [1.0, 1.0, 1.0]
    assert e.amax(1).shape == (0,) and e.argmax(1).shape == (0,)
    assert (e + 1).shape == (0, 3) and e.exp().shape == (0, 3) and e.T.shape == (3, 0)
    assert (e @ idrak.ones(3, 2, device=device)).shape == (0, 2)
    assert (idrak.ones(2, 0, device=device) @ idrak.ones(0, 3, device=device)).tolist() == [
        [0.0] * 3
    ] * 2
    assert idrak.cat([e, idrak.ones(2, 3, device=device)]).shape == (2, 3)
    assert e.reshape(3, 0).shape == (3, 0) and e.reshape(-1, 3).shape == (0, 3)
    assert e.softmax(0).shape == (0, 3) and e.cumsum(0).shape == (0, 3)
    assert e.logsumexp(0).tolist() == [-math.inf] * 3
    assert idrak.ones(4, device=device)[2:1].shape == (0,)
    assert e.any().item() is False and e.all().item() is True
    with pytest.raises(ValueError, match="empty"):
        e.max()
    x = idrak.zeros(0, requires_grad=True, device=device)
    (x * 2).sum().backward()
    assert x.grad.shape == (0,)


def test_zero_dim_tensors(device: str) -> None:
    s = idrak.tensor(2.0, device=device, requires_grad=True)
    y = (s * s).exp()
    assert y.shape == () and y.ndim == 0 and y.numel() == 1
    y.backward()
    assert s.grad.shape == () and s.grad.item() == pytest.approx(4 * math.exp(4))
    assert s[None].shape == (1,) and s[...].shape == () and s.reshape(1, 1).shape == (1, 1)
    for r in (s.sum(), s.sum(0), s.mean(0), s.amax(-1), s.softmax(0), s.cumsum(0), s.flip(0)):
        assert r.shape == ()
    assert s.argmax(0).item() == 0 and s.expand(2, 3).shape == (2, 3)
    assert (s + idrak.ones(3, device=device)).shape == (3,)
    with pytest.raises(TypeError):
        len(s)


# ---------------------------------------------------------------------------------------------
# errors when the op is written (lazy), naming the shapes
@pytest.mark.parametrize(
    ("fn", "exc", "match"),
    [
        (lambda x, y: x + y, ValueError, r"\(2, 3\) and \(4, 3\)"),
        (lambda x, y: x @ y, ValueError, r"\(2, 3\) and \(4, 3\)"),
        (lambda x, y: x.reshape(4, 2), ValueError, r"\(2, 3\).*\(4, 2\)"),
        (lambda x, y: idrak.cat([x, y], 1), ValueError, r"\(4, 3\)"),
        (lambda x, y: x[5], IndexError, "out of bounds"),
        (lambda x, y: x.sum(2), IndexError, r"\(2, 3\)"),
        (lambda x, y: x.expand(4, 3), ValueError, r"\(2, 3\)"),
        (lambda x, y: x.permute(0, 0), ValueError, r"\(2, 3\)"),
        (lambda x, y: x.conv2d(y), ValueError, r"\(2, 3\)"),
        (lambda x, y: idrak.where(x > 0, x, y), ValueError, r"\(2, 3\)"),
        (lambda x, y: x.long().mean(), TypeError, "int64"),
        (lambda x, y: -(x > 0), TypeError, "bool"),
    ],
)
def test_errors_at_op_write_time(
    fn: Callable[..., Any], exc: type[Exception], match: str, device: str
) -> None:
    x = idrak.ones(2, 3, device=device)
    y = idrak.ones(4, 3, device=device)
    with pytest.raises(exc, match=match):
        fn(x, y)
