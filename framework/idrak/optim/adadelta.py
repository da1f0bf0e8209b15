"""Adadelta (Zeiler 2012), in PyTorch's formulation."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import Optimizer, ParamsT, check_torch_flags, direction, next_step

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701, as
    ``torch.optim.Adadelta``:

    .. code-block:: text

        g = -grad if maximize else grad ;  g = g + weight_decay * p
        s = rho s + (1 - rho) g^2                           (s, a start at 0)
        delta = sqrt(a + eps) / sqrt(s + eps) * g
        a = rho a + (1 - rho) delta^2
        p = p - lr delta

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: scale of the update (PyTorch's default 1.0). rho: decay of both running averages,
        in [0, 1]. eps: added inside both square roots. weight_decay: L2 penalty added to the
        gradient. maximize: ascend instead of descend. foreach, fused, capturable,
        differentiable: PyTorch's flags, see :func:`~idrak.optim.optimizer.check_torch_flags`.

    State per parameter: ``step`` (a 0-d float32 Tensor), ``square_avg``, ``acc_delta``.

    Raises:
        ValueError: a negative lr / eps / weight_decay or rho outside [0, 1] (value named).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
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
                "rho": rho,
                "eps": eps,
                "weight_decay": weight_decay,
                "maximize": maximize,
            },
        )

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho={group['rho']} (must be in [0, 1])")

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        lr = self._hyper(group, "lr", p)  # a replay input of idrak.jit
        rho, eps = group["rho"], group["eps"]
        _, g = direction(p, grad, group)
        next_step(state, p, self._memo)
        s, a = state.get("square_avg"), state.get("acc_delta")
        s = g.square() * (1.0 - rho) if s is None else s * rho + g.square() * (1.0 - rho)
        rms_a = eps**0.5 if a is None else (a + eps).sqrt()
        delta = rms_a / (s + eps).sqrt() * g
        a = delta.square() * (1.0 - rho) if a is None else a * rho + delta.square() * (1.0 - rho)
        state["square_avg"], state["acc_delta"] = s, a
        return p - delta * lr
