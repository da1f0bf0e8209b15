"""idrak.optim: every optimizer and LR schedule tracks PyTorch for 20 steps (float64, 1e-5), on
every available backend; one realization per step; state_dict; gradient clipping; errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak import nn, optim
from idrak.nn.utils import clip_grad_norm_, clip_grad_value_
from idrak.optim import lr_scheduler as sched

BACKENDS = idrak.runtime.plugins.available_backends()
STEPS = 20


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _problem() -> dict[str, np.ndarray]:
    r = np.random.default_rng(0)
    return {
        "w1": r.standard_normal((5, 4)) * 0.5,
        "b1": r.standard_normal(5) * 0.1,
        "w2": r.standard_normal((2, 5)) * 0.5,
        "x": r.standard_normal((16, 4)),
        "y": r.standard_normal((16, 2)),
    }


def _loss(lib: Any, p: dict[str, Any], x: Any, y: Any) -> Any:
    h = (x @ p["w1"].T + p["b1"]).tanh()
    return ((h @ p["w2"].T - y) ** 2).mean()


def _run_idrak(
    make: Callable[..., Any],
    dev: str,
    make_sched: Callable[..., Any] | None = None,
    metrics: list[float] | None = None,
) -> tuple[dict[str, np.ndarray], list[Any]]:
    d = _problem()
    p = {k: nn.Parameter(idrak.tensor(d[k], device=dev)) for k in ("w1", "b1", "w2")}
    opt = make(p)
    s = make_sched(opt) if make_sched else None
    x, y = idrak.tensor(d["x"], device=dev), idrak.tensor(d["y"], device=dev)
    trace = []
    for i in range(STEPS):
        opt.zero_grad()
        _loss(idrak, p, x, y).backward()
        opt.step()
        if s is not None:
            s.step(metrics[i]) if metrics else s.step()
        trace.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
    return {k: v.numpy() for k, v in p.items()}, trace


def _run_torch(
    make: Callable[..., Any],
    make_sched: Callable[..., Any] | None = None,
    metrics: list[float] | None = None,
) -> tuple[dict[str, np.ndarray], list[Any]]:
    torch = pytest.importorskip("torch")
    d = _problem()
    p = {k: torch.tensor(d[k], requires_grad=True) for k in ("w1", "b1", "w2")}
    opt = make(p)
    s = make_sched(opt) if make_sched else None
    x, y = torch.tensor(d["x"]), torch.tensor(d["y"])
    trace = []
    for i in range(STEPS):
        opt.zero_grad()
        _loss(torch, p, x, y).backward()
        opt.step()
        if s is not None:
            s.step(metrics[i]) if metrics else s.step()
        trace.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
    return {k: v.detach().numpy() for k, v in p.items()}, trace


def _groups(p: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [{"params": [p["w1"], p["b1"]], **extra}, {"params": [p["w2"]], "lr": 0.02}]


OPTIMIZERS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("sgd", "SGD", {"lr": 0.1}, False),
    (
        "sgd_momentum_dampening_wd",
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
        False,
    ),
    (
        "sgd_nesterov_maximize_groups",
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True},
        True,
    ),
    ("adam", "Adam", {"lr": 0.01}, False),
    (
        "adam_amsgrad_wd_groups",
        "Adam",
        {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True},
        True,
    ),
    ("adam_maximize", "Adam", {"lr": 0.01, "maximize": True, "eps": 1e-6}, False),
    ("adamw", "AdamW", {"lr": 0.01}, False),
    ("adamw_amsgrad", "AdamW", {"lr": 0.03, "weight_decay": 0.3, "amsgrad": True}, True),
    ("rmsprop", "RMSprop", {"lr": 0.01}, False),
    (
        "rmsprop_centered_momentum_wd",
        "RMSprop",
        {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
        True,
    ),
    ("adagrad", "Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}, False),
    ("adagrad_wd_groups", "Adagrad", {"lr": 0.1, "weight_decay": 0.05}, True),
    ("adadelta", "Adadelta", {}, False),
    (
        "adadelta_wd_maximize_groups",
        "Adadelta",
        {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1, "maximize": True},
        True,
    ),
    ("adamax", "Adamax", {}, False),
    ("adamax_wd_groups", "Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}, True),
    ("nadam", "NAdam", {"lr": 0.01}, False),
    ("nadam_l2_groups", "NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}, True),
    (
        "nadam_decoupled_maximize",
        "NAdam",
        {"lr": 0.02, "weight_decay": 0.2, "decoupled_weight_decay": True, "maximize": True},
        False,
    ),
    # betas[1] = 0.9 makes rho_t cross 5 at step 6: both branches of the rectification run
    ("radam", "RAdam", {"lr": 0.01, "betas": (0.9, 0.9)}, False),
    ("radam_default_l2_groups", "RAdam", {"lr": 0.01, "weight_decay": 0.1}, True),
    (
        "radam_decoupled_maximize",
        "RAdam",
        {
            "lr": 0.02,
            "betas": (0.8, 0.95),
            "weight_decay": 0.2,
            "decoupled_weight_decay": True,
            "maximize": True,
        },
        False,
    ),
    ("adam_torch_flags", "Adam", {"lr": 0.01, "foreach": False, "capturable": False}, False),
    ("sgd_torch_flags", "SGD", {"lr": 0.1, "momentum": 0.9, "foreach": True}, False),
]


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=[s[0] for s in OPTIMIZERS])
def test_optimizer_tracks_torch(spec: tuple[str, str, dict[str, Any], bool], dev: str) -> None:
    torch = pytest.importorskip("torch")
    _, name, kw, groups = spec

    def maker(lib: Any) -> Callable[[dict[str, Any]], Any]:
        cls = getattr(lib, name)
        return lambda p: cls(_groups(p) if groups else list(p.values()), **kw)

    got, _ = _run_idrak(maker(optim), dev)
    want, _ = _run_torch(maker(torch.optim))
    for k in got:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg=k)
    assert not np.allclose(got["w1"], _problem()["w1"])  # it did move


def _lion_reference(lr: float, betas: tuple[float, float], wd: float) -> dict[str, np.ndarray]:
    """Lion (Chen et al. 2023, Algorithm 2) in NumPy, with hand-written gradients."""
    d = _problem()
    p = {k: d[k].copy() for k in ("w1", "b1", "w2")}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    x, y = d["x"], d["y"]
    for _ in range(STEPS):
        a = x @ p["w1"].T + p["b1"]
        h = np.tanh(a)
        e = h @ p["w2"].T - y
        ge = 2 * e / e.size
        ga = (ge @ p["w2"]) * (1 - h**2)
        g = {"w2": ge.T @ h, "w1": ga.T @ x, "b1": ga.sum(0)}
        for k in p:
            c = betas[0] * m[k] + (1 - betas[0]) * g[k]
            p[k] = p[k] * (1 - lr * wd) - lr * np.sign(c)
            m[k] = betas[1] * m[k] + (1 - betas[1]) * g[k]
    return p


@pytest.mark.parametrize("wd", [0.0, 0.5])
def test_lion_matches_reference(wd: float, dev: str) -> None:
    got, _ = _run_idrak(
        lambda p: optim.Lion(p.values(), lr=0.01, betas=(0.9, 0.95), weight_decay=wd), dev
    )
    want = _lion_reference(0.01, (0.9, 0.95), wd)
    for k in got:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12, err_msg=k)


SCHEDULES: list[tuple[str, str, dict[str, Any], str]] = [
    ("step", "StepLR", {"step_size": 3, "gamma": 0.5}, "SGD"),
    ("multistep", "MultiStepLR", {"milestones": [2, 5, 5, 11], "gamma": 0.5}, "SGD"),
    ("exponential", "ExponentialLR", {"gamma": 0.9}, "SGD"),
    ("cosine", "CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}, "SGD"),
    ("linear_warmup", "LinearLR", {"start_factor": 0.1, "total_iters": 6}, "SGD"),
    ("onecycle_sgd", "OneCycleLR", {"max_lr": 0.2, "total_steps": STEPS}, "SGD"),
    (
        "onecycle_adam_linear_3phase",
        "OneCycleLR",
        {
            "max_lr": [0.05, 0.02],
            "total_steps": STEPS + 2,
            "anneal_strategy": "linear",
            "three_phase": True,
        },
        "Adam",
    ),
    ("plateau", "ReduceLROnPlateau", {"patience": 2, "factor": 0.5, "cooldown": 1}, "SGD"),
    (
        "plateau_max_abs",
        "ReduceLROnPlateau",
        {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "min_lr": 0.02},
        "SGD",
    ),
]
METRICS = [
    1.0,
    0.9,
    0.95,
    0.97,
    0.96,
    0.8,
    0.81,
    0.82,
    0.83,
    0.84,
    0.7,
    0.7,
    0.7,
    0.7,
    0.71,
    0.72,
    0.5,
    0.55,
    0.56,
    0.57,
]


@pytest.mark.parametrize("spec", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_scheduler_tracks_torch(spec: tuple[str, str, dict[str, Any], str], dev: str) -> None:
    torch = pytest.importorskip("torch")
    _, name, kw, opt_name = spec
    okw = {"lr": 0.1, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.01}
    metrics = METRICS if name == "ReduceLROnPlateau" else None

    def parts(lib_optim: Any, lib_sched: Any) -> tuple[Any, Any]:
        return (
            (lambda p: getattr(lib_optim, opt_name)(_groups(p), **okw)),
            (lambda o: getattr(lib_sched, name)(o, **kw)),
        )

    make_opt, make_sched = parts(optim, sched)
    got, got_trace = _run_idrak(make_opt, dev, make_sched, metrics)
    want, want_trace = _run_torch(*parts(torch.optim, torch.optim.lr_scheduler), metrics=metrics)
    for i, (a, b) in enumerate(zip(got_trace, want_trace)):
        for (lr, mom, betas), (tlr, tmom, tbetas) in zip(a, b):
            assert lr == pytest.approx(tlr, rel=1e-9, abs=1e-12), f"lr at step {i}"
            if mom is not None:
                assert mom == pytest.approx(tmom), f"momentum at step {i}"
            if betas is not None:
                assert tuple(betas) == pytest.approx(tuple(tbetas)), f"betas at step {i}"
    for k in got:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg=k)


def test_scheduler_state_dict_resumes() -> None:
    p = nn.Parameter(idrak.zeros(2))
    opt = optim.SGD([p], lr=1.0)
    s = sched.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        s.step()
    state = s.state_dict()
    assert "optimizer" not in state
    opt2 = optim.SGD([nn.Parameter(idrak.zeros(2))], lr=1.0)
    s2 = sched.CosineAnnealingLR(opt2, T_max=10)
    s2.load_state_dict(state)
    s.step()
    s2.step()
    assert s2.get_last_lr() == pytest.approx(s.get_last_lr())
    with pytest.raises(ValueError, match="tried to step"):
        one = sched.OneCycleLR(optim.SGD([p], lr=0.1), max_lr=1.0, total_steps=2)
        for _ in range(3):
            one.step()


def test_step_realizes_once_and_keeps_parameters(monkeypatch: pytest.MonkeyPatch, dev: str) -> None:
    import idrak.optim.optimizer as optimizer_module

    model = nn.Linear(3, 2).to(device=dev)
    before = dict(model.params)
    opt = optim.Adam(model.params, lr=0.1)
    calls: list[int] = []
    real = optimizer_module.realize
    monkeypatch.setattr(
        optimizer_module, "realize", lambda *ts: (calls.append(len(ts)), real(*ts))[1]
    )
    for _ in range(3):
        opt.zero_grad()
        model(idrak.randn(4, 3, device=dev)).square().sum().backward()
        opt.step()
    assert len(calls) == 3  # one realize per step: 2 params + 2 * (step, exp_avg, exp_avg_sq)
    assert calls[0] == 8
    for name, p in model.params.items():
        assert p is before[name] and p.is_leaf and p.lazy.buf is not None
    for st in opt.state.values():
        assert all(v.lazy.buf is not None for v in st.values() if isinstance(v, idrak.Tensor))


def test_frozen_and_gradless_parameters_are_skipped(dev: str) -> None:
    net = nn.Net().add("a", nn.Linear(3, 3)).add("b", nn.Linear(3, 1)).to(device=dev)
    net["a"].freeze()
    frozen = {k: v.numpy().copy() for k, v in net["a"].params.items()}
    opt = optim.SGD(net.params, lr=0.5, weight_decay=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        net(idrak.randn(5, 3, device=dev)).square().mean().backward()
        opt.step()
    for k, v in net["a"].params.items():
        np.testing.assert_array_equal(v.numpy(), frozen[k])
    assert len(opt.state) == 2  # only the trained layer's parameters


def test_optimizer_state_dict_round_trip(dev: str) -> None:
    d = _problem()

    def make() -> tuple[dict[str, Any], Any]:
        p = {k: nn.Parameter(idrak.tensor(d[k], device=dev)) for k in ("w1", "b1", "w2")}
        return p, optim.Adam(_groups(p, betas=(0.85, 0.99)), lr=0.05, amsgrad=True)

    x, y = idrak.tensor(d["x"], device=dev), idrak.tensor(d["y"], device=dev)

    def train(p: dict[str, Any], opt: Any, n: int) -> None:
        for _ in range(n):
            opt.zero_grad()
            _loss(idrak, p, x, y).backward()
            opt.step()

    p1, o1 = make()
    train(p1, o1, 3)
    state = o1.state_dict()
    assert state["param_groups"][1]["params"] == [2] and state["state"][0]["step"] == 3
    p2, o2 = make()
    for k in p2:
        with idrak.no_grad():
            p2[k].assign(p1[k].detach())
    o2.load_state_dict(state)
    assert o2.param_groups[0]["betas"] == (0.85, 0.99) and o2.param_groups[1]["lr"] == 0.02
    train(p1, o1, 4)
    train(p2, o2, 4)
    for k in p1:
        np.testing.assert_allclose(p1[k].numpy(), p2[k].numpy(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="2 parameter groups"):
        optim.Adam([nn.Parameter(idrak.zeros(1))]).load_state_dict(state)


def test_zero_grad_and_closure() -> None:
    p = nn.Parameter(idrak.tensor([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.5)

    def closure() -> idrak.Tensor:
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.numpy(), [0.0, 0.0])
    (p + 1).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_optimizer_errors_name_the_values() -> None:
    p = nn.Parameter(idrak.zeros(2))
    with pytest.raises(ValueError, match="lr=-1"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"\(0.9, 1.0\)"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="momentun"):
        optim.SGD([{"params": [p], "momentun": 0.9}], lr=0.1)
    with pytest.raises(TypeError, match="int64"):
        optim.SGD([idrak.zeros(2, dtype="int64")], lr=0.1)
    with pytest.raises(ValueError, match=r"alpha=1\.5"):
        optim.RMSprop([p], alpha=1.5)
    with pytest.raises(ValueError, match="cycle_momentum"):
        sched.OneCycleLR(optim.Adagrad([p]), max_lr=0.1, total_steps=5)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type: float, dev: str) -> None:
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(2)
    gs = [r.standard_normal((3, 4)), r.standard_normal(5)]
    ps = [nn.Parameter(idrak.zeros(g.shape, device=dev, dtype="float64")) for g in gs]
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for p, t, g in zip(ps, ts, gs):
        p.grad, t.grad = idrak.tensor(g, device=dev), torch.tensor(g)
    total = clip_grad_norm_(ps, 0.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, 0.5, norm_type)
    assert total.item() == pytest.approx(ttotal.item())
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    clip_grad_value_(ps, 0.01)
    torch.nn.utils.clip_grad_value_(ts, 0.01)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_norm_nonfinite() -> None:
    p = nn.Parameter(idrak.zeros(2))
    p.grad = idrak.tensor([float("inf"), 1.0])
    with pytest.raises(idrak.IdrakError, match="inf"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_([nn.Parameter(idrak.zeros(1))], 1.0).item() == 0.0


def test_parameters_share_one_step_counter_per_step() -> None:
    """One counter (and one set of Adam bias corrections) per step, not one per parameter."""
    ps = [idrak.randn(3, 4).requires_grad_(), idrak.randn(4).requires_grad_()]
    opt = idrak.optim.Adam(ps, lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        sum((p * p).sum() for p in ps).backward()  # type: ignore[union-attr]
        opt.step()
    counters = [opt.state[p]["step"] for p in ps]
    assert counters[0] is counters[1] and counters[0].item() == 3.0
    # a checkpoint gives each parameter its own counter; stepping on still counts right
    sd = opt.state_dict()
    opt2 = idrak.optim.Adam(ps, lr=0.1)
    opt2.load_state_dict(sd)
    opt2.zero_grad()
    sum((p * p).sum() for p in ps).backward()  # type: ignore[union-attr]
    opt2.step()
    assert [opt2.state[p]["step"].item() for p in ps] == [4.0, 4.0]
