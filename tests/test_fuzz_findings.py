"""Regression tests for the idrak bugs the differential fuzz suite (tests/fuzz) found, each
checked against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import idrak


def test_minimum_of_integers_at_the_range_end() -> None:
    lo = np.iinfo(np.int32).min
    a = np.array([lo, -5, 7], dtype=np.int32)
    b = np.array([0, lo, 7], dtype=np.int32)
    got = idrak.tensor(a).minimum(idrak.tensor(b)).numpy()
    assert got.tolist() == torch.tensor(a).minimum(torch.tensor(b)).tolist() == [lo, lo, 7]
    got = idrak.tensor(a).minimum(idrak.tensor(np.zeros(3, bool))).numpy()
    assert got.tolist() == [lo, -5, 0]


@pytest.mark.parametrize("value", [0.0, 2.7, -1])
def test_masked_fill_keeps_the_dtype(value: float) -> None:
    a, m = np.array([1, 2, 3], dtype=np.int32), np.array([True, False, True])
    want = torch.tensor(a).masked_fill(torch.tensor(m), value)
    got = idrak.tensor(a).masked_fill(idrak.tensor(m), value)
    assert str(got.dtype) == "idrak.int32" and got.tolist() == want.tolist()


def test_masked_fill_of_int_with_inf_raises() -> None:
    with pytest.raises(Exception, match="inf"):
        idrak.tensor([1, 2]).masked_fill(idrak.tensor([True, False]), float("-inf"))


def test_fmod_gradient_where_the_result_is_zero() -> None:
    x = np.array([0.0, -0.0, 3.0, -3.0, 0.5])
    got = idrak.tensor(x, requires_grad=True)
    y = got.fmod(1.5)
    y.sum().backward()
    want = torch.tensor(x, requires_grad=True)
    wy = want.fmod(1.5)
    wy.sum().backward()
    np.testing.assert_array_equal(got.grad.numpy(), want.grad.numpy())
    np.testing.assert_array_equal(np.signbit(y.numpy()), np.signbit(wy.detach().numpy()))


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_cumprod_of_integers_is_int64(dtype: str) -> None:
    a = np.array([[1, 2, 3], [0, 1, 1]], dtype=dtype)
    got, want = idrak.tensor(a).cumprod(1), torch.tensor(a).cumprod(1)
    assert str(got.dtype) == "idrak.int64" and got.tolist() == want.tolist()


def test_unbind_and_chunk_of_an_empty_dim() -> None:
    assert idrak.zeros(0, 2).unbind(0) == () == torch.zeros(0, 2).unbind(0)
    got, want = idrak.zeros(2, 0).chunk(3, 1), torch.zeros(2, 0).chunk(3, 1)
    assert len(got) == len(want) == 3 and all(tuple(g.shape) == (2, 0) for g in got)


def test_movedim_of_a_0d_tensor() -> None:
    assert idrak.tensor(2.0).movedim(0, -1).item() == torch.tensor(2.0).movedim(0, -1).item()


def test_scatter_of_a_number_at_repeated_indices_writes_it_once() -> None:
    a, i = np.array([0, 5, 1], dtype=np.int32), np.array([0, 0, 2])
    want = torch.tensor(a).scatter(0, torch.tensor(i), 7)
    got = idrak.tensor(a).scatter(0, idrak.tensor(i), 7)
    assert got.tolist() == want.tolist() == [7, 5, 7]
    assert idrak.tensor(3.0).scatter(0, idrak.tensor(0), 7).item() == 7.0


def test_cat_and_roll_keep_negative_zeros() -> None:
    x = np.array([-0.0, 0.0, -0.0], dtype=np.float32)
    got = [idrak.tensor(x).roll(1, 0), idrak.cat([idrak.tensor(x), idrak.tensor(x)])]
    want = [torch.tensor(x).roll(1, 0), torch.cat([torch.tensor(x), torch.tensor(x)])]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.signbit(g.numpy()), np.signbit(w.numpy()))
