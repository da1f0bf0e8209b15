"""Regression tests for the idrak bugs the differential fuzz suite (tests/fuzz) found, each
checked against torch."""

from __future__ import annotations

from typing import Any

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


@pytest.mark.parametrize("op", ["abs", "ceil", "floor", "round", "trunc", "frac", "relu"])
def test_ops_without_a_bool_kernel_raise_on_bool(op: str) -> None:
    with pytest.raises((NotImplementedError, RuntimeError)):
        getattr(torch.tensor([True, False]), op)()
    with pytest.raises(TypeError, match=f"{op} is not supported for (idrak\\.)?bool"):
        getattr(idrak.tensor([True, False]), op)()
    assert (
        getattr(idrak.tensor([3, -2]), op if op != "frac" else "abs")().tolist()
        == getattr(torch.tensor([3, -2]), op if op != "frac" else "abs")().tolist()
    )


def test_frac_of_an_integer_tensor_raises() -> None:
    with pytest.raises(NotImplementedError):
        torch.tensor([3]).frac()
    with pytest.raises(TypeError, match=r"frac is not supported for idrak\.int64"):
        idrak.tensor([3]).frac()


@pytest.mark.parametrize(
    "expr",
    [
        "lib.tensor([True]) - 1",
        "1 - lib.tensor([True])",
        "lib.tensor([2]) - lib.tensor([True])",
        "lib.tensor([2.0]) - True",
        "lib.tensor([2.0]).sub(lib.tensor(True))",
    ],
)
def test_subtraction_with_a_bool_operand_raises(expr: str) -> None:
    with pytest.raises(RuntimeError, match="Subtraction"):
        eval(expr, {"lib": torch})
    with pytest.raises(TypeError, match="subtraction with a bool operand"):
        eval(expr, {"lib": idrak})


@pytest.mark.parametrize(
    "expr",
    [
        "a ** 2.0",
        "a ** 2",
        "a ** 3",
        "b ** 2",
        "b ** 0",
        "b ** True",
        "b ** lib.tensor([2, 3])",
        "b ** lib.tensor([2, 3], dtype=lib.int32)",
        "2 ** b",
        "2 ** a",
        "True ** a",
        "a ** lib.tensor([True, False])",
        "a ** True",
        "a32 ** (a32 + 1)",
    ],
)
def test_pow_result_dtype_and_value(expr: str) -> None:
    def run(lib: Any) -> Any:
        env = {"lib": lib, "a": lib.tensor([2, -3]), "b": lib.tensor([True, False])}
        env["a32"] = lib.tensor([2, 3], dtype=lib.int32)
        return eval(expr, env)

    want, got = run(torch), run(idrak)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.tolist() == want.tolist()


def test_pow_of_bool_by_bool_and_of_an_empty_int32_exponent() -> None:
    with pytest.raises(NotImplementedError):
        torch.tensor([True]) ** torch.tensor([True])
    with pytest.raises(TypeError, match="bool base and a bool exponent"):
        idrak.tensor([True]) ** idrak.tensor([True])
    e = np.zeros(0, np.int32)
    got = idrak.tensor(np.zeros(0, bool)) ** idrak.tensor(e)
    assert got.shape == (0,) and str(got.dtype) == "idrak.int32"


@pytest.mark.parametrize("reduce", ["sum", "prod", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_on_bool(reduce: str, include_self: bool) -> None:
    def run(lib: Any) -> list[bool]:
        x = lib.tensor([False, True, False, True])
        i, s = lib.tensor([0, 0, 1, 2]), lib.tensor([True, False, True, True])
        return x.scatter_reduce(0, i, s, reduce, include_self=include_self).tolist()

    assert run(idrak) == run(torch)


def test_scatter_reduce_mean_on_bool_raises() -> None:
    with pytest.raises(RuntimeError):
        torch.zeros(2, dtype=torch.bool).scatter_reduce(
            0, torch.tensor([0]), torch.tensor([True]), "mean"
        )
    with pytest.raises(TypeError, match="mean"):
        idrak.zeros(2, dtype=idrak.bool).scatter_reduce(
            0, idrak.tensor([0]), idrak.tensor([True]), "mean"
        )


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod", "mean"])
@pytest.mark.parametrize("shape", [(0,), (3,)])
def test_scatter_reduce_with_an_empty_index(reduce: str, shape: tuple[int, ...]) -> None:
    def run(lib: Any) -> list[float]:
        x = lib.arange(float(shape[0]))
        i = lib.zeros(0, dtype=lib.int64)
        return x.scatter_reduce(0, i, lib.zeros(0), reduce).tolist()

    assert run(idrak) == run(torch)


def test_prod_with_dim_none_and_logsumexp_without_dim_raise() -> None:
    x = [[1.0, 2.0], [3.0, 4.0]]
    for lib in (torch, idrak):
        t = lib.tensor(x)
        with pytest.raises(TypeError):
            t.prod(dim=None)
        with pytest.raises(TypeError):
            t.logsumexp()
        with pytest.raises(TypeError):
            t.logsumexp(dim=None)
        assert t.prod().item() == 24.0 and t.prod(1).tolist() == [2.0, 12.0]


def test_roll_of_a_0d_tensor_with_dims_raises() -> None:
    for lib in (torch, idrak):
        t = lib.tensor(1.5)
        with pytest.raises(IndexError):
            t.roll(1, 0)
        assert t.roll(1).item() == 1.5


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1)])
def test_group_norm_with_one_value_per_group_raises(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        torch.nn.functional.group_norm(torch.ones(shape), 4)
    with pytest.raises(ValueError, match="more than 1 value per group"):
        idrak.nn.functional.group_norm(idrak.ones(shape), 4)
    x = np.arange(8.0).reshape(2, 4, 1)  # one value per group but two samples: accepted
    want = torch.nn.functional.group_norm(torch.tensor(x), 4).numpy()
    got = idrak.nn.functional.group_norm(idrak.tensor(x), 4).numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)
