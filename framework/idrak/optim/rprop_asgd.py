"""Rprop (Riedmiller & Braun 1993) and ASGD (Polyak & Juditsky 1992), in PyTorch's
formulations."""

from __future__ import annotations

from typing import Any

from idrak.core.tensor import Tensor
from idrak.optim.optimizer import Optimizer, ParamsT, check_torch_flags, direction, next_step

__all__ = ["ASGD", "Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun, "A Direct Adaptive Method for Faster
    Backpropagation Learning: The RPROP Algorithm", ICNN 1993), as ``torch.optim.Rprop``:

    .. code-block:: text

        g = -grad if maximize else grad          (step sizes start at lr, prev at 0)
        s = sign(g * prev) ;  f = eta+ where s > 0, eta- where s < 0, else 1
        step_size = clamp(step_size * f, step_min, step_max)
        g = 0 where f == eta-                    (no move, and no sign memory, after a flip)
        p = p - sign(g) * step_size ;  prev = g

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: the initial step size (PyTorch's default 1e-2). etas: (eta-, eta+) with
            0 < eta- < 1 < eta+. step_sizes: (min, max) step size. maximize: ascend instead.
            foreach, capturable, differentiable: PyTorch's flags (see
            :func:`~idrak.optim.optimizer.check_torch_flags`).

    State per parameter: ``step``, ``prev``, ``step_size``.

    Raises:
        ValueError: ``lr < 0`` or etas outside ``0 < eta- < 1 < eta+`` (value named).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags(type(self).__name__, foreach, None, capturable, differentiable)
        if not lr >= 0.0:
            raise ValueError(f"Rprop: invalid learning rate {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: invalid eta values {tuple(etas)}: need 0 < eta- < 1 < eta+")
        super().__init__(
            params,
            {
                "lr": lr,
                "etas": tuple(etas),
                "step_sizes": tuple(step_sizes),
                "maximize": maximize,
            },
        )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        eta_minus, eta_plus = group["etas"]
        lo, hi = group["step_sizes"]
        g = -grad if group["maximize"] else grad
        next_step(state, p, self._memo)
        prev, size = state.get("prev"), state.get("step_size")
        if prev is None or size is None:
            prev = g.zeros_like()
            size = g.zeros_like() + float(group["lr"])
        s = (g * prev).sign()
        ep, em, one = (g._full_like_shape(float(v), ()) for v in (eta_plus, eta_minus, 1.0))
        f = (s > 0)._select(ep, (s < 0)._select(em, one))  # in p's dtype, as torch's
        size = (size * f).clamp(lo, hi)
        g = (f == eta_minus)._select(g.zeros_like(), g)
        state["prev"], state["step_size"] = g, size
        return p - g.sign() * size


class ASGD(Optimizer):
    """Averaged stochastic gradient descent (Polyak & Juditsky, "Acceleration of Stochastic
    Approximation by Averaging", 1992), as ``torch.optim.ASGD``:

    .. code-block:: text

        g = -grad if maximize else grad ;  g = g + weight_decay * p       (t counts steps)
        eta = lr / (1 + lambd lr (t - 1))^alpha ;  mu = 1 / max(1, t - 1 - t0)
        p = p (1 - lambd eta) - eta g
        ax = p if mu == 1 else ax + mu (p - ax)           (the average, state "ax")

    Args:
        params: tensors, a ``.params`` dict, or parameter-group dicts.
        lr: learning rate (default 1e-2). lambd: decay term. alpha: power for the eta update.
            t0: the step at which averaging starts. weight_decay: L2 penalty added to the
            gradient. maximize: ascend instead. foreach, capturable, differentiable:
            PyTorch's flags.

    State per parameter: ``step``, ``ax``.

    Raises:
        ValueError: a negative lr or weight_decay (value named).
    """

    _jit_inputs = ("lr",)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_torch_flags(type(self).__name__, foreach, None, capturable, differentiable)
        if not lr >= 0.0:
            raise ValueError(f"ASGD: invalid learning rate {lr}")
        if not weight_decay >= 0.0:
            raise ValueError(f"ASGD: invalid weight_decay value {weight_decay}")
        super().__init__(
            params,
            {
                "lr": lr,
                "lambd": lambd,
                "alpha": alpha,
                "t0": t0,
                "weight_decay": weight_decay,
                "maximize": maximize,
            },
        )

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        lr = self._hyper(group, "lr", p)
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        _, g = direction(p, grad, group)
        t = next_step(state, p, self._memo)
        # torch computes eta and mu in float64 and keeps them as float32 scalars
        t64 = t.cast("float64")
        eta = (lr / ((t64 - 1.0) * (lr * lambd) + 1.0) ** alpha).cast("float32").cast("float64")
        mu = (1.0 / (t64 - 1.0 - t0).maximum(t64._full_like_shape(1.0))).cast("float32")
        new = p * (1.0 - eta * lambd).cast(p.dtype) - g * eta.cast(p.dtype)
        ax = state.get("ax")
        ax = new if ax is None else (mu == 1.0)._select(new, ax + (new - ax) * mu.cast(p.dtype))
        state["ax"] = ax
        return new
