"""The numexpr engine of the NumPy backend's FUSED kernels (``pip install 'idrak[fused]'``).

:func:`compile_numexpr` turns a :class:`~idrak.contract.fused.FusedKernel` into one numexpr
expression
over named inputs (``i0 ..``), constants (``c0 ..``, 0-d arrays so float32 stays float32) and
fixed helper constants (``k0 ..``), or returns None when numexpr cannot express it exactly: no
integer floor division, float16 or narrowing casts; ``maximum`` is spelled with ``where`` so NaN
propagates as in NumPy. A compiled program is checked once on a tiny input for its result dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.fused import FusedKernel
from idrak.contract.ops import Op

__all__ = ["compile_numexpr", "numexpr_available"]

_NE_KINDS: dict[str, Any] = {
    "bool": bool,
    "int32": np.int32,
    "int64": np.int64,
    "float32": float,
    "float64": np.float64,
}
# casts numexpr performs exactly as NumPy's astype (widening; x != 0; bool -> 0/1)
_NE_WIDEN = {
    ("int32", "int64"),
    ("int32", "float32"),
    ("int32", "float64"),
    ("int64", "float64"),
    ("float32", "float64"),
}
_NE_FUNCS = {
    Op.EXP: "exp",
    Op.LOG: "log",
    Op.SIN: "sin",
    Op.SQRT: "sqrt",
    Op.TANH: "tanh",
    Op.LOG2: "log2",
}
_NE_INFIX = {
    Op.ADD: "+",
    Op.MUL: "*",
    Op.SUB: "-",
    Op.DIV: "/",
    Op.POW: "**",
    Op.CMPLT: "<",
    Op.CMPEQ: "==",
}
_MAX_EXPR = 20_000  # characters; MAX repeats its operands, so deep nests of it grow fast


def numexpr_available() -> bool:
    """Whether numexpr imports (checked once)."""
    global _numexpr
    if _numexpr is None:
        try:
            import numexpr

            _numexpr = numexpr
        except ImportError:
            _numexpr = False
    return _numexpr is not False


_numexpr: Any = None  # the module, False when it does not import, None before the first try


def compile_numexpr(kernel: FusedKernel) -> tuple[Any, list[Any]] | None:
    """``(NumExpr program, extra constant arrays)`` for ``kernel``, or None if not expressible."""
    ne = _numexpr
    dts = [s.dtype.name for s in kernel.inputs] + [o.dtype.name for o in kernel.ops]
    if any(d not in _NE_KINDS for d in dts):
        return None
    n_in = len(kernel.inputs)
    names = [f"i{k}" for k in range(n_in)]
    sig: list[tuple[str, Any]] = [
        (n, _NE_KINDS[s.dtype.name]) for n, s in zip(names, kernel.inputs)
    ]
    extra_sig: list[tuple[str, Any]] = []
    extra: list[Any] = []

    def const(value: Any, dtype: str) -> str:
        name = f"k{len(extra)}"
        extra.append(np.full((), value, dtype=np.dtype(dtype)))
        extra_sig.append((name, _NE_KINDS[dtype]))
        return name

    n_const = 0
    for o in kernel.ops:
        a = [names[s] for s in o.srcs]
        dt, src_dt = o.dtype.name, dts[o.srcs[0]] if o.srcs else ""
        if o.op is Op.FULL:
            e = f"c{n_const}"
            sig.append((e, _NE_KINDS[dt]))
            n_const += 1
        elif o.op is Op.NEG:
            e = f"(-{a[0]})"
        elif o.op is Op.RECIPROCAL:
            e = f"({const(1, dt)} / {a[0]})"
        elif o.op in _NE_FUNCS:
            e = f"{_NE_FUNCS[o.op]}({a[0]})"
        elif o.op in (Op.ADD, Op.MUL) and src_dt == "bool":
            e = f"({a[0]} {'|' if o.op is Op.ADD else '&'} {a[1]})"
        elif o.op is Op.DIV and src_dt not in ("float32", "float64"):
            return None  # integer floor division
        elif o.op in _NE_INFIX:
            e = f"({a[0]} {_NE_INFIX[o.op]} {a[1]})"
        elif o.op is Op.MAX:
            if src_dt == "bool":
                e = f"({a[0]} | {a[1]})"
            else:  # NaN in either operand propagates, as np.maximum
                nan = f" | ({a[0]} != {a[0]})" if src_dt.startswith("float") else ""
                e = f"where(({a[0]} > {a[1]}){nan}, {a[0]}, {a[1]})"
        elif o.op is Op.WHERE:
            e = f"where({a[0]}, {a[1]}, {a[2]})"
        elif o.op is Op.CAST and dt == "bool":
            e = f"({a[0]} != {const(0, src_dt)})"
        elif o.op is Op.CAST and src_dt == "bool":
            e = f"where({a[0]}, {const(1, dt)}, {const(0, dt)})"
        elif o.op is Op.CAST and (src_dt, dt) in _NE_WIDEN:
            e = f"({a[0]} * {const(1, dt)})"
        else:
            return None
        names.append(e)
        if len(e) > _MAX_EXPR:
            return None
    try:
        prog = ne.NumExpr(names[-1], signature=sig + extra_sig)
        probe = [np.zeros((1,), np.dtype(s.dtype.name)) for s in kernel.inputs]
        probe += [np.zeros((), np.dtype(o.dtype.name)) for o in kernel.ops if o.op is Op.FULL]
        got = prog(*probe, *extra, order="K", casting="safe", ex_uses_vml=False)
    except Exception:  # an op this numexpr lacks: the interpreter runs the kernel instead
        return None
    if got.dtype.name != kernel.dtype.name:
        return None
    return prog, extra
