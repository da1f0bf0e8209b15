"""The optimizers added for PyTorch ports (Adadelta, Adamax, NAdam, RAdam) track torch after
EVERY one of 20 steps (float64), and every optimizer takes torch's foreach / fused / capturable /
differentiable keywords, refusing what it cannot do by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import idrak
from idrak import nn, optim
from idrak.errors import NotSupportedError

torch = pytest.importorskip("torch")

STEPS = 20
NEW: list[tuple[str, dict[str, Any]]] = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.3, "rho": 0.7, "weight_decay": 0.05, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.random.default_rng(3)
    return r.standard_normal((3, 4)), r.standard_normal((8, 4)), r.standard_normal((8, 3))


@pytest.mark.parametrize(("name", "kw"), NEW, ids=[f"{n}-{i}" for i, (n, _) in enumerate(NEW)])
def test_tracks_torch_every_step(name: str, kw: dict[str, Any]) -> None:
    w0, x, y = _data()
    wi = nn.Parameter(idrak.tensor(w0))
    wt = torch.tensor(w0, requires_grad=True)
    oi = getattr(optim, name)([wi], **kw)
    ot = getattr(torch.optim, name)([wt], **kw)
    xi, yi, xt, yt = idrak.tensor(x), idrak.tensor(y), torch.tensor(x), torch.tensor(y)
    for step in range(STEPS):
        oi.zero_grad()
        ot.zero_grad()
        ((xi @ wi.T).tanh() - yi).square().mean().backward()
        ((xt @ wt.T).tanh() - yt).square().mean().backward()
        oi.step()
        ot.step()
        np.testing.assert_allclose(
            wi.numpy(), wt.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=f"step {step + 1}"
        )
    assert not np.allclose(wi.numpy(), w0)


def test_torch_defaults() -> None:
    import inspect

    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "Adam", "AdamW", "SGD", "RMSprop"):
        ours = inspect.signature(getattr(optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for k, p in theirs.items():
            if k == "params" or p.default is inspect.Parameter.empty:
                continue
            assert k in ours, f"{name} lacks torch's argument {k}"
            want = p.default
            got = ours[k].default
            assert got == want or (k == "fused" and got is None), f"{name}.{k}: {got} != {want}"


ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion", "Adadelta", "Adamax", "NAdam", "RAdam"]


@pytest.mark.parametrize("name", ALL)
def test_torch_flags_accepted_and_refused(name: str) -> None:
    p = nn.Parameter(idrak.ones(3))
    cls = getattr(optim, name)
    for flags in ({"foreach": True}, {"foreach": False, "fused": None}, {"capturable": True}):
        opt = cls([p], **flags)
        p.grad = idrak.ones(3)
        opt.step()  # the flags change nothing about the step
    with pytest.raises(NotSupportedError, match="differentiable=True"):
        cls([p], differentiable=True)
    with pytest.raises(TypeError, match="foreach must be True, False or None, got 'yes'"):
        cls([p], foreach="yes")
    with pytest.raises(TypeError, match="capturable must be True or False, got None"):
        cls([p], capturable=None)


def test_flags_do_not_change_the_update() -> None:
    w0, x, y = _data()
    out = []
    for flags in ({}, {"foreach": True, "fused": True, "capturable": True}):
        w = nn.Parameter(idrak.tensor(w0))
        opt = optim.NAdam([w], lr=0.1, **flags)
        for _ in range(3):
            opt.zero_grad()
            ((idrak.tensor(x) @ w.T) - idrak.tensor(y)).square().sum().backward()
            opt.step()
        out.append(w.numpy())
    np.testing.assert_array_equal(out[0], out[1])


def test_new_optimizer_errors_name_the_values() -> None:
    p = nn.Parameter(idrak.zeros(2))
    with pytest.raises(ValueError, match=r"rho=1\.5"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match=r"momentum_decay=-1"):
        optim.NAdam([p], momentum_decay=-1)
    with pytest.raises(ValueError, match=r"\(0.9, 1.0\)"):
        optim.RAdam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="eps=-1"):
        optim.Adamax([p], eps=-1)
