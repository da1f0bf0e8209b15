"""Adamax (Kingma & Ba 2015, section 7.1), in PyTorch's formulation."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import (
    Optimizer,
    ParamsT,
    bias_correction,
    check_torch_flags,
    direction,
    next_step,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, the infinity-norm variant of Adam (Kingma & Ba, "Adam: A Method for Stochastic
    Optimization", ICLR 2015, section 7.1), as ``torch.optim.Adamax``:

    .. code-block:: text

        g = -grad if maximize else grad ;  g = g + weight_decay * p
        m = b1 m + (1 - b1) g                               (m, u start at 0; t counts steps)
        u = max(b2 u, |g| + eps)
        p = p - lr / (1 - b1^t) * m / u

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate (PyTorch's default 2e-3). betas: (b1, b2) in [0, 1). eps: added to
            ``|g|``. weight_decay: L2 penalty added to the gradient. maximize: ascend instead of
            descend. foreach, fused, capturable, differentiable: PyTorch's flags, see
            :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` (a 0-d float32 Tensor), ``exp_avg``, ``exp_inf``.

    Raises:
        ValueError: a negative lr / eps / weight_decay or betas outside [0, 1) (value named).
    """

    _jit_inputs = ("lr", "betas")  # replay inputs of idrak.jit (a scheduler may change them)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        maximize: bool = False,
        *,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags(type(self).__name__, foreach, fused, capturable, differentiable)
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "maximize": maximize,
            },
        )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        lr = self._hyper(group, "lr", p)  # replay inputs of idrak.jit: lr and betas
        b1, b2 = self._hyper(group, "betas", p)
        eps = group["eps"]
        _, g = direction(p, grad, group)
        t = next_step(state, p, self._memo)
        m, u = state.get("exp_avg"), state.get("exp_inf")
        m = g * (1.0 - b1) if m is None else m * b1 + g * (1.0 - b1)
        u = g.abs() + eps if u is None else (u * b2).maximum(g.abs() + eps)
        state["exp_avg"], state["exp_inf"] = m, u
        step_size = (lr / bias_correction(t, b1)).cast(p.dtype)
        return p - (m / u) * step_size
