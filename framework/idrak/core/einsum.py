"""``einsum``: an Einstein-summation equation lowered to diagonal/sum/permute/reshape/MATMUL.

The equation is parsed once into per-operand label lists (``...`` becomes one label per
broadcast dim, aligned from the right). Each operand first takes the diagonal of any label it
repeats (``ii->i``) and sums the labels nobody else uses; then the operands are contracted left
to right, each pair as one batched MATMUL: shared labels still needed later are batch dims,
shared labels needed nowhere else are contracted, the rest are the rows and columns. Size-1
dims broadcast against their label's size, as torch's. The output is the explicit right-hand
side, or (implicit form) the ellipsis dims followed by the labels used once, sorted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from idrak.contract.dtypes import result_type
from idrak.core.tensor import Tensor

__all__ = ["einsum"]


def _parse_term(term: str, equation: str) -> list[str]:
    """Labels of one term; ``...`` stays as the single item ``"..."``."""
    out: list[str] = []
    i = 0
    while i < len(term):
        if term.startswith("...", i):
            if "..." in out:
                raise ValueError(f"einsum {equation!r}: '...' appears twice in term {term!r}")
            out.append("...")
            i += 3
        elif term[i].isascii() and term[i].isalpha():
            out.append(term[i])
            i += 1
        else:
            raise ValueError(f"einsum {equation!r}: invalid subscript {term[i]!r} (use a-z, A-Z)")
    return out


def _expand_ellipsis(labels: list[str], ndim: int, n_ell: int, equation: str, k: int) -> list[str]:
    if "..." not in labels:
        if len(labels) != ndim:
            raise ValueError(
                f"einsum {equation!r}: operand {k} has {ndim} dims but its term has "
                f"{len(labels)} subscripts"
            )
        return labels
    j = labels.index("...")
    e = ndim - (len(labels) - 1)
    if e < 0:
        raise ValueError(
            f"einsum {equation!r}: operand {k} has {ndim} dims, fewer than its "
            f"{len(labels) - 1} subscripts"
        )
    return labels[:j] + [f".{i}" for i in range(n_ell - e, n_ell)] + labels[j + 1 :]


def _ell_dims(labels: list[str], ndim: int) -> int:
    return ndim - (len(labels) - 1) if "..." in labels else 0


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum of products over the labels of ``equation`` (``torch.einsum``), e.g.
    ``einsum("bij,bjk->bik", a, b)`` (batched matmul), ``einsum("ii", a)`` (trace),
    ``einsum("...ij->...ji", a)``. Operands may also be passed as one list. Operands are
    promoted to a common dtype.

    Raises:
        ValueError: a malformed equation, a term that does not match its operand's dims, an
            output label that no input has or that repeats, or sizes that cannot broadcast --
            each naming the equation.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = list(operands)
    if not ops:
        raise ValueError(f"einsum {equation!r}: needs at least one operand")
    for k, t in enumerate(ops):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum {equation!r}: operand {k} is {type(t).__name__}, not a Tensor")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = [_parse_term(t, equation) for t in lhs.split(",")]
    if len(terms) != len(ops):
        raise ValueError(
            f"einsum {equation!r}: {len(terms)} operand terms but {len(ops)} operands given"
        )
    n_ell = max(_ell_dims(t, x.ndim) for t, x in zip(terms, ops))
    labels = [
        _expand_ellipsis(t, x.ndim, n_ell, equation, k) for k, (t, x) in enumerate(zip(terms, ops))
    ]
    ell = [f".{i}" for i in range(n_ell)]
    counts: dict[str, int] = {}
    for ls in labels:
        for lb in ls:
            counts[lb] = counts.get(lb, 0) + 1
    if arrow:
        out_terms = _parse_term(rhs, equation)
        out = [lb for t in out_terms for lb in (ell if t == "..." else [t])]
        for lb in out:
            if lb not in counts and not lb.startswith("."):
                raise ValueError(f"einsum {equation!r}: output subscript {lb!r} is in no input")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum {equation!r}: an output subscript repeats")
        out = [lb for lb in out if lb in counts]
    else:
        out = [lb for lb in ell if lb in counts] + sorted(
            lb for lb, c in counts.items() if c == 1 and not lb.startswith(".")
        )
    sizes = _label_sizes(labels, ops, equation)
    dt = result_type([t.dtype for t in ops])
    items = [_prepare(t.cast(dt), ls, sizes, equation) for t, ls in zip(ops, labels)]
    x, xl = items[0]
    for k in range(1, len(items)):
        later = {lb for _, ls in items[k + 1 :] for lb in ls}
        y, yl = items[k]
        x, xl = _sum_unused(x, xl, set(out) | later | set(yl))
        y, yl = _sum_unused(y, yl, set(out) | later | set(xl))
        x, xl = _contract(x, xl, y, yl, set(out) | later, sizes)
    x, xl = _sum_unused(x, xl, set(out))
    return x.permute([xl.index(lb) for lb in out]) if xl else x


def _label_sizes(labels: list[list[str]], ops: Sequence[Tensor], equation: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for ls, t in zip(labels, ops):
        for lb, n in zip(ls, t.shape):
            s = sizes.get(lb, 1)
            if n != 1 and s != 1 and n != s:
                name = "..." if lb.startswith(".") else lb
                raise ValueError(
                    f"einsum {equation!r}: subscript {name!r} has sizes {s} and {n}, which "
                    "cannot broadcast"
                )
            sizes[lb] = s if n == 1 else n
    return sizes


def _prepare(
    x: Tensor, ls: list[str], sizes: dict[str, int], equation: str
) -> tuple[Tensor, list[str]]:
    """Take the diagonals of repeated labels, then broadcast size-1 dims to the label sizes."""
    ls = list(ls)
    while len(set(ls)) != len(ls):
        lb = next(lb for lb in ls if ls.count(lb) > 1)
        i = ls.index(lb)
        j = ls.index(lb, i + 1)
        if x.shape[i] != x.shape[j]:
            raise ValueError(
                f"einsum {equation!r}: repeated subscript {lb!r} has sizes {x.shape[i]} and "
                f"{x.shape[j]} in one operand"
            )
        x = x.diagonal(0, i, j)
        ls = [m for k, m in enumerate(ls) if k not in (i, j)] + [lb]
    target = tuple(sizes[lb] for lb in ls)
    return (x.expand(target) if target != x.shape else x), ls


def _sum_unused(x: Tensor, ls: list[str], keep: set[str]) -> tuple[Tensor, list[str]]:
    drop = [i for i, lb in enumerate(ls) if lb not in keep]
    if not drop:
        return x, ls
    return x.sum(tuple(drop)), [lb for i, lb in enumerate(ls) if i not in drop]


def _contract(
    x: Tensor, xl: list[str], y: Tensor, yl: list[str], keep: set[str], sizes: dict[str, int]
) -> tuple[Tensor, list[str]]:
    """One pairwise contraction as a batched MATMUL."""
    shared = [lb for lb in xl if lb in yl]
    batch = [lb for lb in shared if lb in keep]
    red = [lb for lb in shared if lb not in keep]
    xo = [lb for lb in xl if lb not in yl]
    yo = [lb for lb in yl if lb not in xl]
    xp = x.permute([xl.index(lb) for lb in batch + xo + red]) if xl else x
    yp = y.permute([yl.index(lb) for lb in batch + red + yo]) if yl else y
    nb = math.prod(sizes[lb] for lb in batch)
    m = math.prod(sizes[lb] for lb in xo)
    k = math.prod(sizes[lb] for lb in red)
    n = math.prod(sizes[lb] for lb in yo)
    z = xp.reshape(nb, m, k).matmul(yp.reshape(nb, k, n))
    return z.reshape(tuple(sizes[lb] for lb in batch + xo + yo)), batch + xo + yo
