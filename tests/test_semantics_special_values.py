"""Silent wrong results fixed to torch's behaviour (compared with torch, float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import idrak
import idrak.nn as nn
import idrak.nn.functional as F

torch = pytest.importorskip("torch")

_SPECIAL = [-math.inf, math.nan, 0.0, -0.0, 2.0, -3.0, 1e-3, math.inf]


def _pair(values: list[float]):
    a = idrak.tensor(values, dtype="float64", requires_grad=True)
    b = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    return a, b


@pytest.mark.parametrize(
    "name, fi, ft",
    [
        ("relu", F.relu, torch.nn.functional.relu),
        ("elu", lambda x: F.elu(x, alpha=2.0), lambda x: torch.nn.functional.elu(x, alpha=2.0)),
        ("gelu", F.gelu, torch.nn.functional.gelu),
        ("abs", lambda x: x.abs(), lambda x: x.abs()),
    ],
)
def test_special_values_match_torch(name, fi, ft) -> None:
    a, b = _pair(_SPECIAL)
    np.testing.assert_allclose(fi(a).numpy(), ft(b).detach().numpy(), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    "fi, ft",
    [
        (F.relu, torch.nn.functional.relu),
        (lambda x: F.elu(x, alpha=2.0), lambda x: torch.nn.functional.elu(x, alpha=2.0)),
        (lambda x: x.abs(), lambda x: x.abs()),
    ],
)
def test_subgradients_at_zero_match_torch(fi, ft) -> None:
    vals = [0.0, -0.0, 1.5, -1.5]
    a, b = _pair(vals)
    fi(a).sum().backward()
    ft(b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x[idrak.tensor([-4])],
        lambda x: x[idrak.tensor([3])],
        lambda x: x.gather(0, idrak.tensor([-1])),
        lambda x: x.gather(0, idrak.tensor([3])),
        lambda x: x.index_select(0, idrak.tensor([-1])),
        lambda x: x.scatter_add(0, idrak.tensor([5]), idrak.tensor([1.0])),
        lambda x: x.__setitem__(idrak.tensor([-4]), 1.0),
        lambda x: x[idrak.tensor([True, False])],
        lambda x: x[1.5],
    ],
)
def test_out_of_range_indices_raise(call) -> None:
    x = idrak.tensor([10.0, 20.0, 30.0])
    with pytest.raises(IndexError):
        call(x)


def test_in_range_negative_indices_still_work() -> None:
    x = idrak.tensor([10.0, 20.0, 30.0])
    assert x[idrak.tensor([-3, -1])].tolist() == [10.0, 30.0]
    assert x[[]].shape == (0,)


def test_embedding_negative_index_raises() -> None:
    with pytest.raises(IndexError):
        nn.Embedding(10, 4)(idrak.tensor([-1]))


def test_one_hot_out_of_range_raises() -> None:
    with pytest.raises(ValueError):
        F.one_hot(idrak.tensor([5, -1, 1]), 3)
    with pytest.raises(ValueError):
        F.one_hot(idrak.tensor([3]), 3)


@pytest.mark.parametrize("shape", ["3", 2.5])
def test_non_integer_shape_raises(shape) -> None:
    with pytest.raises(TypeError):
        idrak.zeros(shape)
