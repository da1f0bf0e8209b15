"""Gradient clipping and parameter/vector conversion (``torch.nn.utils`` names)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from idrak.core import toplevel as functions
from idrak.core.tensor import Tensor
from idrak.errors import IdrakError

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _params(parameters: Any) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    if isinstance(parameters, Mapping):
        return list(parameters.values())
    return list(parameters)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor] | Mapping[str, Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so their joint ``norm_type``-norm is at most ``max_norm``.

    ``total = ||(||g_1||, ..., ||g_n||)||``; each gradient is multiplied by
    ``min(1, max_norm / (total + 1e-6))`` (PyTorch's formula). The scaling stays lazy: no
    device synchronisation unless ``error_if_nonfinite``.

    Args:
        parameters: tensors (or a ``.params`` dict); those without ``.grad`` are skipped.
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm; ``math.inf`` for the max-norm.
        error_if_nonfinite: raise if the total norm is NaN or infinite.

    Returns:
        The total norm before clipping (a 0-d Tensor).

    Raises:
        IdrakError: a non-finite total norm with ``error_if_nonfinite``.
        ValueError: ``max_norm < 0``.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)):
        raise TypeError(f"clip_grad_norm_: max_norm must be a number, got {max_norm!r}")
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    grads: list[Any] = [p for p in _params(parameters) if p.grad is not None]
    if not grads:
        from idrak.core.creation import zeros

        return zeros(())
    norms = [p.grad.norm(norm_type) for p in grads]
    stacked = functions.stack([n.cast(norms[0].dtype) for n in norms])
    total = stacked.amax() if norm_type == math.inf else stacked.norm(norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.item())):
        raise IdrakError(
            f"clip_grad_norm_: the total norm of the gradients is "
            f"{float(total.item())}; set error_if_nonfinite=False to clip anyway"
        )
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for p in grads:
        g = p.grad
        assert g is not None
        p.grad = (g * coef.cast(g.dtype)).detach()
    return total


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor] | Mapping[str, Tensor], clip_value: float
) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``."""
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _params(parameters):
        if p.grad is not None:
            p.grad = p.grad.clamp(-float(clip_value), float(clip_value)).detach()


def parameters_to_vector(parameters: Iterable[Tensor] | Mapping[str, Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor."""
    return functions.cat([p.reshape(-1) for p in _params(parameters)])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor] | Mapping[str, Tensor]) -> None:
    """Replace each parameter's value with its slice of ``vec`` (the inverse of
    :func:`parameters_to_vector`).

    Raises:
        ValueError: ``vec`` has the wrong number of elements.
    """
    from idrak.core.autograd import no_grad

    ps = _params(parameters)
    total = sum(p.numel() for p in ps)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(
            f"vector_to_parameters: expected a vector of {total} elements, got "
            f"shape {tuple(vec.shape)}"
        )
    start = 0
    with no_grad():
        for p in ps:
            n = p.numel()
            p.assign(vec.narrow(0, start, n).reshape(p.shape))
            start += n


from idrak.nn.utils import rnn  # noqa: E402 - torch.nn.utils.rnn: padded and packed batches

__all__ += ["rnn"]
