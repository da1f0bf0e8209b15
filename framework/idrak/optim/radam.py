"""RAdam (Liu et al. 2020), in PyTorch's formulation (optional decoupled weight decay)."""

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

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020,
    as ``torch.optim.RAdam``:

    .. code-block:: text

        g = -grad if maximize else grad
        g = g + weight_decay * p          (decoupled_weight_decay: p = p * (1 - lr wd) instead)
        m = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2 ;  m_hat = m / (1 - b1^t)
        rho_inf = 2 / (1 - b2) - 1 ;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        rho_t > 5:  r = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t))
                    p = p - lr m_hat r sqrt(1 - b2^t) / (sqrt(v) + eps)
        otherwise:  p = p - lr m_hat

    The branch on ``rho_t`` is a ``where`` on the step Tensor (not a Python ``if``), so a step
    replays under ``idrak.jit`` across the switch.

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate. betas: (b1, b2) in [0, 1). eps: added to the denominator.
        weight_decay: decay factor. decoupled_weight_decay: decay the parameter (as AdamW)
            instead of adding an L2 term. maximize: ascend instead of descend. foreach, fused,
            capturable, differentiable: PyTorch's flags, see
            :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` (a 0-d float32 Tensor), ``exp_avg``, ``exp_avg_sq``.

    Raises:
        ValueError: a negative lr / eps / weight_decay or betas outside [0, 1) (value named).
    """

    _jit_inputs = ("lr", "betas")  # replay inputs of idrak.jit (a scheduler may change them)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
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
                "decoupled_weight_decay": decoupled_weight_decay,
                "maximize": maximize,
            },
        )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        lr = self._hyper(group, "lr", p)  # replay inputs of idrak.jit: lr and betas
        b1, b2 = self._hyper(group, "betas", p)
        eps = group["eps"]
        p, g = direction(p, grad, group, lr, group["decoupled_weight_decay"])
        t = next_step(state, p, self._memo)
        m, v = state.get("exp_avg"), state.get("exp_avg_sq")
        m = g * (1.0 - b1) if m is None else m * b1 + g * (1.0 - b1)
        v = g.square() * (1.0 - b2) if v is None else v * b2 + g.square() * (1.0 - b2)
        state["exp_avg"], state["exp_avg_sq"] = m, v
        bc1, bc2 = bias_correction(t, b1), bias_correction(t, b2)
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t.cast("float64") * (b2 ** t.cast("float64")) / bc2
        ratio = (
            (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
        )
        rectify = rho_t > 5.0
        rect = ratio.clamp(min=0.0).sqrt().cast(p.dtype)
        adaptive = bc2.sqrt().cast(p.dtype) / (v.sqrt() + eps) * rect
        scale = adaptive.where(rectify, 1.0)
        return p - m * (lr / bc1).cast(p.dtype) * scale
