"""Data types and PyTorch's type-promotion rules.

A :class:`DType` is a small immutable record; backends receive these objects and map them to their
own array types by :attr:`DType.name` (the NumPy spelling, ``"float32"``, ``"int64"``, ...).

Promotion (:func:`promote_types`, :func:`result_type`) follows PyTorch
(https://pytorch.org/docs/stable/tensor_attributes.html#type-promotion-doc): categories are
ordered bool < integer < floating; two tensors promote to the smallest type holding both;
a Python scalar only matters when its category is higher than every tensor operand's, and then
gives the default type of its category (int64 for ``int``, the default float for ``float``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the user-facing names (the top-level ``idrak`` namespace takes them); the dtype groups and
#: helpers are imported by name
__all__ = [
    "DType",
    "bfloat16",
    "bool_",
    "float16",
    "float32",
    "float64",
    "get_default_dtype",
    "int8",
    "int16",
    "int32",
    "int64",
    "promote_types",
    "set_default_dtype",
    "uint8",
]


@dataclass(frozen=True, slots=True)
class DType:
    """An element type.

    Attributes:
        name: NumPy spelling (``"float32"``); ``"bool"`` for booleans.
        itemsize: bytes per element.
        kind: ``"b"`` bool, ``"u"`` unsigned int, ``"i"`` signed int, ``"f"`` floating.
    """

    name: str
    itemsize: int
    kind: str

    @property
    def is_floating_point(self) -> bool:
        return self.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self.kind in "ui"

    @property
    def bits(self) -> int:
        return self.itemsize * 8

    def __repr__(self) -> str:
        return f"idrak.{self.name}"


bool_ = DType("bool", 1, "b")
uint8 = DType("uint8", 1, "u")
int8 = DType("int8", 1, "i")
int16 = DType("int16", 2, "i")
int32 = DType("int32", 4, "i")
int64 = DType("int64", 8, "i")
float16 = DType("float16", 2, "f")
bfloat16 = DType("bfloat16", 2, "f")
float32 = DType("float32", 4, "f")
float64 = DType("float64", 8, "f")

ALL_DTYPES: tuple[DType, ...] = (
    bool_,
    uint8,
    int8,
    int16,
    int32,
    int64,
    float16,
    bfloat16,
    float32,
    float64,
)
#: the dtype groups op domains and backends declare with (a backend intersects them with the
#: dtypes it stores: NumPy has no bfloat16)
FLOATING = frozenset({float16, bfloat16, float32, float64})
INTEGER = frozenset({uint8, int8, int16, int32, int64})
NUMERIC = INTEGER | FLOATING
ALL = NUMERIC | {bool_}
_BY_NAME: dict[str, DType] = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(
    {
        "bool_": bool_,
        "float": float32,
        "double": float64,
        "half": float16,
        "long": int64,
        "int": int32,
        "short": int16,
    }
)

_default_float = float32


def get_default_dtype() -> DType:
    """The floating type used for Python floats and ``rand``/``zeros`` without a dtype."""
    return _default_float


def set_default_dtype(dtype: DType | str) -> None:
    """Set the default floating type. Raises ``TypeError`` for a non-floating dtype."""
    global _default_float
    d = to_dtype(dtype)
    if not d.is_floating_point:
        raise TypeError(f"default dtype must be floating point, got {d.name}")
    _default_float = d


def to_dtype(x: Any) -> DType:
    """Coerce a DType, its name, a NumPy dtype or a Python type to a :class:`DType`.

    Raises:
        TypeError: when ``x`` names no dtype idrak knows.
    """
    if isinstance(x, DType):
        return x
    if x is bool:
        return bool_
    if x is int:
        return int64
    if x is float:
        return _default_float
    name = getattr(x, "name", None) if not isinstance(x, str) else x
    if name is None and hasattr(x, "dtype"):
        name = getattr(x.dtype, "name", None)
    if name is None:
        try:
            import numpy as np

            name = np.dtype(x).name
        except TypeError:
            name = None
    if isinstance(name, str) and name in _BY_NAME:
        return _BY_NAME[name]
    raise TypeError(f"unknown dtype {x!r}; idrak knows {', '.join(d.name for d in ALL_DTYPES)}")


_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}


def promote_types(a: DType, b: DType) -> DType:
    """The smallest dtype both ``a`` and ``b`` convert to without loss (PyTorch's table).

    Examples: uint8+int8 -> int16, int64+float16 -> float16, float16+bfloat16 -> float32.
    """
    if a == b:
        return a
    ra, rb = _RANK[a.kind], _RANK[b.kind]
    if ra != rb:
        return a if ra > rb else b
    if a.kind == "f":
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    # integers: signed/unsigned mix needs a signed type wider than the unsigned one
    if a.kind == b.kind:
        return a if a.itemsize >= b.itemsize else b
    u, s = (a, b) if a.kind == "u" else (b, a)
    if s.itemsize > u.itemsize:
        return s
    return {1: int16, 2: int32, 4: int64, 8: int64}[u.itemsize]


def _scalar_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "b"
    if isinstance(v, int):
        return "i"
    if isinstance(v, float):
        return "f"
    raise TypeError(f"expected a Python bool, int or float scalar, got {type(v).__name__}")


def result_type(tensor_dtypes: list[DType], scalars: list[Any] = ()) -> DType:  # type: ignore[assignment]
    """The dtype of an elementwise op over tensors of ``tensor_dtypes`` and Python ``scalars``.

    Scalars only raise the category (bool -> int64, int -> default float).
    """
    if not tensor_dtypes:
        raise ValueError("result_type needs at least one tensor dtype")
    out = tensor_dtypes[0]
    for d in tensor_dtypes[1:]:
        out = promote_types(out, d)
    for s in scalars:
        k = _scalar_kind(s)
        if _RANK[k] > _RANK[out.kind]:
            out = {"i": int64, "f": _default_float}[k]
    return out
