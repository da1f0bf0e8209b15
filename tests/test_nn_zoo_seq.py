"""Recurrent, attention and transformer layers against torch: each built in both, torch's
state_dict (as NumPy) loaded into idrak, forward outputs, final states, attention weights and
every gradient compared in float64 on every available backend."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from _zoo_twin import check_twin

import idrak
import idrak.runtime.plugins
from idrak import nn

pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
BACKENDS = idrak.runtime.plugins.available_backends()
R = np.random.default_rng(3)


def _x(*shape: int) -> np.ndarray:
    return R.standard_normal(shape)


def _call(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(*xs)


def _lstm_state(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(xs[0], (xs[1], xs[2]))


def _cell_seq(m: Any, xs: list[Any], lib: Any) -> Any:
    """Three steps of a cell, feeding the state back."""
    h = None
    outs = []
    for t in range(3):
        h = m(xs[0][t], h)
        outs.append(h)
    return outs


def _mha(**kw: Any) -> Any:
    def call(m: Any, xs: list[Any], lib: Any) -> Any:
        q, k, v, *rest = xs
        extra = dict(kw)
        for name, val in zip(("key_padding_mask", "attn_mask"), rest):
            if val is not None:
                extra[name] = val
        return m(q, k, v, **extra)

    return call


def _causal(n: int) -> np.ndarray:
    return np.triu(np.ones((n, n), dtype=bool), 1)  # True = masked (MHA convention)


def _pad_mask(n: int, s: int) -> np.ndarray:
    m = R.random((n, s)) < 0.3
    m[:, 0] = False  # every query keeps at least one key
    return m


def _enc(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(xs[0], src_mask=xs[1], src_key_padding_mask=xs[2] if len(xs) > 2 else None)


def _enc_causal(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(xs[0], src_mask=xs[1], is_causal=True)


def _enc_stack(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(xs[0], mask=xs[1], src_key_padding_mask=xs[2])


def _dec(m: Any, xs: list[Any], lib: Any) -> Any:
    return m(xs[0], xs[1], tgt_mask=xs[2], memory_key_padding_mask=xs[3])


def _stack_enc(lib: Any) -> Any:
    layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8))


def _stack_dec(lib: Any) -> Any:
    layer = lib.nn.TransformerDecoderLayer(8, 2, 12, dropout=0.0, norm_first=True)
    return lib.nn.TransformerDecoder(layer, 2)


SPECS: list[tuple[str, Any, list[Any], Any]] = [
    ("rnn_tanh", lambda L: L.nn.RNN(4, 5), [_x(6, 3, 4)], _call),
    (
        "rnn_relu_2layer_bidir_h0",
        lambda L: L.nn.RNN(4, 5, 2, nonlinearity="relu", bidirectional=True),
        [_x(5, 2, 4), _x(4, 2, 5)],
        _call,
    ),
    (
        "rnn_batch_first_nobias",
        lambda L: L.nn.RNN(3, 4, batch_first=True, bias=False),
        [_x(2, 5, 3)],
        _call,
    ),
    ("lstm", lambda L: L.nn.LSTM(4, 5), [_x(6, 3, 4)], _call),
    (
        "lstm_2layer_bidir_batch_first_state",
        lambda L: L.nn.LSTM(4, 5, 2, batch_first=True, bidirectional=True),
        [_x(3, 6, 4), _x(4, 3, 5), _x(4, 3, 5)],
        _lstm_state,
    ),
    ("lstm_unbatched", lambda L: L.nn.LSTM(3, 4, 2), [_x(5, 3)], _call),
    ("gru", lambda L: L.nn.GRU(4, 5), [_x(6, 3, 4)], _call),
    (
        "gru_3layer_nobias_h0",
        lambda L: L.nn.GRU(4, 5, 3, bias=False),
        [_x(4, 2, 4), _x(3, 2, 5)],
        _call,
    ),
    (
        "gru_bidir_batch_first",
        lambda L: L.nn.GRU(3, 4, bidirectional=True, batch_first=True),
        [_x(2, 5, 3)],
        _call,
    ),
    ("rnn_cell", lambda L: L.nn.RNNCell(4, 5), [_x(3, 2, 4)], _cell_seq),
    (
        "rnn_cell_relu_state",
        lambda L: L.nn.RNNCell(4, 5, nonlinearity="relu"),
        [_x(2, 4), _x(2, 5)],
        _call,
    ),
    ("lstm_cell", lambda L: L.nn.LSTMCell(4, 5), [_x(2, 4), _x(2, 5), _x(2, 5)], _lstm_state),
    ("lstm_cell_unbatched", lambda L: L.nn.LSTMCell(4, 5, bias=False), [_x(4)], _call),
    ("gru_cell", lambda L: L.nn.GRUCell(4, 5), [_x(3, 2, 4)], _cell_seq),
    (
        "mha",
        lambda L: L.nn.MultiheadAttention(8, 2),
        [_x(5, 3, 8), _x(6, 3, 8), _x(6, 3, 8)],
        _mha(),
    ),
    (
        "mha_masks_per_head_weights",
        lambda L: L.nn.MultiheadAttention(8, 4),
        [_x(5, 2, 8), _x(5, 2, 8), _x(5, 2, 8), _pad_mask(2, 5), _x(5, 5)],
        _mha(average_attn_weights=False),
    ),
    (
        "mha_batch_first_kdim_vdim_causal",
        lambda L: L.nn.MultiheadAttention(6, 3, kdim=4, vdim=5, batch_first=True),
        [_x(2, 4, 6), _x(2, 4, 4), _x(2, 4, 5), None, _causal(4)],
        _mha(),
    ),
    (
        "mha_3d_mask_nobias_no_weights",
        lambda L: L.nn.MultiheadAttention(4, 2, bias=False),
        [_x(3, 2, 4), _x(5, 2, 4), _x(5, 2, 4), None, _x(4, 3, 5)],
        _mha(need_weights=False),
    ),
    (
        "mha_unbatched",
        lambda L: L.nn.MultiheadAttention(4, 2),
        [_x(3, 4), _x(5, 4), _x(5, 4), R.random(5) < 0.3],
        _mha(),
    ),
    (
        "encoder_layer",
        lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0),
        [_x(5, 2, 8), _x(5, 5)],
        _enc,
    ),
    (
        "encoder_layer_norm_first_gelu_batch_first",
        lambda L: L.nn.TransformerEncoderLayer(
            8, 4, 12, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        ),
        [_x(2, 5, 8), _causal(5), _pad_mask(2, 5)],
        _enc,
    ),
    (
        "encoder_layer_is_causal",
        lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, layer_norm_eps=1e-3),
        [_x(4, 3, 8), _causal(4)],
        _enc_causal,
    ),
    (
        "decoder_layer",
        lambda L: L.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0),
        [_x(4, 2, 8), _x(6, 2, 8), _causal(4), _pad_mask(2, 6)],
        _dec,
    ),
    (
        "decoder_layer_norm_first_batch_first",
        lambda L: L.nn.TransformerDecoderLayer(
            8, 2, 16, dropout=0.0, norm_first=True, batch_first=True
        ),
        [_x(2, 4, 8), _x(2, 6, 8), _causal(4), _pad_mask(2, 6)],
        _dec,
    ),
    ("encoder_stack", _stack_enc, [_x(2, 5, 8), _causal(5), _pad_mask(2, 5)], _enc_stack),
    (
        "decoder_stack",
        _stack_dec,
        [_x(4, 2, 8), _x(3, 2, 8), _causal(4), _pad_mask(2, 3)],
        _dec,
    ),
]


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_sequence_layer_matches_torch(spec: tuple[Any, ...], dev: str) -> None:
    name, build, inputs, call = spec
    check_twin(build, [a for a in inputs if a is not None], _skip_none(call, inputs), dev, name)


def _skip_none(call: Any, inputs: list[Any]) -> Any:
    """Re-insert the None placeholders of ``inputs`` before calling."""
    holes = [i for i, a in enumerate(inputs) if a is None]

    def wrapped(m: Any, xs: list[Any], lib: Any) -> Any:
        full = list(xs)
        for i in holes:
            full.insert(i, None)
        return call(m, full, lib)

    return wrapped


def test_state_dict_names_and_shapes_match_torch() -> None:
    torch = pytest.importorskip("torch")
    cases = [
        ("LSTM", (3, 4, 2), {"bidirectional": True}),
        ("GRU", (3, 4), {"bias": False}),
        ("RNN", (3, 4, 3), {}),
        ("MultiheadAttention", (6, 2), {"kdim": 3}),
        ("TransformerEncoderLayer", (8, 2, 16), {"bias": False}),
        ("TransformerDecoderLayer", (8, 2, 16), {}),
        ("ConvTranspose2d", (4, 6, 3), {"groups": 2}),
    ]
    for cls, args, kw in cases:
        ti = {
            k: tuple(v.shape) for k, v in getattr(torch.nn, cls)(*args, **kw).state_dict().items()
        }
        ii = {k: tuple(v.shape) for k, v in getattr(nn, cls)(*args, **kw).state_dict().items()}
        assert list(ii) == list(ti), f"{cls}: names {list(ii)} != torch {list(ti)}"
        assert ii == ti, f"{cls}: shapes differ"


def test_rnn_init_range_and_dropout_between_layers() -> None:
    lstm = nn.LSTM(3, 16, 2, dropout=0.5)
    for name, p in lstm.named_parameters():
        v = np.abs(p.numpy())
        assert v.max() <= 0.25 + 1e-7 and v.max() > 0.2, name  # U(-1/sqrt(16), 1/sqrt(16))
    x = idrak.randn(4, 2, 3)
    lstm.eval()
    a = lstm(x)[0].numpy()
    np.testing.assert_array_equal(lstm(x)[0].numpy(), a)  # eval: no dropout, deterministic
    lstm.train()
    idrak.manual_seed(1)
    b = lstm(x)[0].numpy()
    idrak.manual_seed(1)
    np.testing.assert_array_equal(lstm(x)[0].numpy(), b)  # seeded dropout repeats
    assert not np.allclose(a, b)  # dropout changed the second layer's input
    one = nn.LSTM(3, 16, 1, dropout=0.5)  # dropout only between layers: none with one layer
    one.eval()
    c = one(x)[0].numpy()
    one.train()
    np.testing.assert_array_equal(one(x)[0].numpy(), c)


def test_mha_dropout_uses_framework_rng() -> None:
    m = nn.MultiheadAttention(4, 2, dropout=0.5)
    q = idrak.randn(3, 2, 4)
    idrak.manual_seed(4)
    a, wa = m(q, q, q)
    idrak.manual_seed(4)
    b, _ = m(q, q, q)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m.eval()
    _, we = m(q, q, q)
    np.testing.assert_allclose(we.numpy().sum(-1), 1.0, rtol=1e-6)
    assert not np.allclose(wa.numpy(), we.numpy())


def test_encoder_stack_layers_are_independent_copies() -> None:
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3
    w = [enc.layers[i].linear1.weight for i in range(3)]
    assert w[0] is not w[1] and w[0] is not layer.linear1.weight
    np.testing.assert_array_equal(w[0].numpy(), w[2].numpy())  # deep copies of one layer
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
    copy.deepcopy(enc)


def test_sequence_layer_errors() -> None:
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="H_in=3"):
        nn.GRU(3, 4)(idrak.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(2, 2, 4\)"):
        nn.GRU(3, 4, bidirectional=True)(idrak.zeros(5, 2, 3), idrak.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(4, 2, add_bias_kv=True)
    m = nn.MultiheadAttention(4, 2)
    q = idrak.zeros(3, 2, 4)
    with pytest.raises(ValueError, match="attn_mask must be"):
        m(q, q, q, attn_mask=idrak.zeros(2, 2))
    with pytest.raises(ValueError, match="key_padding_mask must be"):
        m(q, q, q, key_padding_mask=idrak.zeros(3, 3))
    with pytest.raises(ValueError, match="needs attn_mask"):
        m(q, q, q, is_causal=True)
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")
    with pytest.raises(ValueError, match="num_layers"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2), 0)
