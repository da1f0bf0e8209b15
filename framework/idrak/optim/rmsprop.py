"""RMSprop (Hinton, Lecture 6e of "Neural Networks for Machine Learning", 2012; centered
variant from Graves 2013), in PyTorch's formulation."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import Optimizer, ParamsT, check_torch_flags, direction, next_step

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``:

    .. code-block:: text

        g = -grad if maximize else grad ;  g = g + weight_decay * p
        s = alpha s + (1 - alpha) g^2                        (s starts at 0)
        centered: a = alpha a + (1 - alpha) g ;  d = sqrt(s - a^2) + eps
        else:     d = sqrt(s) + eps
        momentum > 0: b = momentum b + g / d ;  p = p - lr b
        else:         p = p - lr g / d

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate. alpha: smoothing constant in [0, 1]. eps: added to the denominator.
        weight_decay: L2 penalty. momentum: momentum factor. centered: normalise by the
            variance estimate. maximize: ascend instead of descend.
        foreach, fused, capturable, differentiable: PyTorch's flags, see
            :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` (a 0-d float32 Tensor), ``square_avg``, and ``grad_avg`` /
    ``momentum_buffer`` when used.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
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
                "alpha": alpha,
                "eps": eps,
                "weight_decay": weight_decay,
                "momentum": momentum,
                "centered": centered,
                "maximize": maximize,
            },
        )

    _jit_inputs = ("lr", "momentum")
    _jit_branches = ("momentum",)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not 0.0 <= group["alpha"] <= 1.0:
            raise ValueError(f"RMSprop: invalid alpha={group['alpha']} (must be in [0, 1])")
        if not group["momentum"] >= 0:
            raise ValueError(f"RMSprop: invalid momentum={group['momentum']}")

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        alpha, eps = group["alpha"], group["eps"]
        _, g = direction(p, grad, group)
        s = state.get("square_avg")
        s = g.square() * (1.0 - alpha) if s is None else s * alpha + g.square() * (1.0 - alpha)
        next_step(state, p, self._memo)
        state["square_avg"] = s
        if group["centered"]:
            a = state.get("grad_avg")
            a = g * (1.0 - alpha) if a is None else a * alpha + g * (1.0 - alpha)
            state["grad_avg"] = a
            d = (s - a.square()).sqrt() + eps
        else:
            d = s.sqrt() + eps
        lr = self._hyper(group, "lr", p)  # replay inputs of idrak.jit, as momentum
        if group["momentum"] > 0:  # whether it is 0 is in the signature; its value is not
            mu = self._hyper(group, "momentum", p)  # read on every step, the first included
            b = state.get("momentum_buffer")
            b = g / d if b is None else b * mu + g / d
            state["momentum_buffer"] = b
            return p - b * lr
        return p - (g / d) * lr
