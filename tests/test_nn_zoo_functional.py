"""The zoo's functional ops (``idrak.nn.functional``) against ``torch.nn.functional``
(forward and gradients, float64) and against finite differences; attention with bool/float
masks, the causal flag, a custom scale, grouped-query heads and dropout are the sequence-op
rows of the op tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _gradcheck import assert_close, idrak_numpy_fn, numerical_grad

import idrak
import idrak.runtime.plugins
from idrak.nn import functional as F

BACKENDS = idrak.runtime.plugins.available_backends()
R = np.random.default_rng(11)


def _x(*shape: int) -> np.ndarray:
    return R.standard_normal(shape)


def _mask(*shape: int) -> np.ndarray:
    m = R.random(shape) < 0.6
    m[..., 0] = True  # every query row keeps one key
    return m


def _lib_t(a: Any, lib: Any, dev: str) -> Any:
    return idrak.tensor(a, device=dev) if lib is idrak else lib.tensor(a)


MASK = _mask(3, 5)
FMASK = _x(2, 1, 3, 5)

# (id, function name, differentiable inputs, kwargs builder(lib, dev))
Kw = Callable[[Any, str], dict[str, Any]]
SPECS: list[tuple[str, str, list[np.ndarray], Kw]] = [
    ("conv1d", "conv1d", [_x(2, 3, 7), _x(4, 3, 3), _x(4)], lambda L, d: {}),
    (
        "conv1d_stride_pad_dil_groups",
        "conv1d",
        [_x(1, 4, 9), _x(2, 2, 2)],
        lambda L, d: {"stride": 2, "padding": 2, "dilation": 2, "groups": 2},
    ),
    (
        "conv_transpose1d",
        "conv_transpose1d",
        [_x(2, 3, 4), _x(3, 2, 3), _x(2)],
        lambda L, d: {"stride": 3, "padding": 1, "output_padding": 2},
    ),
    (
        "conv_transpose2d",
        "conv_transpose2d",
        [_x(1, 2, 3, 3), _x(2, 3, 2, 3), _x(3)],
        lambda L, d: {"stride": (2, 1), "padding": (0, 1), "dilation": (2, 1)},
    ),
    (
        "conv_transpose2d_groups_outpad",
        "conv_transpose2d",
        [_x(1, 4, 3, 2), _x(4, 1, 3, 3)],
        lambda L, d: {"stride": 2, "output_padding": 1, "groups": 2},
    ),
    ("avg_pool1d", "avg_pool1d", [_x(2, 2, 7)], lambda L, d: {"kernel_size": 3, "stride": 2}),
    (
        "max_pool1d",
        "max_pool1d",
        [_x(2, 2, 9)],
        lambda L, d: {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2},
    ),
    ("interp_nearest", "interpolate", [_x(1, 2, 3, 4)], lambda L, d: {"scale_factor": (2, 1.5)}),
    (
        "interp_nearest_exact",
        "interpolate",
        [_x(1, 2, 5, 4)],
        lambda L, d: {"size": (3, 7), "mode": "nearest-exact"},
    ),
    (
        "interp_bilinear",
        "interpolate",
        [_x(1, 2, 3, 4)],
        lambda L, d: {"size": (5, 6), "mode": "bilinear"},
    ),
    (
        "interp_bilinear_align_scale",
        "interpolate",
        [_x(1, 1, 4, 3)],
        lambda L, d: {"scale_factor": 1.7, "mode": "bilinear", "align_corners": True},
    ),
    (
        "interp_trilinear",
        "interpolate",
        [_x(1, 1, 2, 3, 2)],
        lambda L, d: {"scale_factor": 2, "mode": "trilinear"},
    ),
    ("pad_reflect", "pad", [_x(2, 3, 4)], lambda L, d: {"pad": (2, 3), "mode": "reflect"}),
    (
        "pad_reflect_2d",
        "pad",
        [_x(1, 2, 4, 5)],
        lambda L, d: {"pad": (1, 2, 3, 0), "mode": "reflect"},
    ),
    (
        "pad_replicate_3d",
        "pad",
        [_x(1, 1, 2, 3, 2)],
        lambda L, d: {"pad": (1, 0, 2, 1, 0, 3), "mode": "replicate"},
    ),
    (
        "pad_circular",
        "pad",
        [_x(2, 3, 4)],
        lambda L, d: {"pad": (4, 1, 1, 2), "mode": "circular"},
    ),
    ("cosine_similarity", "cosine_similarity", [_x(3, 4), _x(3, 4)], lambda L, d: {}),
    (
        "cosine_similarity_bcast_dim",
        "cosine_similarity",
        [_x(2, 3, 4), _x(1, 3, 1)],
        lambda L, d: {"dim": -1, "eps": 1e-6},
    ),
    ("pairwise_distance", "pairwise_distance", [_x(4, 3), _x(4, 3)], lambda L, d: {}),
    (
        "pairwise_distance_p1_keepdim",
        "pairwise_distance",
        [_x(2, 5), _x(1, 5)],
        lambda L, d: {"p": 1.0, "keepdim": True},
    ),
    (
        "sdpa",
        "scaled_dot_product_attention",
        [_x(2, 3, 4), _x(2, 5, 4), _x(2, 5, 3)],
        lambda L, d: {},
    ),
    (
        "sdpa_causal_scale",
        "scaled_dot_product_attention",
        [_x(2, 2, 4, 3), _x(2, 2, 4, 3), _x(2, 2, 4, 2)],
        lambda L, d: {"is_causal": True, "scale": 0.7},
    ),
    (
        "sdpa_causal_rectangular",
        "scaled_dot_product_attention",
        [_x(1, 3, 2), _x(1, 5, 2), _x(1, 5, 2)],
        lambda L, d: {"is_causal": True},
    ),
    (
        "sdpa_bool_mask",
        "scaled_dot_product_attention",
        [_x(2, 3, 4), _x(2, 5, 4), _x(2, 5, 2)],
        lambda L, d: {"attn_mask": _lib_t(MASK, L, d)},
    ),
    (
        "sdpa_float_mask_heads",
        "scaled_dot_product_attention",
        [_x(2, 2, 3, 4), _x(2, 2, 5, 4), _x(2, 2, 5, 2)],
        lambda L, d: {"attn_mask": _lib_t(FMASK, L, d)},
    ),
    (
        "sdpa_gqa",
        "scaled_dot_product_attention",
        [_x(1, 4, 3, 2), _x(1, 2, 3, 2), _x(1, 2, 3, 2)],
        lambda L, d: {"enable_gqa": True},
    ),
]
IDS = [s[0] for s in SPECS]


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _run(spec: tuple[Any, ...], lib: Any, args: list[Any], dev: str) -> Any:
    fn = getattr(lib.nn.functional, spec[1])
    kw = spec[3](lib, dev)
    if spec[1] == "pad":
        return fn(args[0], kw.pop("pad"), **kw)
    return fn(*args, **kw)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_functional_matches_torch(spec: tuple[Any, ...], dev: str) -> None:
    torch = pytest.importorskip("torch")
    arrays = spec[2]
    ti = [torch.tensor(a, requires_grad=True) for a in arrays]
    ii = [idrak.tensor(a, device=dev, requires_grad=True) for a in arrays]
    to, io = _run(spec, torch, ti, dev), _run(spec, idrak, ii, dev)
    assert_close(io.numpy(), to.detach().numpy(), 1e-11, 1e-11, f"{spec[0]} forward")
    r = R.standard_normal(tuple(to.shape))
    (to * torch.tensor(r)).sum().backward()
    (io * idrak.tensor(r, device=dev)).sum().backward()
    for k, (t, i) in enumerate(zip(ti, ii)):
        assert_close(i.grad.numpy(), t.grad.numpy(), 1e-10, 1e-10, f"{spec[0]} grad {k}")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_functional_gradients_finite_differences(spec: tuple[Any, ...], dev: str) -> None:
    arrays = spec[2]
    ii = [idrak.tensor(a, device=dev, requires_grad=True) for a in arrays]
    out = _run(spec, idrak, ii, dev)
    r = R.standard_normal(tuple(out.shape))
    (out * idrak.tensor(r, device=dev)).sum().backward()
    numeric = numerical_grad(
        idrak_numpy_fn(lambda *ts: _run(spec, idrak, list(ts), dev), dev), arrays, [r]
    )
    for k, (t, g) in enumerate(zip(ii, numeric)):
        assert_close(t.grad.numpy(), g, 1e-6, 1e-7, f"{spec[0]} finite differences, input {k}")


def test_sdpa_dropout_uses_framework_rng(dev: str) -> None:
    q, k, v = (idrak.tensor(_x(2, 4, 3), device=dev) for _ in range(3))
    idrak.manual_seed(9)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    idrak.manual_seed(9)
    w = F.dropout((q.matmul(k.transpose(-2, -1)) / np.sqrt(3)).softmax(-1), 0.4)
    np.testing.assert_allclose(out.numpy(), w.matmul(v).numpy(), rtol=1e-12, atol=1e-12)
    plain = F.scaled_dot_product_attention(q, k, v).numpy()
    assert not np.allclose(out.numpy(), plain)


def test_sdpa_fully_masked_row_is_zero(dev: str) -> None:
    torch = pytest.importorskip("torch")
    q = _x(1, 3, 2)
    m = np.array([[True, False], [False, False], [True, True]])
    ti = torch.tensor(q, requires_grad=True)
    ii = idrak.tensor(q, device=dev, requires_grad=True)
    to = torch.nn.functional.scaled_dot_product_attention(
        ti, ti[:, :2], ti[:, :2], attn_mask=torch.tensor(m)
    )
    io = F.scaled_dot_product_attention(ii, ii[:, :2], ii[:, :2], attn_mask=idrak.tensor(m))
    assert_close(io.numpy(), to.detach().numpy(), 1e-12, 1e-12, "fully masked row")
    to.sum().backward()
    io.sum().backward()
    assert_close(ii.grad.numpy(), ti.grad.numpy(), 1e-12, 1e-12, "fully masked row grad")


def test_functional_errors() -> None:
    x = idrak.zeros(1, 2, 4)
    with pytest.raises(ValueError, match="is_causal"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=idrak.ones(4, 4) > 0, is_causal=True)
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(x, x, x, dropout_p=1.0)
    with pytest.raises(ValueError, match="same E"):
        F.scaled_dot_product_attention(x, idrak.zeros(1, 2, 3), x)
    with pytest.raises(ValueError, match="broadcast"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=idrak.zeros(3, 3))
    with pytest.raises(ValueError, match="reflect widths"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(ValueError, match="circular widths"):
        F.pad(x, (5, 0), mode="circular")
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="last k"):
        F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(idrak.zeros(1, 1, 2, 2), scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose1d(x, idrak.zeros(2, 1, 3), output_padding=1)
    with pytest.raises(ValueError, match="channels"):
        F.conv_transpose2d(idrak.zeros(1, 3, 2, 2), idrak.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        F.max_pool1d(x, (2, 2))
