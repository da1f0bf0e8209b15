"""max_pool2d's taps sliced one window row at a time (each row shared by its taps, so the
backward pads taps into rows and rows into the grid): values and gradients equal torch's in
float64 on inputs full of ties, NaN, infinities and signed zeros, for stride == kernel and
overlapping windows, and the backward pads the whole grid once per window row only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import idrak
import idrak.nn.functional as F
from idrak.contract.ops import Op

torch = pytest.importorskip("torch")

# (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
CASES: list[tuple[Any, ...]] = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),  # stride == kernel: the reshape path
    ((2, 2, 9, 7), (3, 2), None, 0, 1, False),  # a leftover row and column are dropped
    ((1, 2, 6, 9), (2, 3), (2, 3), 0, 1, False),
    ((2, 2, 9, 9), 3, 2, 1, 1, False),  # overlapping windows with padding: the general path
    ((1, 3, 8, 7), (2, 3), (1, 2), (1, 1), (2, 1), False),  # dilation
    ((2, 2, 7, 7), 2, 2, 0, 1, True),  # ceil_mode
]


def _ids(case: tuple[Any, ...]) -> str:
    x, k, s, p, d, cm = case
    return f"x{'x'.join(map(str, x))}-k{k}-s{s}-p{p}-d{d}-c{int(cm)}".replace(" ", "")


def _tricky(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Small integers (ties in most windows), with NaN, +-inf and -0.0 sprinkled in."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(np.float64)
    x[x == 0] = rng.choice([0.0, -0.0], int((x == 0).sum()))
    flat = x.reshape(-1)
    idx = rng.permutation(flat.size)
    flat[idx[:3]] = np.nan
    flat[idx[3:6]] = np.inf
    flat[idx[6:9]] = -np.inf
    return x


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("seed", [0, 1])
def test_max_pool2d_values_and_grads_match_torch(case: tuple[Any, ...], seed: int) -> None:
    shape, k, s, p, d, cm = case
    xa = _tricky(shape, seed)
    x = idrak.tensor(xa, requires_grad=True)
    tx = torch.tensor(xa, requires_grad=True)
    y = F.max_pool2d(x, k, s, p, d, ceil_mode=cm)
    ty = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil_mode=cm)
    want = ty.detach().numpy()
    np.testing.assert_array_equal(y.numpy(), want)
    np.testing.assert_array_equal(np.signbit(y.numpy()), np.signbit(want))  # -0.0 kept
    ga = np.random.default_rng(seed + 10).standard_normal(ty.shape)
    (gx,) = idrak.grad(y, [x], idrak.tensor(ga))
    (tgx,) = torch.autograd.grad(ty, [tx], torch.tensor(ga))
    assert gx is not None
    # overlapping windows add gradients in another order than torch: 1 ulp apart at most
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-15, atol=1e-15)


def test_max_pool2d_double_backward_matches_torch() -> None:
    xa = _tricky((2, 2, 6, 6), 3)
    xa[np.isnan(xa) | np.isinf(xa)] = 1.5
    x = idrak.tensor(xa, requires_grad=True)
    tx = torch.tensor(xa, requires_grad=True)
    ga = np.random.default_rng(4).standard_normal((2, 2, 3, 3))
    g = idrak.tensor(ga, requires_grad=True)
    tg = torch.tensor(ga, requires_grad=True)
    (gx,) = idrak.grad(F.max_pool2d(x, 2), [x], g, create_graph=True)
    (tgx,) = torch.autograd.grad(torch.nn.functional.max_pool2d(tx, 2), [tx], tg, create_graph=True)
    assert gx is not None
    va = np.random.default_rng(5).standard_normal(xa.shape)
    (hg,) = idrak.grad((gx * idrak.tensor(va)).sum(), [g])
    (thg,) = torch.autograd.grad((tgx * torch.tensor(va)).sum(), [tg])
    assert hg is not None
    np.testing.assert_allclose(hg.numpy(), thg.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, None, 0), (3, None, 0), (3, 2, 1)])
def test_max_pool2d_backward_pads_the_grid_once_per_row(
    kernel: int, stride: int | None, padding: int
) -> None:
    """The input gradient holds KH grid-sized PADs (one per window row; two with a stride
    that is not the kernel, whose strided row slice pads twice), not KH*KW."""
    from idrak.core.autograd import _toposort

    x = idrak.tensor(np.random.default_rng(0).standard_normal((2, 3, 12, 12)), requires_grad=True)
    y = F.max_pool2d(x, kernel, stride, padding)
    g = idrak.tensor(np.ones(y.shape), requires_grad=True)  # so the backward is recorded
    (gx,) = idrak.grad(y, [x], g, create_graph=True)
    assert gx is not None
    big = [
        t
        for t in _toposort([gx])
        if t._ctx is not None and t._ctx[0] is Op.PAD and int(np.prod(t.shape)) >= x.numel()
    ]
    assert len(big) == (kernel if stride is None else 2 * kernel)
