"""The vocabulary of the autograd layer's programs: :class:`Program`, the input ranges the
records use, and the input preparations that keep an op differentiable.

Each op's program lives in its reference record (the ``grad`` field of
:class:`~idrak.testing._reference.Spec` and
:class:`~idrak.testing._optional_reference.OptionalSpec`), so one record per op holds everything
the suite checks about it; ``test_5_autograd`` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["M34", "PAIR", "POS", "Inputs", "Program", "apart", "distinct_rows"]

#: the differentiable inputs: (shape, low, high) of a uniform draw, one per input
Inputs = tuple[tuple[tuple[int, ...], float, float], ...]


@dataclass(frozen=True)
class Program:
    """A Tensor program ``code`` over differentiable inputs ``x0, x1`` and a constant ``c0``.

    The autograd layer runs it with loss ``sum(program * w)`` and compares the gradient (and the
    gradient of ``<gradient, u>``) with finite differences.

    Attributes:
        code: a Python expression using the op, e.g. ``"x0.exp()"``; ``idrak`` is in scope.
        inputs: one ``(shape, low, high)`` per differentiable input.
        const: the constant input ``c0`` (a mask, an index), from the check's generator.
        prep: adjusts the drawn inputs (keeps them away from non-differentiable points).
        h: a finite-difference step of its own (for functions that are exactly linear).
    """

    code: str
    inputs: Inputs
    const: Callable[[np.random.Generator], np.ndarray] | None = None
    prep: Callable[[list[np.ndarray], np.random.Generator], list[np.ndarray]] | None = None
    h: float | None = None


def apart(xs: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """``x1`` at least 0.2 away from ``x0``: MAX is differentiable there."""
    sign = np.where(rng.random(xs[0].shape) < 0.5, -1.0, 1.0)
    return [xs[0], xs[0] + sign * rng.uniform(0.2, 1.0, xs[0].shape)]


def distinct_rows(xs: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Every row a permutation of well-separated values: REDUCE_MAX has a unique maximum."""
    n, m = xs[0].shape
    return [np.stack([rng.permutation(m) * 0.5 for _ in range(n)]) + rng.uniform(-0.1, 0.1)]


#: one (3, 4) input in [-2, 2]; one in [0.5, 3] (for LOG, SQRT, ...); two in [-2, 2]
M34: Inputs = (((3, 4), -2.0, 2.0),)
POS: Inputs = (((3, 4), 0.5, 3.0),)
PAIR: Inputs = (((3, 4), -2.0, 2.0), ((3, 4), -2.0, 2.0))
