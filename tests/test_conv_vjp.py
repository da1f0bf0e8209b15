"""CONV2D's VJP (col2im for the input: one MATMUL and a fold; a convolution of input and output
gradient for the weight) against torch in float64 and finite differences: forward, both
gradients and the gradients of a scalar of those gradients (double backward), over strides,
paddings, dilations, groups, stride == kernel and sizes where the last window does not reach
the input's end."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak.contract.ops import Op

torch = pytest.importorskip("torch")

# (N, C, H, W), (O, KH, KW), stride, padding, dilation, groups
CASES: list[tuple[Any, ...]] = [
    ((2, 3, 7, 7), (4, 3, 3), 1, 0, 1, 1),
    ((2, 3, 8, 7), (4, 3, 3), 1, 1, 1, 1),
    ((2, 3, 9, 8), (4, 3, 3), 2, 0, 1, 1),  # (H - k) % s != 0
    ((2, 3, 10, 9), (4, 3, 2), 2, 1, 1, 1),
    ((1, 2, 11, 10), (3, 3, 3), 3, 2, 1, 1),
    ((2, 3, 9, 11), (4, 3, 3), 1, 0, 2, 1),  # dilation
    ((2, 3, 12, 11), (4, 2, 3), (2, 3), (1, 2), (2, 1), 1),
    ((2, 4, 8, 8), (6, 3, 3), 1, 1, 1, 2),  # groups
    ((2, 6, 9, 10), (6, 3, 3), 2, 1, 1, 3),
    ((2, 4, 9, 9), (4, 3, 3), 1, 1, 1, 4),  # depthwise
    ((2, 4, 13, 12), (8, 3, 2), (3, 2), (2, 1), (2, 3), 2),
    ((3, 2, 5, 6), (3, 1, 1), 2, 0, 1, 1),  # 1x1, strided
    ((2, 2, 6, 6), (3, 3, 3), 1, 3, 1, 1),  # padding wider than the kernel reach
    ((2, 2, 9, 7), (3, 2, 2), 2, (3, 0), (1, 2), 1),
    ((1, 1, 5, 5), (1, 5, 5), 1, 0, 1, 1),  # one output pixel
    ((2, 3, 7, 7), (2, 3, 3), 4, 1, 1, 1),  # stride wider than the kernel
    ((2, 3, 8, 8), (4, 2, 2), 2, 0, 1, 1),  # stride == kernel: the reshape fold
    ((2, 4, 9, 7), (4, 3, 2), (3, 2), 1, 1, 2),  # stride == kernel, padding, groups, a leftover
    ((2, 3, 8, 9), (4, 2, 3), (2, 2), 0, 1, 1),  # stride == kernel on one axis only
    ((1, 2, 6, 6), (2, 2, 2), 2, 0, 2, 1),  # stride == kernel but dilated: the general fold
]


def _ids(case: tuple[Any, ...]) -> str:
    x, w, s, p, d, g = case
    return f"x{'x'.join(map(str, x))}-k{w[1]}{w[2]}-s{s}-p{p}-d{d}-g{g}".replace(" ", "")


def _data(case: tuple[Any, ...], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (n, c, h, w), (o, kh, kw), _, _, _, groups = case
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((n, c, h, w)),
        rng.standard_normal((o, c // groups, kh, kw)),
        rng.standard_normal(o),
    )


@pytest.fixture(params=idrak.runtime.plugins.available_backends())
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_conv2d_grads_match_torch(case: tuple[Any, ...], device: str) -> None:
    xa, wa, ba = _data(case, 0)
    _, _, s, p, d, groups = case
    x = idrak.tensor(xa, device=device, requires_grad=True)
    w = idrak.tensor(wa, device=device, requires_grad=True)
    b = idrak.tensor(ba, device=device, requires_grad=True)
    tx = torch.tensor(xa, requires_grad=True)
    tw = torch.tensor(wa, requires_grad=True)
    tb = torch.tensor(ba, requires_grad=True)
    y = x.conv2d(w, b, s, p, d, groups)
    ty = torch.nn.functional.conv2d(tx, tw, tb, s, p, d, groups)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)

    ga = np.random.default_rng(1).standard_normal(ty.shape)
    gx, gw, gb = idrak.grad(y, [x, w, b], idrak.tensor(ga, device=device), create_graph=True)
    tgx, tgw, tgb = torch.autograd.grad(ty, [tx, tw, tb], torch.tensor(ga), create_graph=True)
    for got, want in ((gx, tgx), (gw, tgw), (gb, tgb)):
        assert got is not None
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-10)

    # double backward: d/d(x, w) of a scalar that mixes both first gradients nonlinearly
    vx = np.random.default_rng(2).standard_normal(xa.shape)
    vw = np.random.default_rng(3).standard_normal(wa.shape)
    assert gx is not None and gw is not None
    z = (gx * idrak.tensor(vx, device=device)).sum() + (
        gw * gw * idrak.tensor(vw, device=device)
    ).sum()
    tz = (tgx * torch.tensor(vx)).sum() + (tgw * tgw * torch.tensor(vw)).sum()
    hx, hw = idrak.grad(z, [x, w])
    thx, thw = torch.autograd.grad(tz, [tx, tw])
    for got, want in ((hx, thx), (hw, thw)):
        assert got is not None
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "case", CASES[:4] + CASES[7:9], ids=[_ids(c) for c in CASES[:4] + CASES[7:9]]
)
def test_conv2d_grad_only_weight_or_only_input(case: tuple[Any, ...], device: str) -> None:
    xa, wa, _ = _data(case, 4)
    _, _, s, p, d, groups = case
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, None, s, p, d, groups)
    tgx, tgw = torch.autograd.grad(ty.square().sum(), [tx, tw])
    # weight only (a first layer: the input needs no gradient)
    w = idrak.tensor(wa, device=device, requires_grad=True)
    x = idrak.tensor(xa, device=device)
    x.conv2d(w, None, s, p, d, groups).square().sum().backward()
    assert w.grad is not None
    np.testing.assert_allclose(w.grad.numpy(), tgw.numpy(), rtol=1e-10, atol=1e-10)
    # input only
    x = idrak.tensor(xa, device=device, requires_grad=True)
    w = idrak.tensor(wa, device=device)
    x.conv2d(w, None, s, p, d, groups).square().sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.numpy(), tgx.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [CASES[4], CASES[10], CASES[17]], ids=_ids)
def test_conv2d_input_grad_matches_finite_differences(case: tuple[Any, ...]) -> None:
    from _gradcheck import assert_close, idrak_numpy_fn, numerical_grad

    xa, wa, _ = _data(case, 5)
    _, _, s, p, d, groups = case

    def f(x: Any, w: Any) -> Any:
        return x.conv2d(w, None, s, p, d, groups)

    ga = np.random.default_rng(6).standard_normal(f(idrak.tensor(xa), idrak.tensor(wa)).shape)
    nx, nw = numerical_grad(idrak_numpy_fn(f, "cpu"), [xa, wa], [ga])
    x, w = idrak.tensor(xa, requires_grad=True), idrak.tensor(wa, requires_grad=True)
    gx, gw = idrak.grad(f(x, w), [x, w], idrak.tensor(ga))
    assert gx is not None and gw is not None
    assert_close(gx.numpy(), nx, rtol=1e-6, atol=1e-7, what="input gradient")
    assert_close(gw.numpy(), nw, rtol=1e-6, atol=1e-7, what="weight gradient")


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv2d_backward_graph(device: str, stride: int) -> None:
    """The weight gradient convolves (a backend's native CONV2D runs); the input gradient is
    col2im: one MATMUL and at most KH + KW + 1 PADs (no per-tap transposed convolution, no
    im2col stack), or a PERMUTE when stride == kernel."""
    from idrak.core.autograd import _toposort

    x = idrak.tensor(np.ones((2, 3, 9, 9)), device=device, requires_grad=True)
    w = idrak.tensor(np.ones((4, 3, 3, 3)), device=device, requires_grad=True)
    y = x.conv2d(w, stride=stride, padding=1)
    if y._ctx is None or y._ctx[0] is not Op.CONV2D:
        pytest.skip("the backend decomposes CONV2D")
    gx, gw = idrak.grad(y.sum(), [x, w], create_graph=True)
    assert gx is not None and gw is not None
    ops = [t._ctx[0] for t in _toposort([gw]) if t._ctx is not None]
    assert Op.CONV2D in ops
    assert ops.count(Op.SHRINK) <= 3  # no per-tap slices
    ops = [t._ctx[0] for t in _toposort([gx]) if t._ctx is not None]
    assert Op.CONV2D not in ops
    assert ops.count(Op.MATMUL) == 1
    if stride == 3:
        assert ops.count(Op.PAD) <= 2 and Op.PERMUTE in ops
    else:
        assert ops.count(Op.PAD) <= 3 + 3 + 1
