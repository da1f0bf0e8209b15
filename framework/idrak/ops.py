"""The primitive-op contract: the closed set of operations a backend implements.

The frontend composes every Tensor method from these ops and hands a backend only simple, fully
specified work (DESIGN.md §2):

* elementwise inputs already have identical shape and dtype (the frontend broadcasts with EXPAND
  and promotes with CAST first);
* reductions keep dimensions (the frontend reshapes afterwards);
* every argument is a plain Python value (tuples of ints, a :class:`~idrak.dtypes.DType`, a scalar).

A backend implements an op as a method named after it in lower case (``Op.ADD`` -> ``add``); see
:class:`idrak.backend.Backend`. The semantics of each op are written on its enum member in
:data:`SEMANTICS` and checked by the conformance suite (:mod:`idrak.testing`).

Required ops (every backend): NEG EXP LOG SIN SQRT RECIPROCAL ADD MUL DIV MAX CMPLT CMPEQ WHERE CAST
SUM REDUCE_MAX RESHAPE PERMUTE EXPAND PAD SHRINK FLIP FULL CONTIGUOUS (24), plus the runtime methods
``from_numpy``, ``to_numpy`` and ``synchronize``.

Optional fast paths (a backend declares those it implements in :class:`Capabilities`; the frontend
owns a reference decomposition for each): SUB POW TANH EXP2 LOG2 MATMUL GATHER SCATTER_ADD ARANGE
RANDOM_BITS CONV2D, and FUSED (a compiled group of elementwise ops; see :mod:`idrak.fusion`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .dtypes import ALL_DTYPES, DType

__all__ = [
    "BINARY",
    "MOVEMENT",
    "OPTIONAL",
    "REQUIRED",
    "SEMANTICS",
    "UNARY",
    "Capabilities",
    "Op",
]


class Op(enum.Enum):
    """Every primitive op. The value is the backend method name."""

    # unary: (x) -> same shape and dtype
    NEG = "neg"
    EXP = "exp"
    LOG = "log"
    SIN = "sin"
    SQRT = "sqrt"
    RECIPROCAL = "reciprocal"
    # binary: (x, y) with identical shape and dtype
    ADD = "add"
    MUL = "mul"
    DIV = "div"
    MAX = "maximum"
    CMPLT = "cmplt"
    CMPEQ = "cmpeq"
    # ternary
    WHERE = "where"
    # type
    CAST = "cast"
    # reduce (keepdims)
    SUM = "sum"
    REDUCE_MAX = "max"
    # movement
    RESHAPE = "reshape"
    PERMUTE = "permute"
    EXPAND = "expand"
    PAD = "pad"
    SHRINK = "shrink"
    FLIP = "flip"
    # memory
    FULL = "full"
    CONTIGUOUS = "contiguous"
    # optional fast paths
    SUB = "sub"
    POW = "pow"
    TANH = "tanh"
    EXP2 = "exp2"
    LOG2 = "log2"
    MATMUL = "matmul"
    GATHER = "gather"
    SCATTER_ADD = "scatter_add"
    ARANGE = "arange"
    RANDOM_BITS = "random_bits"
    CONV2D = "conv2d"
    # scheduler op (idrak.fusion): never written by a Tensor method, only by the fusion pass
    FUSED = "fused"

    @property
    def method(self) -> str:
        """The backend method implementing this op."""
        return self.value


UNARY = frozenset(
    {Op.NEG, Op.EXP, Op.LOG, Op.SIN, Op.SQRT, Op.RECIPROCAL, Op.TANH, Op.EXP2, Op.LOG2}
)
BINARY = frozenset({Op.ADD, Op.MUL, Op.DIV, Op.MAX, Op.CMPLT, Op.CMPEQ, Op.SUB, Op.POW})
MOVEMENT = frozenset({Op.RESHAPE, Op.PERMUTE, Op.EXPAND, Op.PAD, Op.SHRINK, Op.FLIP})
REQUIRED = frozenset(
    {
        Op.NEG,
        Op.EXP,
        Op.LOG,
        Op.SIN,
        Op.SQRT,
        Op.RECIPROCAL,
        Op.ADD,
        Op.MUL,
        Op.DIV,
        Op.MAX,
        Op.CMPLT,
        Op.CMPEQ,
        Op.WHERE,
        Op.CAST,
        Op.SUM,
        Op.REDUCE_MAX,
        Op.RESHAPE,
        Op.PERMUTE,
        Op.EXPAND,
        Op.PAD,
        Op.SHRINK,
        Op.FLIP,
        Op.FULL,
        Op.CONTIGUOUS,
    }
)
OPTIONAL = frozenset(Op) - REQUIRED

#: The exact semantics of each op, as the conformance suite checks them. ``x, y`` are backend
#: arrays; "float" means a floating dtype, "int" a signed or unsigned integer dtype.
SEMANTICS: dict[Op, str] = {
    Op.NEG: "-x. Integers wrap (NEG of int8 -128 is -128). Floats: -0.0 for 0.0, NaN stays NaN.",
    Op.EXP: "e**x for floats; exp(-inf)=0, exp(inf)=inf, NaN->NaN.",
    Op.LOG: "natural log for floats; log(0)=-inf, log(x<0)=NaN, log(inf)=inf.",
    Op.SIN: "sine (radians) for floats; sin(±inf)=NaN.",
    Op.SQRT: "square root for floats; sqrt(-0.0)=-0.0, sqrt(x<0)=NaN.",
    Op.RECIPROCAL: "1/x for floats; 1/±0 = ±inf.",
    Op.ADD: "x+y. Integers wrap modulo 2**bits; bool is logical OR.",
    Op.MUL: "x*y. Integers wrap modulo 2**bits; bool is logical AND.",
    Op.DIV: (
        "floats: IEEE true division (x/0 = ±inf, 0/0 = NaN). Integers: floor division rounding "
        "toward -inf (-7 DIV 2 = -4); division by zero is undefined and never issued by idrak."
    ),
    Op.MAX: "elementwise maximum; NaN if either input is NaN; max(-0.0, 0.0) may be either zero.",
    Op.CMPLT: "x<y -> bool; any comparison with NaN is False.",
    Op.CMPEQ: "x==y -> bool; NaN==NaN is False.",
    Op.WHERE: "where(cond, a, b): cond is bool; a, b share shape and dtype with cond's shape.",
    Op.CAST: (
        "convert to arg dtype. float->int truncates toward zero (values outside the target's "
        "range, NaN and inf are undefined); int->int wraps modulo 2**bits; x->bool is x != 0 "
        "(NaN -> True); bool->number gives 0/1; float->narrower float rounds to nearest even."
    ),
    Op.SUM: (
        "sum over arg axes (tuple of ints), keeping them as size 1. Input dtype is the output "
        "dtype (the frontend upcasts bool and small ints first); integer sums wrap; the empty "
        "sum is 0; NaN propagates."
    ),
    Op.REDUCE_MAX: (
        "maximum over arg axes, keeping them. NaN propagates. Never issued on an empty axis."
    ),
    Op.RESHAPE: "reshape to arg shape (same element count, C order). May return a view.",
    Op.PERMUTE: "transpose axes to arg order (a permutation of range(ndim)). May return a view.",
    Op.EXPAND: (
        "broadcast to arg shape of the same ndim; only size-1 dims change. May return a view."
    ),
    Op.PAD: (
        "pad with arg (widths, value): widths is a tuple of (before, after) non-negative ints per "
        "axis, filled with value cast to x's dtype."
    ),
    Op.SHRINK: "slice with arg bounds: a tuple of (start, stop) per axis, 0<=start<=stop<=size.",
    Op.FLIP: "reverse the arg axes (tuple of ints). May return a view.",
    Op.FULL: "new array of arg (shape, value, dtype) filled with value cast to dtype. No inputs.",
    Op.CONTIGUOUS: "a C-contiguous copy or the input itself if it already is one; same values.",
    Op.SUB: "x-y. Integers wrap. Decomposition: ADD(x, NEG(y)).",
    Op.POW: "x**y for floats (IEEE pow: pow(x, 0)=1 even for NaN). Decomposition: EXP(y*LOG(x)).",
    Op.TANH: "hyperbolic tangent for floats. Decomposition via EXP.",
    Op.EXP2: "2**x for floats. Decomposition: EXP(x*ln2).",
    Op.LOG2: "log base 2 for floats. Decomposition: LOG(x)/ln2.",
    Op.MATMUL: (
        "x (*b, m, k) @ y (*b, k, n) -> (*b, m, n); the batch dims *b are identical (the frontend "
        "broadcasts them); ndim >= 2. Floats only; accumulation in at least the input precision."
    ),
    Op.GATHER: (
        "gather(x, index, arg dim): out[i][j] = x[index[i][j]][j] for dim 0 (torch.gather); "
        "index is int64 with x's ndim, out has index's shape; indices are in range."
    ),
    Op.SCATTER_ADD: (
        "scatter_add(x, index, src, arg dim): a copy of x with src added at index along dim "
        "(torch.Tensor.scatter_add); duplicates accumulate."
    ),
    Op.ARANGE: (
        "arg (start, stop, step, dtype): values start + i*step for i < ceil((stop-start)/step)."
    ),
    Op.RANDOM_BITS: (
        "arg (n, key0, key1, counter0): n uint32 values of Threefry-2x32 with 20 rounds (Salmon et "
        "al., SC'11) over counters counter0 .. counter0+ceil(n/2)-1, returned as int64 in "
        "[0, 2**32). Bit-exact against idrak.random.threefry2x32."
    ),
    Op.CONV2D: (
        "conv2d(x (N,C,H,W), w (O,C/groups,KH,KW), arg (stride, padding, dilation, groups)) -> "
        "(N,O,OH,OW); cross-correlation as in torch.nn.functional.conv2d, no bias."
    ),
    # --- idrak.fusion (issue 8) ---
    Op.FUSED: (
        "fused(*inputs, kernel): run the idrak.fusion.FusedKernel arg (a hashable IR: inputs with "
        "shapes and dtypes, a list of elementwise ops, an optional trailing SUM/REDUCE_MAX) over "
        "the external inputs in one pass; same values as running the ops one by one (floats "
        "within the per-op tolerances). Declared by Backend.fusion_support(), not by "
        "Capabilities; checked by idrak.fusion.check_fused. Decomposition: the ops themselves."
    ),
}


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares it can do. The conformance suite checks it both ways.

    Attributes:
        name: the backend's registered name (``"numpy"``).
        version: the backend package's version string.
        device_count: how many devices this backend drives (0 when unavailable).
        dtypes: dtypes every declared op supports (subject to an op's float-only semantics).
        optional_ops: the optional fast-path ops implemented natively.
        op_dtypes: per-op overrides of ``dtypes`` where an op supports fewer or more.
    """

    name: str
    version: str
    device_count: int
    dtypes: frozenset[DType]
    optional_ops: frozenset[Op] = frozenset()
    op_dtypes: dict[Op, frozenset[DType]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [o for o in self.optional_ops if o not in OPTIONAL]
        if bad:
            raise ValueError(
                f"{self.name}: {bad} are not optional ops; optional are "
                f"{sorted(o.name for o in OPTIONAL)}"
            )
        unknown = [d for d in self.dtypes if d not in ALL_DTYPES]
        if unknown:
            raise ValueError(f"{self.name}: unknown dtypes {unknown}")

    @property
    def ops(self) -> frozenset[Op]:
        """Every op this backend runs (all required ops plus its optional ones)."""
        return REQUIRED | self.optional_ops

    def supports(self, op: Op, dtype: DType | None = None) -> bool:
        """Whether ``op`` is declared, for ``dtype`` when given."""
        if op not in REQUIRED and op not in self.optional_ops:
            return False
        if dtype is None:
            return True
        return dtype in self.op_dtypes.get(op, self.dtypes)
