"""Padded and packed batches (``nn.utils.rnn``) against torch's: pack/pad round trips, the
packed layout itself, and RNN/LSTM/GRU run on packed input (outputs, each sequence's final
state and all gradients, float64, torch's weights loaded)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _gradcheck import assert_close
from _zoo_twin import check_twin

import idrak
import idrak.nn.utils.rnn as R
import idrak.runtime.plugins

BACKENDS = idrak.runtime.plugins.available_backends()
RNG = np.random.default_rng(2)


def _rnn_utils(lib: Any) -> Any:
    return lib.nn.utils.rnn


def _packed_call(lengths: list[int], sorted_: bool, batch_first: bool) -> Any:
    def call(m: Any, xs: list[Any], lib: Any) -> Any:
        u = _rnn_utils(lib)
        packed = u.pack_padded_sequence(
            xs[0], lengths, batch_first=batch_first, enforce_sorted=sorted_
        )
        out, state = m(packed, *xs[1:]) if len(xs) == 2 else m(packed)
        padded, _ = u.pad_packed_sequence(out, batch_first=batch_first, padding_value=-1.0)
        return padded, state, out.data

    return call


SPECS = [
    (
        "lstm_unsorted",
        lambda L: L.nn.LSTM(3, 4),
        [RNG.standard_normal((5, 3, 3))],
        [2, 5, 3],
        False,
        False,
    ),
    (
        "lstm_bidir_2layer_sorted",
        lambda L: L.nn.LSTM(3, 4, 2, bidirectional=True),
        [RNG.standard_normal((4, 3, 3))],
        [4, 4, 1],
        True,
        False,
    ),
    (
        "gru_bidir_batch_first_h0",
        lambda L: L.nn.GRU(3, 4, bidirectional=True, batch_first=True),
        [RNG.standard_normal((4, 6, 3)), RNG.standard_normal((2, 4, 4))],
        [3, 6, 1, 4],
        False,
        True,
    ),
    (
        "rnn_relu_2layer",
        lambda L: L.nn.RNN(3, 5, 2, nonlinearity="relu"),
        [RNG.standard_normal((3, 2, 3))],
        [1, 3],
        False,
        False,
    ),
]


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_rnn_on_packed_input_matches_torch(spec: tuple[Any, ...], dev: str) -> None:
    name, build, inputs, lengths, sorted_, batch_first = spec
    check_twin(build, inputs, _packed_call(lengths, sorted_, batch_first), dev, name)


def test_pack_pad_round_trip_and_layout_match_torch(dev: str) -> None:
    torch = pytest.importorskip("torch")
    tu = torch.nn.utils.rnn
    seqs = [RNG.standard_normal((n, 2)) for n in (3, 1, 4, 3)]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    is_ = [idrak.tensor(s, device=dev, requires_grad=True) for s in seqs]
    for side in ("right", "left"):
        for bf in (False, True):
            a = tu.pad_sequence(ts, batch_first=bf, padding_value=7.0, padding_side=side)
            b = R.pad_sequence(is_, batch_first=bf, padding_value=7.0, padding_side=side)
            assert_close(b.numpy(), a.detach().numpy(), 0, 0, f"pad_sequence {side} {bf}")
    tp, ip = tu.pack_sequence(ts, enforce_sorted=False), R.pack_sequence(is_, enforce_sorted=False)
    assert_close(ip.data.numpy(), tp.data.detach().numpy(), 0, 0, "packed data")
    assert ip.batch_sizes.numpy().tolist() == tp.batch_sizes.tolist()
    assert ip.sorted_indices.numpy().tolist() == tp.sorted_indices.tolist()
    assert ip.unsorted_indices.numpy().tolist() == tp.unsorted_indices.tolist()
    tpad, tl = tu.pad_packed_sequence(tp, total_length=6)
    ipad, il = R.pad_packed_sequence(ip, total_length=6)
    assert_close(ipad.numpy(), tpad.detach().numpy(), 0, 0, "pad_packed_sequence")
    assert il.numpy().tolist() == tl.tolist()
    w = RNG.standard_normal(tuple(tpad.shape))
    (tpad * torch.tensor(w)).sum().backward()
    (ipad * idrak.tensor(w, device=dev)).sum().backward()
    for k, (t, i) in enumerate(zip(ts, is_)):
        assert_close(i.grad.numpy(), t.grad.numpy(), 0, 0, f"grad through pack/pad, seq {k}")
    for t, i in zip(tu.unpack_sequence(tp), R.unpack_sequence(ip)):
        assert_close(i.numpy(), t.detach().numpy(), 0, 0, "unpack_sequence")
    for t, i in zip(tu.unpad_sequence(tpad, tl), R.unpad_sequence(ipad, il)):
        assert_close(i.numpy(), t.detach().numpy(), 0, 0, "unpad_sequence")


def test_packed_sequence_errors() -> None:
    x = idrak.zeros(4, 3, 2)
    with pytest.raises(ValueError, match="decreasing"):
        R.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(ValueError, match="exceeds"):
        R.pack_padded_sequence(x, [5, 4, 1])
    with pytest.raises(ValueError, match="positive"):
        R.pack_padded_sequence(x, [4, 0, 1], enforce_sorted=False)
    with pytest.raises(ValueError, match="one length per sequence"):
        R.pack_padded_sequence(x, [4, 1])
    with pytest.raises(ValueError, match="total_length"):
        R.pad_packed_sequence(R.pack_padded_sequence(x, [4, 2, 1]), total_length=3)
    with pytest.raises(ValueError, match="trailing shape"):
        R.pad_sequence([idrak.zeros(2, 3), idrak.zeros(2, 4)])
    with pytest.raises(ValueError, match="padding_side"):
        R.pad_sequence([idrak.zeros(2)], padding_side="top")
