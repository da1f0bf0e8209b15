"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms")."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import Optimizer, ParamsT, check_torch_flags

__all__ = ["Lion"]


class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum): Chen et al., "Symbolic Discovery of Optimization
    Algorithms", NeurIPS 2023 (Algorithm 2, with decoupled weight decay).

    .. code-block:: text

        c = b1 m + (1 - b1) g
        p = p * (1 - lr * weight_decay) - lr * sign(c)
        m = b2 m + (1 - b2) g                       (m starts at 0)

    Every coordinate moves by exactly ``lr``, so use a learning rate 3-10x smaller than
    AdamW's and a weight decay 3-10x larger (the paper's advice).

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate. betas: (b1, b2) in [0, 1). weight_decay: decoupled decay.
        maximize: ascend instead of descend.
        foreach, fused, capturable, differentiable: PyTorch's flags, see
            :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``exp_avg``.
    """

    _jit_inputs = ("lr", "betas")  # replay inputs of idrak.jit

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
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
            {"lr": lr, "betas": tuple(betas), "weight_decay": weight_decay, "maximize": maximize},
        )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        wd = group["weight_decay"]
        lr = self._hyper(group, "lr", p)  # replay inputs of idrak.jit: lr and betas
        b1, b2 = self._hyper(group, "betas", p)
        g = -grad if group["maximize"] else grad
        m = state.get("exp_avg")
        c = g * (1.0 - b1) if m is None else m * b1 + g * (1.0 - b1)
        state["exp_avg"] = g * (1.0 - b2) if m is None else m * b2 + g * (1.0 - b2)
        if wd:
            p = p * (1.0 - lr * wd)
        return p - c.sign() * lr
