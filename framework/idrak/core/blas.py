"""PyTorch's matrix-product functions ``mm``, ``mv``, ``bmm``, ``addmm``, ``addmv``, ``baddbmm``.

All are :meth:`Tensor.matmul` (the DOT-based primitive path) with the strict shape checks
PyTorch makes for each name -- ``mm`` takes exactly two matrices, ``bmm`` two 3-D batches of the
same size -- plus the ``beta * input + alpha * product`` forms. As in PyTorch, ``beta=0`` ignores
``input`` entirely (a NaN in it does not propagate).
"""

from __future__ import annotations

from idrak.core.tensor import Tensor, broadcast_shapes
from idrak.errors import ShapeError

__all__ = ["addmm", "addmv", "baddbmm", "bmm", "mm", "mv"]


def _need(name: str, what: str, t: object, ndim: int) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        raise ShapeError(f"{name}: {what} must be {ndim}-D, got shape {t.shape}")
    return t


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of ``input`` (n, m) and ``mat2`` (m, p) -> (n, p); no broadcasting.

    Raises:
        ShapeError (a RuntimeError and ValueError): an operand that is not 2-D, or inner sizes
        that differ (both shapes named). TypeError: a non-Tensor operand.
    """
    a, b = _need("mm", "input", input, 2), _need("mm", "mat2", mat2, 2)
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"mm: shapes {a.shape} and {b.shape} cannot be multiplied")
    return a.matmul(b)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n, m) times vector (m,) -> (n,).

    Raises:
        ShapeError: wrong ranks or sizes. TypeError: a non-Tensor operand.
    """
    a, v = _need("mv", "input", input, 2), _need("mv", "vec", vec, 1)
    if a.shape[1] != v.shape[0]:
        raise ShapeError(f"mv: shapes {a.shape} and {v.shape} cannot be multiplied")
    return a.matmul(v)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting.

    Raises:
        ShapeError: an operand that is not 3-D, different batch sizes or inner sizes.
        TypeError: a non-Tensor operand.
    """
    a, b = _need("bmm", "input", input, 3), _need("bmm", "mat2", mat2, 3)
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"bmm: shapes {a.shape} and {b.shape} cannot be multiplied")
    return a.matmul(b)


def _scaled_sum(name: str, input: Tensor, product: Tensor, beta: float, alpha: float) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    try:
        shape = broadcast_shapes(input.shape, product.shape)
    except ShapeError:
        shape = ()
    if shape != product.shape:
        raise ShapeError(
            f"{name}: input of shape {input.shape} does not broadcast to the product's "
            f"shape {product.shape}"
        )
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled
    return scaled + (input if beta == 1 else input * beta)


def addmm(
    input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to (n, p).

    Raises:
        ShapeError: as :func:`mm`, or an ``input`` that does not broadcast to (n, p).
    """
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``; ``input`` broadcasts to (n,).

    Raises:
        ShapeError: as :func:`mv`, or an ``input`` that does not broadcast to (n,).
    """
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``; ``input`` broadcasts to (b, n, p).

    Raises:
        ShapeError: as :func:`bmm`, or an ``input`` that does not broadcast to (b, n, p).
    """
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)
