"""The primitive-op contract: the closed set of operations a backend implements.

The frontend composes every Tensor method from these ops and hands a backend only simple, fully
specified work:

* elementwise inputs already have identical shape and dtype (the frontend broadcasts with EXPAND
  and promotes with CAST first);
* reductions keep dimensions (the frontend reshapes afterwards);
* every argument is a plain Python value (tuples of ints, a :class:`~idrak.contract.dtypes.DType`,
  a scalar).

Every fact about an op lives in ONE :class:`OpDef` record in :data:`OPS`: its group, whether it is
required, the dtypes it is defined for, its calling convention, whether it creates an array or may
return a view, whether it is differentiable, its exact semantics and its tolerance. Every other
per-op table (:data:`REQUIRED`, :data:`UNARY`, :data:`NONDIFF`, :data:`SEMANTICS`, the
conformance suite's tolerances, a backend's per-op dtypes, the fusion pass's op list) is derived
from these records. Beside them, each op has one VJP rule (:mod:`idrak.core.autograd`), optional
ops one decomposition (:mod:`idrak.core.decompositions`), and every op one reference in the
conformance suite (:mod:`idrak.testing.references`).

A backend implements an op as the method :attr:`OpDef.method` (the op's name in lower case, except
``MAX`` -> ``maximum`` and ``REDUCE_MAX`` -> ``max``), called as :attr:`OpDef.signature` shows;
see :class:`idrak.contract.backend.Backend`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from idrak.contract.dtypes import ALL, ALL_DTYPES, FLOATING, NUMERIC, DType, int64

__all__ = [
    "BINARY",
    "CREATION",
    "ELEMENTWISE",
    "NONDIFF",
    "OPS",
    "OPTIONAL",
    "REQUIRED",
    "SEMANTICS",
    "UNARY",
    "VIEWS",
    "Capabilities",
    "Op",
    "OpDef",
    "markdown_table",
]


class Op(enum.Enum):
    """Every primitive op. The value is the backend method's name."""

    NEG = "neg"
    EXP = "exp"
    LOG = "log"
    SIN = "sin"
    SQRT = "sqrt"
    RECIPROCAL = "reciprocal"
    ADD = "add"
    MUL = "mul"
    DIV = "div"
    MAX = "maximum"
    CMPLT = "cmplt"
    CMPEQ = "cmpeq"
    WHERE = "where"
    CAST = "cast"
    SUM = "sum"
    REDUCE_MAX = "max"
    RESHAPE = "reshape"
    PERMUTE = "permute"
    EXPAND = "expand"
    PAD = "pad"
    SHRINK = "shrink"
    FLIP = "flip"
    FULL = "full"
    CONTIGUOUS = "contiguous"
    SUB = "sub"
    POW = "pow"
    TANH = "tanh"
    EXP2 = "exp2"
    LOG2 = "log2"
    MATMUL = "matmul"
    GATHER = "gather"
    SCATTER_ADD = "scatter_add"
    CUMSUM = "cumsum"
    ARANGE = "arange"
    RANDOM_BITS = "random_bits"
    CONV2D = "conv2d"
    FUSED = "fused"

    @property
    def method(self) -> str:
        """The backend method implementing this op."""
        return self.value

    @property
    def spec(self) -> OpDef:
        """This op's record in :data:`OPS`."""
        return OPS[self]


