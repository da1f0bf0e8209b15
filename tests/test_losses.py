"""Losses in idrak.nn.functional against PyTorch (float64, values and input gradients) and
finite differences, on every available backend; stability at extreme logits; errors."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak.nn import functional as F

BACKENDS = idrak.runtime.plugins.available_backends()


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _logits(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda r: r.standard_normal(shape) * 2


def _classes(
    c: int, *shape: int, ignore: bool = False
) -> Callable[[np.random.Generator], np.ndarray]:
    def make(r: np.random.Generator) -> np.ndarray:
        t = r.integers(0, c, size=shape)
        if ignore:
            t.reshape(-1)[::3] = -100
        return t

    return make


W4 = np.array([0.5, 2.0, 1.0, 0.25])
# (id, name, kwargs (numpy arrays become tensors), input maker, target maker, input transform)
SPECS: list[tuple[str, str, dict[str, Any], Any, Any, str]] = [
    ("mse", "mse_loss", {}, _logits(4, 3), _logits(4, 3), ""),
    ("mse_sum", "mse_loss", {"reduction": "sum"}, _logits(4, 3), _logits(4, 3), ""),
    ("l1_none", "l1_loss", {"reduction": "none"}, _logits(4, 3), _logits(4, 3), ""),
    ("smooth_l1", "smooth_l1_loss", {"beta": 0.5}, _logits(5, 3), _logits(5, 3), ""),
    ("smooth_l1_beta0", "smooth_l1_loss", {"beta": 0.0}, _logits(5, 3), _logits(5, 3), ""),
    ("huber", "huber_loss", {"delta": 0.7}, _logits(5, 3), _logits(5, 3), ""),
    ("ce", "cross_entropy", {}, _logits(6, 4), _classes(4, 6), ""),
    (
        "ce_weight_ignore",
        "cross_entropy",
        {"weight": W4},
        _logits(6, 4),
        _classes(4, 6, ignore=True),
        "",
    ),
    ("ce_smoothing", "cross_entropy", {"label_smoothing": 0.1}, _logits(6, 4), _classes(4, 6), ""),
    (
        "ce_smoothing_weight_ignore",
        "cross_entropy",
        {"label_smoothing": 0.2, "weight": W4},
        _logits(7, 4),
        _classes(4, 7, ignore=True),
        "",
    ),
    (
        "ce_sum_smoothing",
        "cross_entropy",
        {"reduction": "sum", "label_smoothing": 0.1},
        _logits(5, 4),
        _classes(4, 5, ignore=True),
        "",
    ),
    (
        "ce_none_kdim",
        "cross_entropy",
        {"reduction": "none", "ignore_index": 1},
        _logits(2, 4, 3, 2),
        _classes(4, 2, 3, 2),
        "",
    ),
    ("ce_kdim_weight", "cross_entropy", {"weight": W4}, _logits(2, 4, 3), _classes(4, 2, 3), ""),
    ("ce_unbatched", "cross_entropy", {}, _logits(4), _classes(4), ""),
    (
        "ce_probs",
        "cross_entropy",
        {},
        _logits(5, 4),
        lambda r: _softmax(r.standard_normal((5, 4)), 1),
        "",
    ),
    (
        "ce_probs_smoothing_weight",
        "cross_entropy",
        {"label_smoothing": 0.3, "weight": W4},
        _logits(2, 4, 3),
        lambda r: _softmax(r.standard_normal((2, 4, 3)), 1),
        "",
    ),
    (
        "nll",
        "nll_loss",
        {"weight": W4, "ignore_index": 0},
        _logits(6, 4),
        _classes(4, 6),
        "log_softmax1",
    ),
    ("nll_none", "nll_loss", {"reduction": "none"}, _logits(6, 4), _classes(4, 6), "log_softmax1"),
    (
        "bce",
        "binary_cross_entropy",
        {},
        _logits(4, 3),
        lambda r: r.uniform(0, 1, (4, 3)),
        "sigmoid",
    ),
    (
        "bce_weight_sum",
        "binary_cross_entropy",
        {"weight": np.array([1.0, 2.0, 0.5]), "reduction": "sum"},
        _logits(4, 3),
        lambda r: (r.uniform(0, 1, (4, 3)) > 0.5) * 1.0,
        "sigmoid",
    ),
    (
        "bce_logits",
        "binary_cross_entropy_with_logits",
        {},
        lambda r: r.standard_normal((4, 3)) * 8,
        lambda r: r.uniform(0, 1, (4, 3)),
        "",
    ),
    (
        "bce_logits_pos_weight",
        "binary_cross_entropy_with_logits",
        {
            "pos_weight": np.array([1.0, 3.0, 0.5]),
            "weight": np.array([2.0, 1.0, 1.0]),
            "reduction": "none",
        },
        _logits(4, 3),
        lambda r: (r.uniform(0, 1, (4, 3)) > 0.5) * 1.0,
        "",
    ),
    (
        "kl_div_batchmean",
        "kl_div",
        {"reduction": "batchmean"},
        _logits(3, 5),
        lambda r: _softmax(r.standard_normal((3, 5)), 1),
        "log_softmax1",
    ),
    (
        "kl_div_log_target",
        "kl_div",
        {"log_target": True, "reduction": "sum"},
        _logits(3, 5),
        lambda r: np.log(_softmax(r.standard_normal((3, 5)), 1)),
        "log_softmax1",
    ),
    (
        "kl_div_zero_target",
        "kl_div",
        {"reduction": "sum"},
        _logits(2, 3),
        lambda r: np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]),
        "log_softmax1",
    ),
]
IDS = [s[0] for s in SPECS]


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _transform(lib: Any, x: Any, how: str) -> Any:
    if how == "sigmoid":
        return x.sigmoid()
    if how == "log_softmax1":
        return x.log_softmax(1)
    return x


def _idrak_loss(spec: tuple[Any, ...], x: idrak.Tensor, t: np.ndarray, dev: str) -> idrak.Tensor:
    kwargs = {
        k: idrak.tensor(v, device=dev) if isinstance(v, np.ndarray) else v
        for k, v in spec[2].items()
    }
    return getattr(F, spec[1])(_transform(idrak, x, spec[5]), idrak.tensor(t, device=dev), **kwargs)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_loss_matches_torch(spec: tuple[Any, ...], dev: str) -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(zlib.crc32(spec[0].encode()))
    x, t = spec[3](rng), spec[4](rng)
    xi = idrak.tensor(x, device=dev, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    li = _idrak_loss(spec, xi, t, dev)
    kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in spec[2].items()}
    lt = getattr(tf, spec[1])(_transform(torch, xt, spec[5]), torch.tensor(t), **kwargs)
    np.testing.assert_allclose(
        li.numpy(), lt.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{spec[0]} value"
    )
    r = rng.standard_normal(lt.shape)
    (li * idrak.tensor(r, device=dev)).sum().backward()
    (lt * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(
        xi.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{spec[0]} gradient"
    )


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_loss_gradient_finite_differences(spec: tuple[Any, ...], dev: str) -> None:
    rng = np.random.default_rng(3)
    x, t = spec[3](rng), spec[4](rng)
    xi = idrak.tensor(x, device=dev, requires_grad=True)
    loss = _idrak_loss(spec, xi, t, dev)
    r = rng.standard_normal(loss.shape)
    (loss * idrak.tensor(r, device=dev)).sum().backward()
    v = rng.standard_normal(x.shape)
    eps = 1e-6

    def at(z: np.ndarray) -> float:
        with idrak.no_grad():
            return float((_idrak_loss(spec, idrak.tensor(z, device=dev), t, dev).numpy() * r).sum())

    numeric = (at(x + eps * v) - at(x - eps * v)) / (2 * eps)
    assert numeric == pytest.approx(float((xi.grad.numpy() * v).sum()), rel=1e-6, abs=1e-7)


def test_stable_at_extreme_logits(dev: str) -> None:
    x = idrak.tensor([[1e4, -1e4, 0.0], [-3e4, 2e4, 1e4]], device=dev, requires_grad=True)
    y = idrak.tensor([1, 0], device=dev)
    loss = F.cross_entropy(x, y, label_smoothing=0.1)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad.numpy()))
    z = idrak.tensor([-1000.0, 0.0, 1000.0], device=dev, requires_grad=True)
    bl = F.binary_cross_entropy_with_logits(
        z, idrak.tensor([1.0, 0.5, 0.0], device=dev), reduction="none"
    )
    bl.sum().backward()
    np.testing.assert_allclose(bl.numpy(), [1000.0, np.log(2.0), 1000.0])
    np.testing.assert_allclose(z.grad.numpy(), [-1.0, 0.0, 1.0])
    p = idrak.tensor([0.0, 1.0], device=dev)
    b = F.binary_cross_entropy(p, idrak.tensor([1.0, 0.0], device=dev), reduction="none")
    np.testing.assert_allclose(b.numpy(), [100.0, 100.0])  # logs clamped at -100, as torch


def test_loss_errors_name_the_values(dev: str) -> None:
    x = idrak.zeros(3, 4, device=dev)
    with pytest.raises(IndexError, match="class index 7"):
        F.cross_entropy(x, idrak.tensor([0, 7, 1], device=dev))
    with pytest.raises(ValueError, match=r"target shape \(2,\)"):
        F.cross_entropy(x, idrak.tensor([0, 1], device=dev))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, idrak.tensor([0, 1, 2], device=dev), weight=idrak.ones(3))
    with pytest.raises(ValueError, match="'avg'"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"\(3, 4\) and target shape \(4,\)"):
        F.l1_loss(x, idrak.zeros(4, device=dev))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, idrak.tensor([0, 1, 2], device=dev), label_smoothing=1.5)
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)


def test_functional_reachable_from_idrak() -> None:
    assert idrak.functional.cross_entropy is F.cross_entropy
    logits = idrak.tensor([[2.0, 0.0], [0.0, 2.0]])
    loss = idrak.functional.cross_entropy(logits, idrak.tensor([0, 1]))
    assert loss.item() == pytest.approx(np.log1p(np.exp(-2.0)))


def test_lazy_targets_are_checked_on_the_device_and_jit_traces_them() -> None:
    """A target computed in the step (``y.reshape(-1)``) is checked when the loss is realized,
    so a jitted step with ignore_index traces and replays instead of reading the target."""
    x = idrak.randn(4, 3)
    with pytest.raises(IndexError, match=r"class index 5, outside \[0, 3\).*on the device"):
        F.cross_entropy(x, idrak.tensor([[0, 1], [2, 5]]).reshape(-1)).item()
    w = idrak.randn(3, 3, requires_grad=True)

    def step(xb: idrak.Tensor, yb: idrak.Tensor) -> tuple[idrak.Tensor, idrak.Tensor]:
        loss = F.cross_entropy(xb.matmul(w), yb.reshape(-1), ignore_index=-1)
        (g,) = idrak.grad(loss, [w])
        return loss, g

    fn = idrak.jit(step)
    y = idrak.tensor([[0, 1], [2, -1]])
    losses = [fn(x, y)[0].item() for _ in range(3)]
    plain = F.cross_entropy(x.matmul(w), y.reshape(-1), ignore_index=-1).item()
    assert losses == pytest.approx([plain] * 3, rel=1e-6)
    assert fn.stats["traces"] == 1 and fn.stats["replays"] == 2
