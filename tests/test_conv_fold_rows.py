"""The stride-1 col2im of CONV2D's input gradient (``fold2d_rows``: the output gradient padded
to the padded input's width before its MATMUL, then each tap a shift of one long flattened
block): equal to the general ``fold2d``, the gradients (and double backward) equal torch's in
float64, and the graph pads only flattened rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import idrak
from idrak.contract.ops import Op
from idrak.core.methods.convolution import fold2d, fold2d_rows

torch = pytest.importorskip("torch")

# (N, C, H, W), (O, KH, KW), padding, dilation, groups; stride is 1 throughout
CASES: list[tuple[Any, ...]] = [
    ((2, 3, 6, 9), (4, 2, 4), (0, 2), (2, 1), 1),
    ((1, 2, 7, 5), (3, 1, 3), (1, 0), 1, 1),  # one kernel row
    ((2, 2, 5, 7), (2, 3, 1), (2, 1), (1, 1), 2),  # one kernel column, groups
    ((1, 3, 4, 4), (2, 4, 4), 0, 1, 1),  # one output pixel
    ((2, 4, 8, 6), (4, 3, 3), (4, 1), (1, 2), 4),  # depthwise, padding past the reach
]


def _ids(case: tuple[Any, ...]) -> str:
    x, w, p, d, g = case
    return f"x{'x'.join(map(str, x))}-k{w[1]}{w[2]}-p{p}-d{d}-g{g}".replace(" ", "")


@pytest.mark.parametrize(
    ("kernel", "in_hw", "padding", "dilation"),
    [
        ((3, 3), (7, 8), (0, 0), (1, 1)),
        ((2, 4), (6, 9), (1, 2), (2, 1)),
        ((1, 1), (3, 4), (1, 0), (1, 1)),
    ],
)
def test_fold2d_rows_equals_fold2d(
    kernel: tuple[int, int],
    in_hw: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> None:
    (kh, kw), (h, w), (ph, pw), (dh, dw) = kernel, in_hw, padding, dilation
    oh, ow = h + 2 * ph - dh * (kh - 1), w + 2 * pw - dw * (kw - 1)
    wp = w + 2 * pw
    cols = np.random.default_rng(0).standard_normal((2, 3, kh, kw, oh, ow))
    want = fold2d(idrak.tensor(cols), (h, w), (1, 1), padding, dilation).numpy()
    wide = np.zeros((2, 3, kh, kw, oh, wp))
    wide[..., :ow] = cols
    got = fold2d_rows(idrak.tensor(wide.reshape(2, 3, kh, kw, oh * wp)), (h, w), padding, dilation)
    assert got.shape == (2, 3, h, w)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_stride1_input_grad_matches_torch(case: tuple[Any, ...]) -> None:
    (n, c, h, wd), (o, kh, kw), p, d, groups = case
    rng = np.random.default_rng(1)
    xa, wa = rng.standard_normal((n, c, h, wd)), rng.standard_normal((o, c // groups, kh, kw))
    x = idrak.tensor(xa, requires_grad=True)
    w = idrak.tensor(wa, requires_grad=True)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    y = x.conv2d(w, None, 1, p, d, groups)
    ty = torch.nn.functional.conv2d(tx, tw, None, 1, p, d, groups)
    ga = rng.standard_normal(ty.shape)
    (gx,) = idrak.grad(y, [x], idrak.tensor(ga), create_graph=True)
    (tgx,) = torch.autograd.grad(ty, [tx], torch.tensor(ga), create_graph=True)
    assert gx is not None
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-10, atol=1e-10)
    # double backward through the fold: d/dw of a nonlinear scalar of the input gradient
    va = rng.standard_normal(xa.shape)
    (hw,) = idrak.grad((gx * gx * idrak.tensor(va)).sum(), [w])
    (thw,) = torch.autograd.grad((tgx * tgx * torch.tensor(va)).sum(), [tw])
    assert hw is not None
    np.testing.assert_allclose(hw.numpy(), thw.numpy(), rtol=1e-9, atol=1e-9)


def test_stride1_input_grad_matches_finite_differences() -> None:
    from _gradcheck import assert_close, idrak_numpy_fn, numerical_grad

    rng = np.random.default_rng(2)
    xa, wa = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 2, 3))

    def f(x: Any, w: Any) -> Any:
        return x.conv2d(w, None, 1, (1, 2), (2, 1))

    ga = rng.standard_normal(f(idrak.tensor(xa), idrak.tensor(wa)).shape)
    nx, _ = numerical_grad(idrak_numpy_fn(f, "cpu"), [xa, wa], [ga])
    x = idrak.tensor(xa, requires_grad=True)
    (gx,) = idrak.grad(f(x, idrak.tensor(wa)), [x], idrak.tensor(ga))
    assert gx is not None
    assert_close(gx.numpy(), nx, rtol=1e-6, atol=1e-7, what="input gradient")


def test_stride1_fold_pads_only_flat_rows() -> None:
    """Every PAD of the stride-1 input gradient pads the last axis only: the output gradient
    once to the padded width, then one shift per tap (none for the unshifted first tap), on
    the flattened (OH * Wp) and (Hp * Wp) axes."""
    from idrak.core.autograd import _toposort

    x = idrak.tensor(np.ones((2, 3, 9, 8)), requires_grad=True)
    w = idrak.tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    y = x.conv2d(w, padding=1)
    if y._ctx is None or y._ctx[0] is not Op.CONV2D:
        pytest.skip("the backend decomposes CONV2D")
    (gx,) = idrak.grad(y.sum(), [x], create_graph=True)
    assert gx is not None
    nodes = [t for t in _toposort([gx]) if t._ctx is not None]
    ops = [t._ctx[0] for t in nodes]
    assert Op.CONV2D not in ops and ops.count(Op.MATMUL) == 1
    pads = [t for t in nodes if t._ctx[0] is Op.PAD]
    assert len(pads) <= 1 + 2 + 2
    for t in pads:
        widths = t._ctx[2][0]
        assert all(lo == hi == 0 for lo, hi in widths[:-1]), widths