@dataclass(frozen=True)
class OpDef:
    """Everything that is a fact about one op.

    Attributes:
        op: the op.
        group: ``"unary"``, ``"binary"``, ``"ternary"``, ``"type"``, ``"reduce"``,
            ``"movement"``, ``"memory"``, ``"linalg"``, ``"index"``, ``"scan"``, ``"random"`` or
            ``"fused"``.
        required: every backend implements it; else an optional fast path with a decomposition.
        dtypes: the operand dtypes it is defined for (for a creation op, the output's dtype);
            the frontend never issues it on others, and a backend declares a subset.
        inputs: names of the array operands, in order (``*inputs`` for a variable number).
        params: names of the parts of the op's plain-Python ``arg``: none (no arg), one (the arg
            itself is passed) or several (the arg is a tuple, spread into them).
        out: the output's dtype: ``"same"`` as the operands, ``"bool"``, or ``"arg"`` (the dtype
            given as the arg, CAST).
        view: the result may alias its input's memory.
        differentiable: its output carries a gradient (has a VJP rule).
        semantics: the exact semantics the conformance suite checks.
        ulps: allowed error of a native implementation, in units in the last place of the result
            (of the summed magnitudes for accumulations); 0 means exact.
        decomposed_ulps: the accuracy idrak promises for its own decomposition (optional ops).
    """

    op: Op
    group: str
    required: bool
    dtypes: frozenset[DType]
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    semantics: str
    out: str = "same"
    view: bool = False
    differentiable: bool = True
    ulps: int = 0
    decomposed_ulps: int | None = None

    @property
    def method(self) -> str:
        """The backend method's name."""
        return self.op.value

    @property
    def creates(self) -> bool:
        """Whether the op has no array inputs (it also receives the device index)."""
        return not self.inputs

    @property
    def signature(self) -> str:
        """How a backend's method is called, e.g. ``pad(x, widths, value)``."""
        names = [*self.inputs, *self.params, *(("device_index",) if self.creates else ())]
        return f"{self.method}({', '.join(names)})"


_UNARY_FLOAT = ("x",), ()
_BINARY = ("x", "y"), ()


def _defs(*records: OpDef) -> dict[Op, OpDef]:
    return {r.op: r for r in records}


