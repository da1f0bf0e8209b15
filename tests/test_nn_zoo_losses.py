"""Loss modules against torch's, constructed with the same arguments (weight, ignore_index,
reduction, label_smoothing, pos_weight, beta, delta, log_target, the deprecated size_average /
reduce pair): values and input gradients in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _gradcheck import assert_close

import idrak
from idrak import nn

pytestmark = pytest.mark.filterwarnings(
    "ignore:size_average and reduce", "ignore:reduction. 'mean' divides"
)
R = np.random.default_rng(5)
X = R.standard_normal((6, 4))
Y = R.standard_normal((6, 4))
P = 1 / (1 + np.exp(-X))
T01 = (R.random((6, 4)) < 0.5).astype(np.float64)
CLS = np.array([0, 3, 1, 1, 2, -100])
W = R.random(4) + 0.5
LOGP = X - np.log(np.exp(X).sum(1, keepdims=True))


def _t(lib: Any, a: np.ndarray) -> Any:
    return idrak.tensor(a) if lib is idrak else lib.tensor(a)


# (id, class name, kwargs(lib), input array, target array)
SPECS: list[tuple[str, str, Callable[[Any], dict[str, Any]], np.ndarray, np.ndarray]] = [
    ("mse", "MSELoss", lambda L: {}, X, Y),
    ("mse_sum", "MSELoss", lambda L: {"reduction": "sum"}, X, Y),
    ("mse_legacy_reduce_false", "MSELoss", lambda L: {"reduce": False}, X, Y),
    ("l1_legacy_size_average_false", "L1Loss", lambda L: {"size_average": False}, X, Y),
    ("smooth_l1_beta", "SmoothL1Loss", lambda L: {"beta": 0.5}, X, Y),
    ("huber_delta", "HuberLoss", lambda L: {"delta": 0.7, "reduction": "none"}, X, Y),
    ("bce", "BCELoss", lambda L: {"weight": _t(L, W)}, P, T01),
    (
        "bce_logits_pos_weight",
        "BCEWithLogitsLoss",
        lambda L: {"pos_weight": _t(L, W), "reduction": "sum"},
        X,
        T01,
    ),
    ("kl_batchmean", "KLDivLoss", lambda L: {"reduction": "batchmean"}, LOGP, np.exp(LOGP[::-1])),
    ("kl_log_target", "KLDivLoss", lambda L: {"log_target": True}, LOGP, LOGP[::-1].copy()),
    ("nll_weight_ignore", "NLLLoss", lambda L: {"weight": _t(L, W)}, LOGP, CLS),
    (
        "cross_entropy_all_args",
        "CrossEntropyLoss",
        lambda L: {"weight": _t(L, W), "ignore_index": 1, "label_smoothing": 0.1},
        X,
        np.where(CLS < 0, 0, CLS),
    ),
    ("cross_entropy_probs", "CrossEntropyLoss", lambda L: {}, X, np.exp(LOGP[::-1])),
]


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_loss_module_matches_torch(spec: tuple[Any, ...]) -> None:
    torch = pytest.importorskip("torch")
    _, cls, kw, x, y = spec
    tm, im = getattr(torch.nn, cls)(**kw(torch)), getattr(nn, cls)(**kw(idrak))
    assert im.reduction == tm.reduction
    xt, xi = torch.tensor(x, requires_grad=True), idrak.tensor(x, requires_grad=True)
    lt, li = tm(xt, torch.tensor(y)), im(xi, idrak.tensor(y))
    assert_close(li.numpy(), lt.detach().numpy(), 1e-12, 1e-12, f"{cls} value")
    r = R.standard_normal(tuple(lt.shape))
    (lt * torch.tensor(r)).sum().backward()
    (li * idrak.tensor(r)).sum().backward()
    assert_close(xi.grad.numpy(), xt.grad.numpy(), 1e-12, 1e-12, f"{cls} grad")


def test_loss_weights_are_buffers_and_errors() -> None:
    m = nn.CrossEntropyLoss(weight=idrak.ones(3))
    assert list(m.state_dict()) == ["weight"]
    b = nn.BCEWithLogitsLoss(pos_weight=idrak.ones(2))
    assert list(b.state_dict()) == ["pos_weight"]
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="batchmean")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.NLLLoss(size_average=False).reduction == "sum"
