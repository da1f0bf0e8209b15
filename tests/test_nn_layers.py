"""idrak.nn layers against PyTorch (same weights, float64) and finite differences, on every
available backend; plus init, Dropout, factories and layer argument errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak import nn
from idrak.nn import init

BACKENDS = idrak.runtime.plugins.available_backends()

# (id, layer class name, args, kwargs, input shape, integer input?, atol)
SPECS: list[tuple[str, str, tuple[Any, ...], dict[str, Any], tuple[int, ...], bool, float]] = [
    ("linear", "Linear", (5, 3), {}, (4, 5), False, 1e-10),
    ("linear_nobias_3d", "Linear", (5, 3), {"bias": False}, (2, 4, 5), False, 1e-10),
    ("conv2d", "Conv2d", (3, 4, 3), {}, (2, 3, 6, 6), False, 1e-10),
    (
        "conv2d_all_args",
        "Conv2d",
        (4, 6, (3, 2)),
        {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2},
        (2, 4, 7, 7),
        False,
        1e-10,
    ),
    (
        "conv2d_same_nobias",
        "Conv2d",
        (2, 3, 3),
        {"padding": "same", "bias": False},
        (1, 2, 5, 5),
        False,
        1e-10,
    ),
    ("maxpool", "MaxPool2d", (2,), {}, (2, 3, 4, 6), False, 1e-12),
    ("maxpool_pad_stride", "MaxPool2d", (3, 2, 1), {}, (2, 2, 7, 7), False, 1e-12),
    (
        "maxpool_ceil_dil",
        "MaxPool2d",
        (2, 2),
        {"ceil_mode": True, "dilation": 2},
        (1, 2, 7, 7),
        False,
        1e-12,
    ),
    ("avgpool", "AvgPool2d", (2,), {}, (2, 3, 4, 6), False, 1e-12),
    (
        "avgpool_pad_exclude",
        "AvgPool2d",
        (3, 2, 1),
        {"count_include_pad": False},
        (2, 2, 7, 7),
        False,
        1e-12,
    ),
    ("adaptive_avg", "AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 5, 7), False, 1e-12),
    ("adaptive_avg_global", "AdaptiveAvgPool2d", (1,), {}, (2, 3, 4, 4), False, 1e-12),
    ("batchnorm1d", "BatchNorm1d", (3,), {}, (6, 3), False, 1e-10),
    ("batchnorm1d_ncl", "BatchNorm1d", (3,), {"momentum": 0.3}, (4, 3, 5), False, 1e-10),
    ("batchnorm2d", "BatchNorm2d", (3,), {}, (4, 3, 4, 4), False, 1e-10),
    (
        "batchnorm2d_cumulative",
        "BatchNorm2d",
        (3,),
        {"momentum": None, "affine": False},
        (2, 3, 3, 3),
        False,
        1e-10,
    ),
    (
        "batchnorm2d_no_stats",
        "BatchNorm2d",
        (2,),
        {"track_running_stats": False},
        (3, 2, 2, 2),
        False,
        1e-10,
    ),
    ("layernorm", "LayerNorm", (5,), {}, (3, 4, 5), False, 1e-10),
    ("layernorm_2d", "LayerNorm", ((4, 5),), {"eps": 1e-3}, (3, 4, 5), False, 1e-10),
    ("groupnorm", "GroupNorm", (2, 4), {}, (3, 4, 3, 3), False, 1e-10),
    ("flatten", "Flatten", (), {}, (2, 3, 2, 2), False, 0.0),
    ("identity", "Identity", (), {}, (2, 3), False, 0.0),
    ("relu", "ReLU", (), {}, (4, 5), False, 0.0),
    ("leaky_relu", "LeakyReLU", (0.2,), {}, (4, 5), False, 1e-15),
    ("gelu", "GELU", (), {}, (4, 5), False, 1e-12),
    ("gelu_tanh", "GELU", (), {"approximate": "tanh"}, (4, 5), False, 1e-12),
    ("silu", "SiLU", (), {}, (4, 5), False, 1e-12),
    ("elu", "ELU", (0.7,), {}, (4, 5), False, 1e-12),
    ("sigmoid", "Sigmoid", (), {}, (4, 5), False, 1e-12),
    ("tanh", "Tanh", (), {}, (4, 5), False, 1e-12),
    ("softmax", "Softmax", (1,), {}, (3, 4, 2), False, 1e-12),
    ("log_softmax", "LogSoftmax", (-1,), {}, (3, 5), False, 1e-12),
    ("embedding", "Embedding", (7, 3), {"padding_idx": 2}, (2, 5), True, 0.0),
]
IDS = [s[0] for s in SPECS]


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _build(spec: tuple[Any, ...], dev: str) -> nn.Module:
    _, cls, args, kwargs, *_ = spec
    idrak.manual_seed(1)
    m: nn.Module = getattr(nn, cls)(*args, **kwargs)
    return m.to(device=dev, dtype=idrak.float64)


def _input(spec: tuple[Any, ...], rng: np.random.Generator) -> np.ndarray:
    shape, is_int = spec[4], spec[5]
    if is_int:
        return rng.integers(0, spec[2][0], size=shape).astype(np.int64)
    return rng.standard_normal(shape)


def _close(a: Any, b: Any, atol: float, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64),
        np.asarray(b, dtype=np.float64),
        rtol=max(atol, 1e-12),
        atol=max(atol, 1e-12),
        err_msg=what,
    )


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_layer_matches_torch(spec: tuple[Any, ...], dev: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    m = _build(spec, dev)
    tm = getattr(torch.nn, spec[1])(*spec[2], **spec[3]).double()
    tm.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    atol = spec[6]
    for step in range(2):  # two training steps (running statistics), then eval
        x = _input(spec, rng)
        xi = idrak.tensor(x, device=dev, requires_grad=not spec[5])
        xt = torch.tensor(x, requires_grad=not spec[5])
        yi, yt = m(xi), tm(xt)
        _close(yi.numpy(), yt.detach().numpy(), atol, f"{spec[0]} forward, step {step}")
        r = rng.standard_normal(yt.shape)
        m.zero_grad()
        (yi * idrak.tensor(r, device=dev)).sum().backward()
        (yt * torch.tensor(r)).sum().backward()
        if not spec[5]:
            _close(xi.grad.numpy(), xt.grad.numpy(), atol, f"{spec[0]} input grad")
        for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert name == tname
            _close(p.grad.numpy(), tp.grad.numpy(), atol, f"{spec[0]} grad of {name}")
        tm.zero_grad()
    for name, b in m.named_buffers():
        _close(b.numpy(), tm.state_dict()[name].numpy(), atol, f"{spec[0]} buffer {name}")
    m.eval()
    tm.eval()
    x = _input(spec, rng)
    _close(
        m(idrak.tensor(x, device=dev)).numpy(),
        tm(torch.tensor(x)).detach().numpy(),
        atol,
        f"{spec[0]} eval forward",
    )


def _directional_check(
    f: Any, tensors: list[idrak.Tensor], rng: np.random.Generator, what: str, eps: float = 1e-6
) -> None:
    """d/de f(t + e v) at 0 by central differences equals <grad, v>, for each tensor t."""
    out = f()
    r = idrak.tensor(rng.standard_normal(out.shape), device=out.device)
    for t in tensors:
        t.grad = None
    (f() * r).sum().backward()
    for i, t in enumerate(tensors):
        v = rng.standard_normal(t.shape)
        base = t.detach().clone()  # detach() shares storage (as in torch); clone copies
        vals = []
        for s in (eps, -eps):
            with idrak.no_grad():
                t.assign(base + idrak.tensor(v * s, device=t.device))
                vals.append(float((f() * r).sum().item()))
        with idrak.no_grad():
            t.assign(base)
        numeric = (vals[0] - vals[1]) / (2 * eps)
        analytic = float((t.grad.numpy() * v).sum()) if t.grad is not None else 0.0
        assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric)), (
            f"{what}: tensor {i} directional derivative {analytic} != finite difference {numeric}"
        )


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if not s[5]], ids=[s[0] for s in SPECS if not s[5]]
)
def test_layer_gradients_finite_differences(spec: tuple[Any, ...], dev: str) -> None:
    rng = np.random.default_rng(1)
    m = (
        _build(spec, dev).eval()
        if spec[1].startswith("BatchNorm") and spec[3].get("track_running_stats", True)
        else _build(spec, dev)
    )
    x = idrak.tensor(_input(spec, rng), device=dev, requires_grad=True)
    _directional_check(lambda: m(x), [x, *m.parameters()], rng, spec[0])


def test_embedding_padding_row_gets_no_gradient(dev: str) -> None:
    emb = nn.Embedding(5, 3, padding_idx=1).to(device=dev)
    assert np.all(emb.weight.numpy()[1] == 0)
    idx = idrak.tensor([[1, 2], [1, 4]], device=dev)
    emb(idx).sum().backward()
    g = emb.weight.grad.numpy()
    assert np.all(g[1] == 0) and np.all(g[2] == 1) and np.all(g[0] == 0)
    with pytest.raises(TypeError, match="integer"):
        emb(idrak.tensor([0.5], device=dev))


# dropout ---------------------------------------------------------------------------------------
def test_dropout_train_eval_and_seed(dev: str) -> None:
    x = idrak.ones(200, 50, device=dev)
    d = nn.Dropout(0.3)
    idrak.manual_seed(5)
    y = d(x).numpy()
    zero_frac = float((y == 0).mean())
    assert abs(zero_frac - 0.3) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.7)
    idrak.manual_seed(5)
    np.testing.assert_array_equal(d(x).numpy(), y)  # same seed, same mask
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert float(nn.Dropout(1.0)(x).abs().sum().item()) == 0
    with pytest.raises(ValueError, match=r"1\.5"):
        nn.Dropout(1.5)


def test_dropout_gradient_is_the_mask(dev: str) -> None:
    x = idrak.randn(30, 10, device=dev, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.numpy() != 0) * 2.0)


# init -------------------------------------------------------------------------------------------
def test_calculate_gain_and_fans() -> None:
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("conv2d") == 1.0
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")
    assert init._calculate_fan_in_and_fan_out(idrak.zeros(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match=r"\(4,\)"):
        init._calculate_fan_in_and_fan_out(idrak.zeros(4))


@pytest.mark.parametrize(
    ("fn", "kwargs", "bound", "std"),
    [
        ("uniform_", {"a": -2.0, "b": 3.0}, (-2.0, 3.0), 5 / math.sqrt(12)),
        ("normal_", {"mean": 1.0, "std": 2.0}, None, 2.0),
        ("xavier_uniform_", {}, (-math.sqrt(6 / 300), math.sqrt(6 / 300)), math.sqrt(2 / 300)),
        ("xavier_normal_", {"gain": 2.0}, None, 2 * math.sqrt(2 / 300)),
        (
            "kaiming_uniform_",
            {"nonlinearity": "relu"},
            (-math.sqrt(6 / 100), math.sqrt(6 / 100)),
            math.sqrt(2 / 100),
        ),
        ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, None, math.sqrt(2 / 200)),
    ],
)
def test_init_distributions(
    fn: str, kwargs: dict[str, Any], bound: Any, std: float, dev: str
) -> None:
    p = nn.Parameter(idrak.zeros(200, 100, device=dev, dtype="float64"))
    out = getattr(init, fn)(p, **kwargs)
    assert out is p and p.requires_grad and p.is_leaf
    v = p.numpy()
    if bound is not None:
        assert v.min() >= bound[0] and v.max() <= bound[1]
    assert v.std() == pytest.approx(std, rel=0.03)


def test_init_constants_and_errors() -> None:
    t = nn.Parameter(idrak.zeros(3, 2))
    init.ones_(t)
    assert np.all(t.numpy() == 1)
    init.constant_(t, 2.5)
    assert np.all(t.numpy() == 2.5)
    init.zeros_(t)
    assert np.all(t.numpy() == 0)
    with pytest.raises(ValueError, match="fan_sideways"):
        init.kaiming_uniform_(t, mode="fan_sideways")


def test_default_init_matches_torch_bounds() -> None:
    lin = nn.Linear(16, 4)
    b = 1 / math.sqrt(16)
    assert np.abs(lin.weight.numpy()).max() <= b and np.abs(lin.bias.numpy()).max() <= b
    conv = nn.Conv2d(4, 8, 3, groups=2)
    b = 1 / math.sqrt(2 * 9)
    assert np.abs(conv.weight.numpy()).max() <= b
    assert np.abs(conv.weight.numpy()).max() > 0.8 * b
    assert nn.Embedding(10, 4).weight.numpy().std() > 0.5  # N(0, 1)


# layer arguments, errors, factories -------------------------------------------------------------
def test_layer_errors_name_the_values() -> None:
    with pytest.raises(ValueError, match=r"\(2, 7\)"):
        nn.Linear(5, 3)(idrak.zeros(2, 7))
    with pytest.raises(ValueError, match="out_features must be a positive int, got 0"):
        nn.Linear(5, 0)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"\(1, 2, 5, 5\)"):
        nn.Conv2d(3, 4, 3)(idrak.zeros(1, 2, 5, 5))
    with pytest.raises(ValueError, match="BatchNorm2d"):
        nn.BatchNorm2d(3)(idrak.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(idrak.zeros(1, 3))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\)"):
        nn.LayerNorm(4)(idrak.zeros(2, 5))
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("sigmoid")
    with pytest.raises(ValueError, match="padding_idx 9"):
        nn.Embedding(5, 2, padding_idx=9)


def test_lower_case_factories_return_layers() -> None:
    assert isinstance(nn.linear(4, 3), nn.Linear)
    conv = nn.conv2d(3, 8, kernel_size=7)
    assert isinstance(conv, nn.Conv2d) and conv.weight.shape == (8, 3, 7, 7)
    assert isinstance(nn.batch_norm2d(8), nn.BatchNorm2d)
    assert isinstance(nn.max_pool2d(2), nn.MaxPool2d)


def test_resnet_block(dev: str) -> None:
    from idrak.factories import resnet_block

    block = resnet_block(4).to(device=dev)
    assert list(block) == ["conv1", "bn1", "relu", "conv2", "bn2"]
    x = idrak.randn(2, 4, 5, 5, device=dev)
    y = block(x)
    assert y.shape == (2, 4, 5, 5) and float(y.amin().item()) >= 0
    block.eval()
    expect = (block["bn2"](block["conv2"](block["bn1"](block["conv1"](x)).relu())) + x).relu()
    np.testing.assert_allclose(block(x).numpy(), expect.numpy(), atol=1e-5)
    assert set(block.params) == {
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "conv2.weight",
        "bn2.weight",
        "bn2.bias",
    }
    with pytest.raises(ValueError, match="channels"):
        resnet_block(0)


def test_batchnorm_running_stats_do_not_grow_the_graph(dev: str) -> None:
    from idrak.engine.lazy import schedule

    bn = nn.BatchNorm1d(2).to(device=dev)
    pending = []
    for _ in range(8):
        bn(idrak.randn(8, 2, device=dev))
        pending.append(len(schedule([bn.running_mean.lazy, bn.running_var.lazy])))
    assert pending[2] == pending[-1]  # each forward realizes the previous update
    assert int(bn.num_batches_tracked.item()) == 8
