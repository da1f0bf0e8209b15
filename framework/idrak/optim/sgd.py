"""Stochastic gradient descent with momentum (Polyak 1964) and Nesterov momentum
(Sutskever et al. 2013), in PyTorch's formulation."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import Optimizer, ParamsT, check_torch_flags, direction

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD, exactly as ``torch.optim.SGD``:

    .. code-block:: text

        g = -grad if maximize else grad
        g = g + weight_decay * p                       (if weight_decay)
        b = g                       on the first step   (if momentum)
        b = momentum * b + (1 - dampening) * g          afterwards
        g = g + momentum * b if nesterov else b
        p = p - lr * g

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate. momentum: factor in [0, inf). dampening: for momentum.
        weight_decay: L2 penalty added to the gradient. nesterov: Nesterov momentum (needs
            momentum > 0 and dampening 0). maximize: ascend instead of descend.
        foreach, fused, capturable, differentiable: PyTorch's flags, see
            :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``momentum_buffer`` (when momentum > 0).

    Raises:
        ValueError: a negative lr/momentum/weight_decay, or nesterov without momentum or with
            dampening.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
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
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
            },
        )

    _jit_inputs = ("lr", "momentum")
    _jit_branches = ("momentum",)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not group["momentum"] >= 0:
            raise ValueError(f"SGD: invalid momentum={group['momentum']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov needs momentum > 0 and dampening 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        _, g = direction(p, grad, group)
        if group["momentum"]:  # whether it is 0 is in idrak.jit's signature; its value is not
            mu = self._hyper(group, "momentum", p)
            buf = state.get("momentum_buffer")
            # a copy of its own from the start (torch clones the gradient), not the gradient's
            # buffer, so a jit signature does not change after the first step
            buf = g.contiguous() if buf is None else buf * mu + g * (1.0 - group["dampening"])
            state["momentum_buffer"] = buf
            g = g + buf * mu if group["nesterov"] else buf
        return p - g * self._hyper(group, "lr", p)
