"""NAdam (Dozat 2016), in PyTorch's formulation (momentum schedule, optional decoupled decay)."""

from __future__ import annotations

from typing import Any

from idrak.core.creation import full
from idrak.core.tensor import Tensor
from idrak.optim.optimizer import (
    STEP_DTYPE,
    Optimizer,
    ParamsT,
    bias_correction,
    check_torch_flags,
    direction,
    next_step,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop, as
    ``torch.optim.NAdam``:

    .. code-block:: text

        g = -grad if maximize else grad
        g = g + weight_decay * p          (decoupled_weight_decay: p = p * (1 - lr wd) instead)
        mu_t = b1 (1 - 0.5 * 0.96^(t psi)) ;  mu_{t+1} likewise   (psi = momentum_decay)
        P = P * mu_t                                        (P, the product of the mu, starts at 1)
        m = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2
        d = sqrt(v / (1 - b2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - P) * g / d - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate (PyTorch's default 2e-3). betas: (b1, b2) in [0, 1). eps: added to
            the denominator. weight_decay: decay factor. momentum_decay: psi above (4e-3).
        decoupled_weight_decay: decay the parameter (as AdamW) instead of adding an L2 term.
        maximize: ascend instead of descend. foreach, fused, capturable, differentiable:
            PyTorch's flags, see :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` and ``mu_product`` (0-d float32 Tensors, as PyTorch keeps
    them), ``exp_avg``, ``exp_avg_sq``.

    Raises:
        ValueError: a negative lr / eps / weight_decay / momentum_decay or betas outside [0, 1).
    """

    _jit_inputs = ("lr", "betas")  # replay inputs of idrak.jit (a scheduler may change them)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
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
                "momentum_decay": momentum_decay,
                "decoupled_weight_decay": decoupled_weight_decay,
                "maximize": maximize,
            },
        )

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not group["momentum_decay"] >= 0:
            raise ValueError(f"NAdam: invalid momentum_decay={group['momentum_decay']}")

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        lr = self._hyper(group, "lr", p)  # replay inputs of idrak.jit: lr and betas
        b1, b2 = self._hyper(group, "betas", p)
        eps = group["eps"]
        psi = group["momentum_decay"]
        p, g = direction(p, grad, group, lr, group["decoupled_weight_decay"])
        t = next_step(state, p, self._memo)
        t64 = t.cast("float64")
        mu = (1.0 - 0.5 * 0.96 ** (t64 * psi)) * b1
        mu_next = (1.0 - 0.5 * 0.96 ** ((t64 + 1.0) * psi)) * b1
        prod = state.get("mu_product")
        if prod is None:
            prod = full((), 1.0, STEP_DTYPE, p.device)
        prod = prod * mu.cast(STEP_DTYPE)  # float32 times float32(mu), as PyTorch computes it
        state["mu_product"] = prod
        m, v = state.get("exp_avg"), state.get("exp_avg_sq")
        m = g * (1.0 - b1) if m is None else m * b1 + g * (1.0 - b1)
        v = g.square() * (1.0 - b2) if v is None else v * b2 + g.square() * (1.0 - b2)
        state["exp_avg"], state["exp_avg_sq"] = m, v
        denom = (v / bias_correction(t, b2).cast(p.dtype)).sqrt() + eps
        prod64 = prod.cast("float64")
        c_grad = (lr * (1.0 - mu) / (1.0 - prod64)).cast(p.dtype)
        c_avg = (lr * mu_next / (1.0 - prod64 * mu_next)).cast(p.dtype)
        return p - g / denom * c_grad - m / denom * c_avg
