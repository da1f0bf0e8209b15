"""Differential fuzzing of movement and indexing ops against torch: reshape, permute,
transpose, flatten, squeeze/unsqueeze, expand, flip, roll, tile, repeat, narrow, chunk, split,
unbind, movedim, tril/triu, diagonal, repeat_interleave, unfold, basic and advanced indexing,
gather, scatter, scatter_add, scatter_reduce, index_select, masked_select, nonzero, matmul."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _fuzz_engine import Case, check_case
from _fuzz_strategies import ALL, FLOATS, arrays, shapes
from hypothesis import given
from hypothesis import strategies as st


def _tensor(draw: Any, min_dims: int = 0, max_dims: int = 3, dtypes: tuple = ALL) -> np.ndarray:
    dt = draw(st.sampled_from(dtypes))
    return draw(arrays(dt, draw(shapes(min_dims, max_dims)), finite=draw(st.booleans())))


def _d(draw: Any, a: np.ndarray) -> int:
    n = max(a.ndim, 1)
    return draw(st.integers(-n, n - 1))


def _i(draw: Any, lo: int, hi: int) -> int:
    return int(draw(st.integers(lo, hi)))


#: movement ops: name -> (minimum ndim, expression from (draw, a, ndim, dim))
MOVEMENT: dict[str, tuple[int, Callable[[Any, np.ndarray, int, int], str]]] = {
    "reshape": (0, lambda dr, a, n, d: "a.reshape(-1)"),
    "reshape-rev": (0, lambda dr, a, n, d: f"a.reshape({tuple(a.shape[::-1])})"),
    "flatten": (0, lambda dr, a, n, d: f"a.flatten({min(d, 0) if n else 0})"),
    "unsqueeze": (0, lambda dr, a, n, d: f"a.unsqueeze({_i(dr, -n - 1, n)})"),
    "squeeze": (0, lambda dr, a, n, d: "a.squeeze()"),
    "squeeze-dim": (0, lambda dr, a, n, d: f"a.squeeze({d})"),
    "flip": (0, lambda dr, a, n, d: f"a.flip({d})"),
    "roll": (0, lambda dr, a, n, d: f"a.roll({_i(dr, -5, 5)}, {d})"),  # 0-d: raises in both
    "tile": (0, lambda dr, a, n, d: f"a.tile(({_i(dr, 0, 2)}, 2))"),
    "repeat": (0, lambda dr, a, n, d: f"a.repeat({', '.join(['2'] * max(n, 1))})"),
    "t": (0, lambda dr, a, n, d: "a.t()" if n <= 2 else "a.mT"),
    "movedim": (0, lambda dr, a, n, d: f"a.movedim({d}, 0)"),
    "chunk": (0, lambda dr, a, n, d: f"a.chunk({_i(dr, 1, 3)}, {d})"),
    "split": (0, lambda dr, a, n, d: f"a.split({_i(dr, 1, 3)}, {d})"),
    "unbind": (0, lambda dr, a, n, d: f"a.unbind({d})"),
    "repeat_interleave": (0, lambda dr, a, n, d: f"a.repeat_interleave({_i(dr, 0, 2)}, dim={d})"),
    "expand": (0, lambda dr, a, n, d: f"a.expand({', '.join(['2'] + [str(s) for s in a.shape])})"),
    "permute": (
        2,
        lambda dr, a, n, d: (
            f"a.permute({', '.join(map(str, dr(st.permutations(list(range(n))))))})"
        ),
    ),
    "transpose": (2, lambda dr, a, n, d: f"a.transpose(0, {d})"),
    "tril": (2, lambda dr, a, n, d: f"a.tril({_i(dr, -2, 2)})"),
    "triu": (2, lambda dr, a, n, d: f"a.triu({_i(dr, -2, 2)})"),
    "diagonal": (2, lambda dr, a, n, d: f"a.diagonal({_i(dr, -2, 2)})"),
    "diag": (
        1,
        lambda dr, a, n, d: f"a[0].diag({_i(dr, -1, 1)})" if n == 2 else f"a.diag({_i(dr, -1, 1)})",
    ),
    "narrow": (1, lambda dr, a, n, d: _narrow(dr, a, d)),
    "unfold": (1, lambda dr, a, n, d: f"a.unfold({d}, {_i(dr, 1, 3)}, {_i(dr, 1, 2)})"),
    "unflatten": (1, lambda dr, a, n, d: f"a.unflatten(0, (1, {a.shape[0]}))"),
}


def _narrow(draw: Any, a: np.ndarray, d: int) -> str:
    start = _i(draw, 0, a.shape[d])
    return f"a.narrow({d}, {start}, {_i(draw, 0, a.shape[d] - start)})"


def _movement(name: str) -> Callable[[Any], Case]:
    min_dims, make = MOVEMENT[name]

    def build(draw: Any) -> Case:
        a = _tensor(draw, min_dims=min_dims, max_dims=2 if name == "diag" else 3)
        expr = make(draw, a, a.ndim, _d(draw, a))
        return Case("movement", expr, {"a": a}, grad=("a",), signed_zero=True)

    return build


def _basic_index(draw: Any) -> Case:
    a = _tensor(draw, min_dims=1)
    parts = []
    for s in a.shape[: draw(st.integers(1, a.ndim))]:
        kind = draw(st.sampled_from(("int", "slice", "none", "ellipsis")))
        if kind == "int" and s > 0:
            parts.append(str(draw(st.integers(-s, s - 1))))
        elif kind == "none":
            parts.append("None")
        else:
            lo, hi = draw(st.integers(-s - 1, s + 1)), draw(st.integers(-s - 1, s + 1))
            parts.append(f"{lo}:{hi}:{draw(st.integers(1, 2))}")
    if "..." not in parts and draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), "...")
    return Case("indexing", f"a[{', '.join(parts)}]", {"a": a}, grad=("a",))


ADVANCED = (
    "tensor",
    "mask",
    "gather",
    "index_select",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "masked_select",
    "nonzero",
)


def _advanced(kind: str) -> Callable[[Any], Case]:
    return lambda draw: _advanced_index(draw, kind)


def _advanced_index(draw: Any, kind: str) -> Case:
    a = _tensor(draw, min_dims=1)
    d = _d(draw, a)
    size = a.shape[d]
    if kind == "mask":
        m = draw(arrays("bool", a.shape))
        return Case("indexing", "a[m]", {"a": a, "m": m}, grad=("a",))
    if kind == "masked_select":
        m = draw(arrays("bool", a.shape[-1:]))
        return Case("indexing", "a.masked_select(m)", {"a": a, "m": m}, grad=("a",))
    if kind == "nonzero":
        return Case("indexing", "a.nonzero()", {"a": a})
    if size == 0:
        i = np.zeros(draw(st.sampled_from(((0,), (2,)))), dtype=np.int64)
    else:
        i = draw(arrays("int64", draw(shapes(1, 2, 0, 3)), lo=-size, hi=size - 1))
        i = np.clip(i, -size, size - 1)
    if kind == "tensor":
        return Case(
            "indexing",
            "a[i]"
            if d == 0 or d == -a.ndim
            else "a[..., i]"
            if d == -1 or d == a.ndim - 1
            else "a[i]",
            {"a": a, "i": i},
            grad=("a",),
        )
    i1 = np.abs(i.reshape(-1)) % max(size, 1)
    if kind == "index_select":
        return Case("indexing", f"a.index_select({d}, i)", {"a": a, "i": i1}, grad=("a",))
    # gather / scatter: an index shaped like a with dim d replaced
    shape = list(a.shape)
    shape[d] = draw(st.integers(0, 3))
    idx = draw(arrays("int64", tuple(shape), lo=0, hi=max(size - 1, 0)))
    idx = np.clip(idx, 0, max(size - 1, 0))
    if size == 0 and idx.size:
        idx = idx[(slice(None),) * (d % a.ndim) + (slice(0, 0),)]
    if kind == "gather":
        return Case("indexing", f"a.gather({d}, i)", {"a": a, "i": idx}, grad=("a",))
    src = draw(arrays(str(a.dtype), idx.shape, finite=True))
    if kind == "scatter":
        # a scalar value: duplicate targets would make a src tensor's result unspecified
        return Case("indexing", f"a.scatter({d}, i, 7)", {"a": a, "i": idx}, grad=("a",))
    if kind == "scatter_add":
        return Case(
            "indexing",
            f"a.scatter_add({d}, i, s)",
            {"a": a, "i": idx, "s": src},
            grad=("a", "s"),
            tol=10,
        )
    red = draw(st.sampled_from(("sum", "prod", "amax", "amin", "mean")))
    inc = draw(st.booleans())
    return Case(
        "indexing",
        f"a.scatter_reduce({d}, i, s, reduce={red!r}, include_self={inc})",
        {"a": a, "i": idx, "s": src},
        tol=10,
    )


def _matmul(draw: Any) -> Case:
    dt = draw(st.sampled_from(FLOATS))
    m, k, n = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(st.sampled_from(((), (2,), (1, 2))))
    kind = draw(st.sampled_from(("matmul", "mm", "dot", "mv", "vm", "batched", "op")))
    shapes_ = {
        "matmul": ((m, k), (k, n)),
        "mm": ((m, k), (k, n)),
        "dot": ((k,), (k,)),
        "mv": ((m, k), (k,)),
        "vm": ((k,), (k, n)),
        "batched": ((*batch, m, k), (k, n)),
        "op": ((*batch, m, k), (*batch[-1:], k, n)),
    }[kind]
    a = draw(arrays(dt, shapes_[0], finite=True, lo=-10, hi=10))
    b = draw(arrays(dt, shapes_[1], finite=True, lo=-10, hi=10))
    expr = {"mm": "a.mm(b)", "dot": "a.dot(b)", "op": "a @ b"}.get(kind, "a.matmul(b)")
    return Case("matmul", expr, {"a": a, "b": b}, grad=("a", "b"), tol=100)


OPS: dict[str, Callable[[Any], Case]] = {"basic-index": _basic_index, "matmul": _matmul}
OPS.update({f"movement.{k}": _movement(k) for k in MOVEMENT})
OPS.update({f"index.{k}": _advanced(k) for k in ADVANCED})


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_fuzz_shape(name: str, data: st.DataObject) -> None:
    check_case(OPS[name](data.draw))
