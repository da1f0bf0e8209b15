"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), in PyTorch's formulation."""

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

__all__ = ["Adam", "AdamW", "WAdam"]


class Adam(Optimizer):
    """Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    .. code-block:: text

        g = -grad if maximize else grad
        g = g + weight_decay * p                          (L2; AdamW decays p instead)
        m = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2   (m, v start at 0; t counts steps)
        v_hat = max(v_hat, v) if amsgrad else v           (Reddi et al. 2018)
        p = p - lr / (1 - b1^t) * m / (sqrt(v_hat) / sqrt(1 - b2^t) + eps)

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate. betas: (b1, b2) in [0, 1). eps: added to the denominator.
        weight_decay: L2 penalty added to the gradient. amsgrad: keep the maximum of v.
        maximize: ascend instead of descend. decoupled_weight_decay: decay ``p`` directly,
            which makes this AdamW (PyTorch >= 2.6). foreach, fused, capturable, differentiable:
            PyTorch's flags, see :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` (a 0-d float32 Tensor), ``exp_avg``, ``exp_avg_sq`` and,
    with amsgrad, ``max_exp_avg_sq``.
    """

    _decoupled = False
    _jit_inputs = ("lr", "betas")  # a one-cycle schedule cycles betas[0]

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
        *,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_torch_flags(type(self).__name__, foreach, fused, capturable, differentiable)
        self._decoupled = self._decoupled or bool(decoupled_weight_decay)
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
            },
        )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        eps = group["eps"]
        lr = self._hyper(group, "lr", p)  # replay inputs of idrak.jit: lr and betas
        b1, b2 = self._hyper(group, "betas", p)
        p, g = direction(p, grad, group, lr, self._decoupled)
        memo = self._memo
        t = next_step(state, p, memo)
        fk = ("adam-betas", id(b1), id(b2), p.dtype)
        if fk not in memo:  # the factors in p's dtype once per step, not once per parameter
            factors = (b1, 1.0 - b1, b2, 1.0 - b2)
            memo[fk] = tuple(x.cast(p.dtype) if isinstance(x, Tensor) else x for x in factors)
        c1, d1, c2, d2 = memo[fk]
        m, v = state.get("exp_avg"), state.get("exp_avg_sq")
        m = g * d1 if m is None else m * c1 + g * d1
        v = g.square() * d2 if v is None else v * c2 + g.square() * d2
        state["exp_avg"], state["exp_avg_sq"] = m, v
        if group["amsgrad"]:
            vmax = state.get("max_exp_avg_sq")
            # a buffer of its own from the start (not v's), so every state entry has one slot
            vmax = v.contiguous() if vmax is None else vmax.maximum(v)
            state["max_exp_avg_sq"] = vmax
            v = vmax
        # bias corrections from the step Tensor (not a Python int), so idrak.jit can replay
        key = ("adam", id(t), id(b1), id(b2), id(lr), p.dtype)  # shared by the step's parameters
        if key not in memo:
            memo[key] = (
                (1.0 / bias_correction(t, b2).sqrt()).cast(p.dtype),
                (lr / bias_correction(t, b1)).cast(p.dtype),
            )
        inv_c2, step_size = memo[key]
        return p - (m / (v.sqrt() * inv_c2 + eps)) * step_size


class AdamW(Adam):
    """AdamW: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.

    Adam whose weight decay shrinks the parameter directly, ``p = p * (1 - lr * weight_decay)``,
    instead of adding an L2 term to the gradient. Default ``weight_decay=1e-2`` as in PyTorch.
    Same arguments and state as :class:`Adam`.
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
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
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize,
            foreach=foreach,
            fused=fused,
            capturable=capturable,
            differentiable=differentiable,
        )


#: AdamW under the name the abdou_torch seed gives it ("WAdam": Adam with decoupled weight decay);
#: the same class, so ``WAdam(params, lr=4e-4, weight_decay=1e-4)`` is exactly AdamW.
WAdam = AdamW
