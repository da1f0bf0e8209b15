"""Adagrad (Duchi, Hazan & Singer 2011), in PyTorch's formulation."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import Optimizer, ParamsT, check_torch_flags, direction, next_step

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 2011.

    .. code-block:: text

        g = -grad if maximize else grad ;  g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                          (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Arguments as ``torch.optim.Adagrad``; foreach, fused, capturable, differentiable are
    PyTorch's flags, see :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` (a 0-d float32 Tensor) and ``sum``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
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
                "lr_decay": lr_decay,
                "weight_decay": weight_decay,
                "initial_accumulator_value": initial_accumulator_value,
                "eps": eps,
                "maximize": maximize,
            },
        )

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not group["lr_decay"] >= 0:
            raise ValueError(f"Adagrad: invalid lr_decay={group['lr_decay']}")
        if not group["initial_accumulator_value"] >= 0:
            raise ValueError(
                f"Adagrad: invalid initial_accumulator_value={group['initial_accumulator_value']}"
            )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        _, g = direction(p, grad, group)
        t = next_step(state, p, self._memo)
        s = state.get("sum")
        s = (g.square() + group["initial_accumulator_value"]) if s is None else s + g.square()
        state["sum"] = s
        clr: Tensor | float = self._hyper(group, "lr", p)  # a replay input of idrak.jit
        if group["lr_decay"]:  # from the step Tensor, so idrak.jit can replay
            decay = 1.0 + (t.cast("float64") - 1.0) * group["lr_decay"]
            clr = (clr / decay).cast(p.dtype)
        return p - (g / (s.sqrt() + group["eps"])) * clr
