"""The per-op fast paths of the eager/lazy path keep every behaviour of the general path.

Covered: a binary op on two tensors of one shape and dtype (no promotion or broadcast), the
realization of one node whose inputs are realized (no graph walk, no fusion pass), and
``Tensor.numpy()`` realizing without ``Tensor.realize``. Each test compares with what the general
path gives (values checked against NumPy or torch) or checks a hook, guard or view that the fast
path must still honour.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import idrak
from idrak.engine import debug, lazy


def _t(values: list[float], dtype: str = "float32") -> idrak.Tensor:
    return idrak.tensor(np.array(values, dtype=dtype)).realize()


@pytest.mark.parametrize(
    ("op", "dtype"),
    [
        ("add", "float32"),
        ("sub", "float64"),
        ("mul", "int32"),
        ("truediv", "int64"),  # float_only: int / int leaves the fast path and gives a float
        ("truediv", "float32"),
        ("lt", "int8"),
        ("eq", "float64"),
        ("add", "bool"),
        ("mul", "bool"),
    ],
)
def test_same_shape_same_dtype_binary_matches_torch(op: str, dtype: str) -> None:
    rng = np.random.default_rng(0)
    a_np = (rng.standard_normal((3, 4)) * 5).astype(dtype)
    b_np = (rng.standard_normal((3, 4)) * 5 + 7).astype(dtype)
    fn = getattr(__import__("operator"), op)
    got = fn(idrak.tensor(a_np), idrak.tensor(b_np))
    want = fn(torch.from_numpy(a_np), torch.from_numpy(b_np))
    assert got.dtype.name == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_reflected_op_on_tensors_keeps_the_operand_order() -> None:
    a, b = _t([1.0, 2.0]), _t([10.0, 20.0])
    np.testing.assert_array_equal(a.__rsub__(b).numpy(), [9.0, 18.0])
    np.testing.assert_array_equal(a.__rtruediv__(b).numpy(), [10.0, 10.0])


def test_same_shape_binary_records_autograd() -> None:
    a = idrak.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = idrak.tensor([4.0, 5.0, 6.0], requires_grad=True)
    (a * b + a).sum().backward()
    assert a.grad is not None and b.grad is not None
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0, 3.0])


def test_same_shape_binary_on_a_view_sees_the_in_place_change_of_its_base() -> None:
    base = _t([1.0, 2.0, 3.0, 4.0])
    view = base[:2]
    base.add_(10.0)  # the view must be brought up to date before it is used
    np.testing.assert_array_equal((view + _t([1.0, 1.0])).numpy(), [12.0, 13.0])
    np.testing.assert_array_equal(view.numpy(), [11.0, 12.0])


def test_one_node_realization_is_reported_to_debug() -> None:
    a, b = _t([1.0, 2.0]), _t([3.0, 4.0])
    c = a + b
    with debug.schedule(file=None) as reports:
        c.numpy()
    assert [k.op for r in reports for k in r.kernels] == ["ADD"]


def test_one_node_realization_is_seen_by_every_schedule_hook() -> None:
    seen: list[str] = []

    def hook(order: list[lazy.LazyBuffer]) -> list[lazy.LazyBuffer]:
        seen.extend(n.op.name for n in order if n.op is not None)
        return order

    a, b = _t([1.0, 2.0]), _t([3.0, 4.0])
    lazy.schedule_hooks.append(hook)
    try:
        c = a * b
        np.testing.assert_array_equal(c.numpy(), [3.0, 8.0])
        (a - b).realize()
    finally:
        lazy.schedule_hooks.remove(hook)
    assert seen == ["MUL", "SUB"]


def test_one_node_realization_without_any_hook() -> None:
    saved = list(lazy.schedule_hooks)
    lazy.schedule_hooks.clear()
    try:
        a, b = _t([1.0, 2.0]), _t([3.0, 4.0])
        c = a + b
        np.testing.assert_array_equal(c.numpy(), [4.0, 6.0])
        assert c.lazy.buf is not None and c.lazy.srcs == ()  # sources released as execute does
    finally:
        lazy.schedule_hooks[:] = saved


def test_one_node_realization_still_checks_its_guard() -> None:
    x = _t([1.0, 2.0, 3.0])
    idx = idrak.tensor(np.array([0, 2])) + 3  # unrealized: bounds-checked on the device
    y = x[idx]
    assert lazy._guard_refs  # a guard travels with the node
    with pytest.raises(IndexError, match="out of bounds for dimension with size 3"):
        y.numpy()


def test_eager_mode_runs_each_op_through_the_fast_path() -> None:
    a, b = _t([1.0, 2.0]), _t([3.0, 4.0])
    with idrak.eager():
        c = a + b
        assert c.lazy.buf is not None  # realized on the line that wrote it
    np.testing.assert_array_equal(c.numpy(), [4.0, 6.0])


def test_numpy_is_a_copy() -> None:
    a = _t([1.0, 2.0])
    out = a.numpy()
    out[0] = 100.0
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])


@pytest.mark.parametrize(
    "sizes",
    [(2, 3), ([2, 3],), (np.int64(2), np.int32(3)), ((2, 3),), (-1, 3), (2, np.int64(-1))],
)
def test_reshape_size_arguments_as_torch(sizes: tuple[object, ...]) -> None:
    x = idrak.arange(6)
    got = x.reshape(*sizes)
    want = torch.arange(6).reshape(*[s if isinstance(s, (list, tuple)) else int(s) for s in sizes])
    assert got.shape == tuple(want.shape)
    assert all(type(d) is int for d in got.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("bad", [True, 2.0, "2"])
def test_reshape_refuses_a_non_integer_size(bad: object) -> None:
    with pytest.raises(TypeError, match="must be integers"):
        idrak.arange(6).reshape(bad, 3)


def test_reshape_to_the_same_shape_is_the_tensor_itself() -> None:
    x = idrak.arange(6).reshape(2, 3)
    assert x.reshape(2, 3) is x
    assert x.reshape([2, 3]) is x


@pytest.mark.parametrize(
    ("shape", "target"),
    [((3, 1), (3, 4)), ((3, 1), (-1, 4)), ((1,), (2, 3, 5)), ((3, 1), (2, 3, 4)), ((4,), (4,))],
)
def test_expand_matches_torch(shape: tuple[int, ...], target: tuple[int, ...]) -> None:
    base = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    got = idrak.tensor(base).expand(*target)
    want = torch.from_numpy(base).expand(*target)
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_expand_refuses_a_size_that_does_not_broadcast() -> None:
    with pytest.raises(ValueError, match="cannot expand shape"):
        idrak.zeros(3, 2).expand(3, 4)
