"""The nn module zoo against torch: each layer built in both, torch's weights loaded into idrak
(``load_state_dict`` of torch's state_dict as NumPy), forward and gradients compared in float64
on every available backend. Recurrent, attention and transformer layers are in
test_nn_zoo_seq.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _zoo_twin import check_twin

import idrak
import idrak.runtime.plugins
from idrak import nn

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")
BACKENDS = idrak.runtime.plugins.available_backends()
R = np.random.default_rng(0)


def _x(*shape: int) -> np.ndarray:
    return R.standard_normal(shape)


def _call(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(*xs)


def _unpool_call(m: Any, xs: list[Any], lib: Any) -> Any:
    out, idx = lib.nn.functional.max_pool2d(xs[0], 2, 2, return_indices=True)
    return m(out * 2.0, idx), idx


def _unpool_sized(m: Any, xs: list[Any], lib: Any) -> Any:
    out, idx = lib.nn.functional.max_pool2d(xs[0], 3, 2, 1, return_indices=True)
    return m(out, idx, output_size=(7, 8)), idx


def _ct_sized(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(xs[0], output_size=(10, 9))


# (id, builder(lib), inputs, call)
SPECS: list[tuple[str, Any, list[np.ndarray], Any]] = [
    ("conv1d", lambda L: L.nn.Conv1d(3, 4, 3), [_x(2, 3, 9)], _call),
    (
        "conv1d_all_args",
        lambda L: L.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
        [_x(2, 4, 11)],
        _call,
    ),
    (
        "conv1d_same_nobias_unbatched",
        lambda L: L.nn.Conv1d(2, 3, 4, padding="same", bias=False),
        [_x(2, 7)],
        _call,
    ),
    (
        "conv_transpose1d",
        lambda L: L.nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1),
        [_x(2, 3, 5)],
        _call,
    ),
    (
        "conv_transpose1d_groups_dil",
        lambda L: L.nn.ConvTranspose1d(4, 2, 2, groups=2, dilation=3, bias=False),
        [_x(1, 4, 6)],
        _call,
    ),
    ("conv_transpose2d", lambda L: L.nn.ConvTranspose2d(3, 2, 3), [_x(2, 3, 4, 4)], _call),
    (
        "conv_transpose2d_all_args",
        lambda L: L.nn.ConvTranspose2d(
            4,
            6,
            (3, 2),
            stride=(2, 1),
            padding=(1, 0),
            output_padding=(1, 0),
            groups=2,
            dilation=(1, 2),
        ),
        [_x(2, 4, 5, 4)],
        _call,
    ),
    (
        "conv_transpose2d_output_size",
        lambda L: L.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
        [_x(1, 2, 5, 5)],
        _ct_sized,
    ),
    ("maxpool1d", lambda L: L.nn.MaxPool1d(3, 2, 1), [_x(2, 3, 10)], _call),
    (
        "maxpool1d_indices",
        lambda L: L.nn.MaxPool1d(2, return_indices=True, ceil_mode=True),
        [_x(2, 3, 9)],
        _call,
    ),
    ("avgpool1d", lambda L: L.nn.AvgPool1d(2), [_x(2, 3, 8)], _call),
    (
        "avgpool1d_pad_exclude",
        lambda L: L.nn.AvgPool1d(3, 2, 1, count_include_pad=False),
        [_x(2, 3, 10)],
        _call,
    ),
    (
        "maxpool2d_indices",
        lambda L: L.nn.MaxPool2d(3, 2, 1, return_indices=True),
        [_x(2, 3, 7, 8)],
        _call,
    ),
    ("maxunpool2d", lambda L: L.nn.MaxUnpool2d(2), [_x(2, 3, 6, 8)], _unpool_call),
    ("maxunpool2d_sized", lambda L: L.nn.MaxUnpool2d(3, 2, 1), [_x(1, 2, 7, 8)], _unpool_sized),
    ("upsample_nearest", lambda L: L.nn.Upsample(scale_factor=2), [_x(2, 3, 3, 4)], _call),
    (
        "upsample_nearest_size",
        lambda L: L.nn.Upsample(size=(5, 3)),
        [_x(1, 2, 3, 4)],
        _call,
    ),
    (
        "upsample_bilinear",
        lambda L: L.nn.Upsample(scale_factor=1.5, mode="bilinear"),
        [_x(2, 2, 4, 5)],
        _call,
    ),
    (
        "upsample_bilinear_align",
        lambda L: L.nn.Upsample(size=(7, 3), mode="bilinear", align_corners=True),
        [_x(1, 2, 4, 5)],
        _call,
    ),
    (
        "upsample_linear",
        lambda L: L.nn.Upsample(scale_factor=2.5, mode="linear"),
        [_x(2, 3, 4)],
        _call,
    ),
    (
        "cosine_similarity",
        lambda L: L.nn.CosineSimilarity(dim=1),
        [_x(4, 5, 3), _x(1, 5, 3)],
        _call,
    ),
    (
        "pairwise_distance",
        lambda L: L.nn.PairwiseDistance(p=1.5, keepdim=True),
        [_x(4, 6), _x(4, 6)],
        _call,
    ),
]


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_layer_matches_torch(spec: tuple[Any, ...], dev: str) -> None:
    name, build, inputs, call = spec
    check_twin(build, inputs, call, dev, name)


def test_default_init_matches_torch_statistics() -> None:
    """Same parameter shapes and init bounds as torch (kaiming-uniform fan-in rules)."""
    torch = pytest.importorskip("torch")
    idrak.manual_seed(0)
    pairs = [
        (nn.ConvTranspose2d(6, 4, 3, groups=2), torch.nn.ConvTranspose2d(6, 4, 3, groups=2)),
        (nn.Conv1d(4, 8, 5), torch.nn.Conv1d(4, 8, 5)),
        (nn.ConvTranspose1d(3, 5, 2), torch.nn.ConvTranspose1d(3, 5, 2)),
    ]
    for im, tm in pairs:
        for (name, p), (tname, tp) in zip(im.named_parameters(), tm.named_parameters()):
            assert name == tname and tuple(p.shape) == tuple(tp.shape)
            fan_in = tp.shape[1] * int(np.prod(tp.shape[2:])) if tp.ndim > 1 else None
            bound = 1.0 / np.sqrt(fan_in) if fan_in else None
            v = np.abs(p.numpy()).max()
            if bound is not None:  # U(-bound, bound): the largest of >= 40 draws is near bound
                assert 0.7 * bound <= v <= bound + 1e-7, f"{name}: |w| {v} vs bound {bound}"


def test_layer_argument_errors() -> None:
    with pytest.raises(ValueError, match="groups"):
        nn.Conv1d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"\(N, 3, L\)"):
        nn.Conv1d(3, 4, 3)(idrak.zeros(2, 5, 9))
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(2, 2, 3, stride=1, output_padding=1)(idrak.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="not reachable"):
        nn.ConvTranspose2d(2, 2, 3, stride=2)(idrak.zeros(1, 2, 4, 4), output_size=(20, 9))
    with pytest.raises(ValueError, match="bilinear"):
        nn.Upsample(scale_factor=2, mode="bilinear")(idrak.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="exactly one"):
        nn.Upsample()(idrak.zeros(1, 2, 4, 4))
    x = idrak.randn(1, 1, 4, 4)
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    with pytest.raises(IndexError, match="outside"):
        nn.MaxUnpool2d(2)(out, idx * 100)
    with pytest.raises(ValueError, match="indices"):
        nn.MaxUnpool2d(2)(out, idx.reshape(1, 1, 4))