#: one record per op, in the order the docs list them
OPS: dict[Op, OpDef] = _defs(
    # --- required: unary --------------------------------------------------------------------
    OpDef(
        Op.NEG, "unary", True, NUMERIC, *_UNARY_FLOAT,
        "-x. Integers wrap (NEG of int8 -128 is -128). Floats: -0.0 for 0.0, NaN stays NaN.",
    ),
    OpDef(
        Op.EXP, "unary", True, FLOATING, *_UNARY_FLOAT,
        "e**x; exp(-inf)=0, exp(inf)=inf, NaN->NaN.", ulps=4,
    ),
    OpDef(
        Op.LOG, "unary", True, FLOATING, *_UNARY_FLOAT,
        "natural log; log(0)=-inf, log(x<0)=NaN, log(inf)=inf.", ulps=4,
    ),
    OpDef(
        Op.SIN, "unary", True, FLOATING, *_UNARY_FLOAT,
        "sine (radians); sin(±inf)=NaN.", ulps=4,
    ),
    OpDef(
        Op.SQRT, "unary", True, FLOATING, *_UNARY_FLOAT,
        "square root; sqrt(-0.0)=-0.0, sqrt(x<0)=NaN.", ulps=1,
    ),
    OpDef(
        Op.RECIPROCAL, "unary", True, FLOATING, *_UNARY_FLOAT,
        "1/x; 1/±0 = ±inf.", ulps=1,
    ),
    # --- required: binary -------------------------------------------------------------------
    OpDef(
        Op.ADD, "binary", True, ALL, *_BINARY,
        "x+y. Integers wrap modulo 2**bits; bool is logical OR.", ulps=1,
    ),
    OpDef(
        Op.MUL, "binary", True, ALL, *_BINARY,
        "x*y. Integers wrap modulo 2**bits; bool is logical AND.", ulps=1,
    ),
    OpDef(
        Op.DIV, "binary", True, NUMERIC, *_BINARY,
        "floats: IEEE true division (x/0 = ±inf, 0/0 = NaN). Integers: floor division rounding "
        "toward -inf (-7 DIV 2 = -4); division by zero is undefined and never issued by idrak.",
        ulps=1,
    ),
    OpDef(
        Op.MAX, "binary", True, ALL, *_BINARY,
        "elementwise maximum; NaN if either input is NaN; max(-0.0, 0.0) may be either zero.",
    ),
    OpDef(
        Op.CMPLT, "binary", True, ALL, *_BINARY,
        "x<y -> bool; any comparison with NaN is False.", out="bool", differentiable=False,
    ),
    OpDef(
        Op.CMPEQ, "binary", True, ALL, *_BINARY,
        "x==y -> bool; NaN==NaN is False.", out="bool", differentiable=False,
    ),
    # --- required: ternary, type, reduce ----------------------------------------------------
    OpDef(
        Op.WHERE, "ternary", True, ALL, ("cond", "x", "y"), (),
        "where(cond, x, y): cond is bool; x and y share its shape and one dtype (the operand "
        "dtype is theirs).",
    ),
    OpDef(
        Op.CAST, "type", True, ALL, ("x",), ("dtype",),
        "convert to dtype. float->int truncates toward zero (values outside the target's range, "
        "NaN and inf are undefined); int->int wraps modulo 2**bits; x->bool is x != 0 (NaN -> "
        "True); bool->number gives 0/1; float->narrower float rounds to nearest even. The target "
        "dtype must be declared too.",
        out="arg",
    ),
    OpDef(
        Op.SUM, "reduce", True, NUMERIC, ("x",), ("axes",),
        "sum over axes (a tuple of ints; () reduces nothing and returns x's values), keeping "
        "them as size 1. The output dtype is the input's (the frontend upcasts bool and small "
        "ints first); integer sums wrap; the empty sum is 0; NaN propagates.",
        ulps=16,
    ),
    OpDef(
        Op.REDUCE_MAX, "reduce", True, ALL, ("x",), ("axes",),
        "maximum over axes (a tuple of ints; () reduces nothing), keeping them. NaN propagates. "
        "Never issued on an empty axis.",
    ),
    # --- required: movement -----------------------------------------------------------------
    OpDef(
        Op.RESHAPE, "movement", True, ALL, ("x",), ("shape",),
        "reshape to shape (same element count, C order). May return a view.", view=True,
    ),
    OpDef(
        Op.PERMUTE, "movement", True, ALL, ("x",), ("order",),
        "transpose axes to order (a permutation of range(ndim)). May return a view.", view=True,
    ),
    OpDef(
        Op.EXPAND, "movement", True, ALL, ("x",), ("shape",),
        "broadcast to shape of the same ndim; only size-1 dims change. May return a view.",
        view=True,
    ),
    OpDef(
        Op.PAD, "movement", True, ALL, ("x",), ("widths", "value"),
        "pad: widths is a tuple of (before, after) non-negative ints per axis, filled with value "
        "cast to x's dtype. Returns new memory.",
    ),
    OpDef(
        Op.SHRINK, "movement", True, ALL, ("x",), ("bounds",),
        "slice with bounds: a tuple of (start, stop) per axis, 0<=start<=stop<=size. May return "
        "a view.",
        view=True,
    ),
    OpDef(
        Op.FLIP, "movement", True, ALL, ("x",), ("axes",),
        "reverse the axes (a tuple of ints). May return a view.", view=True,
    ),
    # --- required: memory -------------------------------------------------------------------
    OpDef(
        Op.FULL, "memory", True, ALL, (), ("shape", "value", "dtype"),
        "a new array of shape filled with value cast to dtype.", differentiable=False,
    ),
    OpDef(
        Op.CONTIGUOUS, "memory", True, ALL, ("x",), (),
        "a C-contiguous array with x's values: x itself if it already is one and owns its "
        "memory, else a copy.",
    ),
    # --- optional fast paths ----------------------------------------------------------------
    OpDef(
        Op.SUB, "binary", False, NUMERIC, *_BINARY,
        "x-y. Integers wrap. Decomposition: ADD(x, NEG(y)).", ulps=1, decomposed_ulps=1,
    ),
    OpDef(
        Op.POW, "binary", False, FLOATING, *_BINARY,
        "x**y (IEEE pow: pow(x, 0)=1 even for NaN). Decomposition: EXP(y*LOG(x)) with the signs "
        "of negative bases fixed.",
        ulps=8, decomposed_ulps=64,
    ),
    OpDef(
        Op.TANH, "unary", False, FLOATING, *_UNARY_FLOAT,
        "hyperbolic tangent. Decomposition via EXP.", ulps=4, decomposed_ulps=16,
    ),
    OpDef(
        Op.EXP2, "unary", False, FLOATING, *_UNARY_FLOAT,
        "2**x. Decomposition: EXP(x*ln2).", ulps=4, decomposed_ulps=32,
    ),
    OpDef(
        Op.LOG2, "unary", False, FLOATING, *_UNARY_FLOAT,
        "log base 2. Decomposition: LOG(x)/ln2.", ulps=4, decomposed_ulps=8,
    ),
    OpDef(
        Op.MATMUL, "linalg", False, NUMERIC, ("x", "y"), (),
        "x (*b, m, k) @ y (*b, k, n) -> (*b, m, n); the batch dims *b are identical (the "
        "frontend broadcasts them); ndim >= 2; accumulation in at least the input precision.",
        ulps=16, decomposed_ulps=16,
    ),
    OpDef(
        Op.GATHER, "index", False, ALL, ("x", "index"), ("dim",),
        "out[i][j] = x[index[i][j]][j] for dim 0 (torch.gather); index is int64 with x's ndim, "
        "out has index's shape; indices are in range.",
        decomposed_ulps=0,
    ),
    OpDef(
        Op.SCATTER_ADD, "index", False, NUMERIC, ("x", "index", "src"), ("dim",),
        "a copy of x with src added at index along dim (torch.Tensor.scatter_add); duplicates "
        "accumulate.",
        ulps=8, decomposed_ulps=8,
    ),
    OpDef(
        Op.CUMSUM, "scan", False, NUMERIC, ("x",), ("axis",),
        "inclusive prefix sum along axis (an int; x has ndim >= 1): out[..., i, ...] = sum of "
        "x[..., :i+1, ...]; "
        "same shape and dtype; integer sums wrap. Decomposition: a Hillis-Steele scan of "
        "log2(n) shifted ADDs.",
        ulps=16, decomposed_ulps=16,
    ),
    OpDef(
        Op.ARANGE, "memory", False, NUMERIC, (), ("start", "stop", "step", "dtype"),
        "values start + i*step for i < ceil((stop-start)/step).", differentiable=False,
        ulps=1, decomposed_ulps=1,
    ),
    OpDef(
        Op.RANDOM_BITS, "random", False, frozenset({int64}), (), ("n", "key0", "key1", "counter0"),
        "n uint32 values of Threefry-2x32 with 20 rounds (Salmon et al., SC'11) over counters "
        "counter0 .. counter0+ceil(n/2)-1, returned as int64 in [0, 2**32). Bit-exact against "
        "idrak.core.random.threefry2x32.",
        differentiable=False, decomposed_ulps=0,
    ),
    OpDef(
        Op.CONV2D, "linalg", False, FLOATING,
        ("x", "w"), ("stride", "padding", "dilation", "groups"),
        "x (N,C,H,W), w (O,C/groups,KH,KW) -> (N,O,OH,OW); cross-correlation as in "
        "torch.nn.functional.conv2d, no bias.",
        ulps=32, decomposed_ulps=32,
    ),
    OpDef(
        Op.FUSED, "fused", False, ALL, ("*inputs",), ("kernel",),
        "run the FusedKernel kernel (idrak.contract.fused: inputs with shapes and dtypes, a list "
        "of elementwise ops, an optional trailing SUM/REDUCE_MAX) over the external inputs in one "
        "pass; the same values as running its ops one by one (floats within their tolerances). "
        "Declared by Backend.fusion_support(), not by Capabilities; written only by the fusion "
        "pass. Decomposition: the ops themselves.",
        differentiable=False,
    ),
)  # fmt: skip

# --- tables derived from the records ---------------------------------------------------------
REQUIRED = frozenset(op for op, d in OPS.items() if d.required)
OPTIONAL = frozenset(OPS) - REQUIRED
UNARY = frozenset(op for op, d in OPS.items() if d.group == "unary")
BINARY = frozenset(op for op, d in OPS.items() if d.group == "binary")
#: ops a fused kernel may contain
ELEMENTWISE = frozenset(op for op, d in OPS.items() if d.group in ("unary", "binary", "ternary"))
ELEMENTWISE |= {Op.CAST}
#: ops with no array inputs (they also take the device index)
CREATION = frozenset(op for op, d in OPS.items() if d.creates)
#: ops whose result may alias their input
VIEWS = frozenset(op for op, d in OPS.items() if d.view)
#: ops whose output never carries a gradient
NONDIFF = frozenset(op for op, d in OPS.items() if not d.differentiable)
#: the exact semantics of each op, as the conformance suite checks them
SEMANTICS: dict[Op, str] = {op: d.semantics for op, d in OPS.items()}


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares it can do. The conformance suite checks it both ways.

    Attributes:
        name: the backend's registered name (``"numpy"``).
        version: the backend package's version string.
        device_count: how many devices this backend drives (0 when unavailable).
        dtypes: the dtypes the backend stores.
        optional_ops: the optional fast-path ops implemented natively (FUSED is declared by
            :meth:`~idrak.contract.backend.Backend.fusion_support` instead).
        op_dtypes: per-op narrowings where an op supports fewer dtypes than ``dtypes``. After
            construction it holds every declared op: the given set (or ``dtypes``) intersected
            with the op's domain, :attr:`OpDef.dtypes`.

    Raises:
        ValueError: an optional op that is not optional, or a dtype idrak does not know.
    """

    name: str
    version: str
    device_count: int
    dtypes: frozenset[DType]
    optional_ops: frozenset[Op] = frozenset()
    op_dtypes: dict[Op, frozenset[DType]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [o for o in self.optional_ops if o not in OPTIONAL or o is Op.FUSED]
        if bad:
            raise ValueError(
                f"{self.name}: {bad} are not optional ops; optional are "
                f"{sorted(o.name for o in OPTIONAL - {Op.FUSED})}"
            )
        unknown = [d for d in self.dtypes if d not in ALL_DTYPES]
        if unknown:
            raise ValueError(f"{self.name}: unknown dtypes {unknown}")
        given = self.op_dtypes
        full = {
            op: frozenset(given.get(op, self.dtypes)) & OPS[op].dtypes
            for op in REQUIRED | self.optional_ops
        }
        object.__setattr__(self, "op_dtypes", full)

    @property
    def ops(self) -> frozenset[Op]:
        """Every op this backend runs (all required ops plus its optional ones)."""
        return REQUIRED | self.optional_ops

    def supports(self, op: Op, dtype: DType | None = None) -> bool:
        """Whether ``op`` is declared, for operand ``dtype`` when given."""
        ds = self.op_dtypes.get(op)
        if ds is None:
            return False
        return dtype is None or dtype in ds


def _dtype_set(ds: frozenset[DType]) -> str:
    for name, group in (("all", ALL), ("numeric", NUMERIC), ("floating", FLOATING)):
        if ds == group:
            return name
    return ", ".join(d.name for d in ALL_DTYPES if d in ds)


def markdown_table() -> str:
    """The op records as a Markdown table (``docs/ops.md`` holds it; a test keeps it current)."""
    rows = [
        "| op | group | required | method | dtypes | result | view | grad | ulps | semantics |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op, d in OPS.items():
        text = d.semantics.replace("|", "\\|")
        ulps = str(d.ulps) + (f" ({d.decomposed_ulps} decomposed)" if d.decomposed_ulps else "")
        rows.append(
            f"| `{op.name}` | {d.group} | {'yes' if d.required else 'no'} | `{d.signature}` | "
            f"{_dtype_set(d.dtypes)} | {d.out} | {'may' if d.view else ''} | "
            f"{'yes' if d.differentiable else ''} | {ulps} | {text} |"
        )
    return "\n".join(rows)
