"""In-place ops, views and version counters against torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import idrak
from idrak.errors import IdrakError

X = [[0.5, -1.5, 2.0], [3.0, -0.25, 1.25]]
POS = [[0.5, 1.5, 2.0], [3.0, 0.25, 1.25]]

# (method, args, input) run on an idrak float64 tensor and a torch one; args are numbers or
# nested lists (made into tensors of the same kind on each side)
CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    ("add_", (2.0,), X),
    ("add_", ([1.0, 2.0, 3.0],), X),
    ("sub_", ([[1.0], [2.0]],), X),
    ("mul_", (-3.0,), X),
    ("div_", (4.0,), X),
    ("pow_", (2.0,), X),
    ("clamp_", (-1.0, 1.0), X),
    ("clamp_min_", (0.0,), X),
    ("clamp_max_", (0.0,), X),
    ("zero_", (), X),
    ("fill_", (7.5,), X),
    ("neg_", (), X),
    ("abs_", (), X),
    ("exp_", (), X),
    ("log_", (), POS),
    ("sqrt_", (), POS),
    ("sigmoid_", (), X),
    ("tanh_", (), X),
    ("relu_", (), X),
    ("copy_", ([9.0, 8.0, 7.0],), X),
    ("lerp_", ([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]], 0.25), X),
    ("addcmul_", (X, POS), X),
    ("addcdiv_", (X, POS), X),
]


def _arg(a: Any, lib: str) -> Any:
    if isinstance(a, list):
        return (
            idrak.tensor(a, dtype="float64")
            if lib == "idrak"
            else torch.tensor(a, dtype=torch.float64)
        )
    return a


@pytest.mark.parametrize("name,args,data", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_inplace_method_matches_torch(name: str, args: tuple[Any, ...], data: Any) -> None:
    x = idrak.tensor(data, dtype="float64")
    t = torch.tensor(data, dtype=torch.float64)
    out = getattr(x, name)(*[_arg(a, "idrak") for a in args])
    getattr(t, name)(*[_arg(a, "torch") for a in args])
    assert out is x and x._version == 1
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "op", ["+=", "-=", "*=", "/=", "//=", "%=", "**="], ids=lambda s: s.replace("=", "")
)
def test_augmented_assignment_is_in_place(op: str) -> None:
    x = idrak.tensor(POS, dtype="float64")
    t = torch.tensor(POS, dtype=torch.float64)
    alias_x, alias_t = x, t
    env = {"x": x, "t": t}
    exec(f"x {op} 1.5\nt {op} 1.5", env)
    assert env["x"] is alias_x and env["t"] is alias_t
    np.testing.assert_allclose(alias_x.numpy(), alias_t.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", ["&=", "|=", "^="])
def test_bitwise_augmented_assignment_is_in_place(op: str) -> None:
    x = idrak.tensor([True, False, True])
    alias = x
    env = {"x": x, "t": torch.tensor([True, False, True])}
    exec(
        f"x {op} idrak.tensor([True, True, False])\nt {op} torch.tensor([True, True, False])",
        {**env, "idrak": idrak, "torch": torch},
    )
    assert env["x"] is alias and alias.tolist() == env["t"].tolist()


def test_inplace_dtype_and_shape_errors_match_torch() -> None:
    i = idrak.tensor([1, 2, 3])
    with pytest.raises(IdrakError, match=r"result type float32 can't be cast.*int64"):
        i += 1.5
    x = idrak.zeros(3)
    with pytest.raises(
        IdrakError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"
    ):
        x.add_(idrak.zeros(2, 3))
    with pytest.raises(IdrakError, match="0-dimension value tensor"):
        x.fill_(idrak.zeros(2))
    with pytest.raises(IdrakError, match="boolean masks"):
        x.masked_fill_(idrak.tensor([1, 0, 1]), 2.0)
    i.fill_(2.7)  # fill_ casts, as torch does
    assert i.tolist() == [2, 2, 2]


def test_masked_fill_index_fill_and_random_fills() -> None:
    x = idrak.tensor(X, dtype="float64")
    t = torch.tensor(X, dtype=torch.float64)
    m = [[True, False, True], [False, False, True]]
    x.masked_fill_(idrak.tensor(m), -9.0)
    t.masked_fill_(torch.tensor(m), -9.0)
    x.index_fill_(1, idrak.tensor([1]), 4.0)
    t.index_fill_(1, torch.tensor([1]), 4.0)
    np.testing.assert_allclose(x.numpy(), t.numpy())
    idrak.manual_seed(3)
    u = idrak.zeros(2000, dtype="float64").uniform_(-2.0, 3.0)
    assert -2.0 <= u.min().item() and u.max().item() < 3.0 and abs(u.mean().item() - 0.5) < 0.1
    n = idrak.zeros(4000, dtype="float64").normal_(1.0, 2.0)
    assert abs(n.mean().item() - 1.0) < 0.15 and abs(n.std().item() - 2.0) < 0.15


# views -----------------------------------------------------------------------------------------
def _both(data: Any = X) -> tuple[idrak.Tensor, torch.Tensor]:
    return idrak.tensor(data, dtype="float64"), torch.tensor(data, dtype=torch.float64)


VIEWS = [
    ("row", lambda a: a[0]),
    ("column", lambda a: a[:, 1]),
    ("slice", lambda a: a[:, 1:]),
    ("step_slice", lambda a: a[:, ::2]),
    ("transpose", lambda a: a.t()),
    ("view", lambda a: a.view(3, 2)),
    ("flatten", lambda a: a.reshape(-1)),
    ("unsqueeze", lambda a: a.unsqueeze(0)),
    ("narrow_of_t", lambda a: a.t().narrow(0, 1, 2)),
    ("select_unsqueeze", lambda a: a[:, 2].unsqueeze(1)),
]


@pytest.mark.parametrize("name,view", VIEWS, ids=[v[0] for v in VIEWS])
def test_inplace_on_a_view_writes_through_to_the_base(name: str, view: Any) -> None:
    x, t = _both()
    vx, vt = view(x), view(t)
    vx.mul_(10.0).add_(1.0)
    vt.mul_(10.0).add_(1.0)
    np.testing.assert_allclose(x.numpy(), t.numpy())
    np.testing.assert_allclose(vx.numpy(), vt.numpy())
    assert x._version == vx._version == 2


@pytest.mark.parametrize("name,view", VIEWS, ids=[v[0] for v in VIEWS])
def test_a_view_sees_in_place_changes_of_its_base_and_siblings(name: str, view: Any) -> None:
    x, t = _both()
    vx, vt = view(x), view(t)
    other_x, other_t = x[1], t[1]
    x.sub_(1.0)
    t.sub_(1.0)
    other_x.fill_(5.0)
    other_t.fill_(5.0)
    np.testing.assert_allclose((vx * 1).numpy(), vt.numpy())  # used by an op
    np.testing.assert_allclose(vx.numpy(), vt.numpy())


def test_setitem_on_a_view_and_data_and_detach_share_storage() -> None:
    x, t = _both()
    x[0][1:] = 0.0
    t[0][1:] = 0.0
    x.data.add_(1.0)
    t.data.add_(1.0)
    x.detach()[1, 0] = -7.0
    t.detach()[1, 0] = -7.0
    np.testing.assert_allclose(x.numpy(), t.numpy())
    x.data = idrak.zeros(4, dtype="float64")  # replaces the storage (any shape), as torch
    assert x.shape == (4,) and x.tolist() == [0.0] * 4


def test_copies_do_not_write_through() -> None:
    x, t = _both()
    for fx, ft in [
        (lambda a: a.flip(0), lambda a: a.flip(0)),
        (lambda a: a[[0, 1]], lambda a: a[[0, 1]]),
        (lambda a: a.clone(), lambda a: a.clone()),
        (lambda a: a.t().contiguous(), lambda a: a.t().contiguous()),
    ]:
        fx(x).add_(100.0)
        ft(t).add_(100.0)
    np.testing.assert_allclose(x.numpy(), t.numpy())
    assert x.tolist() == X


def test_inplace_on_an_overlapping_expanded_view_raises() -> None:
    e = idrak.zeros(1, 3).expand(4, 3)
    with pytest.raises(IdrakError, match="more than one element of the written-to tensor"):
        e.add_(1.0)


# autograd ---------------------------------------------------------------------------------------
def test_inplace_on_a_leaf_that_requires_grad() -> None:
    w = idrak.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        IdrakError, match="a leaf Variable that requires grad is being used in an in-place"
    ):
        w.add_(1.0)
    with pytest.raises(IdrakError, match="a view of a leaf Variable that requires grad"):
        w[0].mul_(2.0)
    with idrak.no_grad():
        w -= 0.5
        w[1].mul_(2.0)
    assert w.is_leaf and w.requires_grad and w._ctx is None and w.tolist() == [0.5, 3.0]
    (w * w).sum().backward()
    assert w.grad.tolist() == [1.0, 6.0]


def test_autograd_through_inplace_ops_on_non_leaves_matches_torch() -> None:
    def run(lib: Any, x: Any) -> Any:
        y = x * 2.0
        y.add_(x).mul_(x)
        y[1:].mul_(3.0)
        y[0] = y[0] * 3.0
        y.sub_(1.0).exp_()
        y.sum().backward()
        return x.grad

    xi = idrak.tensor([0.3, -0.7, 1.1], dtype="float64", requires_grad=True)
    xt = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    np.testing.assert_allclose(run(idrak, xi).numpy(), run(torch, xt).numpy(), rtol=1e-12)


def test_a_modified_saved_tensor_raises_torchs_error() -> None:
    a = idrak.tensor([1.0, 2.0], requires_grad=True)
    y = a * 2.0
    z = y.exp()  # EXP's backward reads its output
    with idrak.no_grad():
        z.add_(1.0)  # not recorded: the graph still ends in the EXP, whose output changed
    with pytest.raises(
        IdrakError,
        match=r"modified by an inplace operation: .* output 0 of ExpBackward0, is at version 1; "
        r"expected version 0",
    ):
        z.sum().backward()
    b = idrak.tensor([1.0, 2.0], requires_grad=True)
    h = b * 1.0
    p = h * h
    h.mul_(3.0)
    with pytest.raises(
        IdrakError, match=r"input 0 of MulBackward0, is at version 1; expected version 0"
    ):
        p.sum().backward()
    # a parameter updated after the forward: the old graph cannot be used any more
    w = idrak.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with idrak.no_grad():
        w.sub_(0.1)
    with pytest.raises(IdrakError, match="is at version 1; expected version 0"):
        loss.backward()


def test_recorded_inplace_ops_keep_the_old_value_for_backward() -> None:
    # torch raises here (exp saved its output); idrak's recorded in-place op keeps the old value
    # in its own node, so the gradient is the true one (a documented difference)
    a = idrak.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    z = (a * 2.0).exp()
    z.add_(1.0)
    z.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2.0 * np.exp(2.0 * a.numpy()), rtol=1e-12)
    # the new value computed from the tensor being modified (x[0] = x[0] * 3, v += v * 2)
    b = idrak.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    bt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for x in (b, bt):
        y = x * x
        y[0] = y[0] * 3.0
        v = y[1:]
        v += v * 2.0
        (y * x).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), bt.grad.numpy(), rtol=1e-12)


def test_jit_replays_inplace_updates_of_parameters() -> None:
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((8, 3))
    ys = xs @ np.array([1.0, -2.0, 0.5]) + 0.25

    def make() -> tuple[idrak.Tensor, idrak.Tensor]:
        return idrak.zeros(3, requires_grad=True), idrak.zeros(1, requires_grad=True)

    def step(w: idrak.Tensor, b: idrak.Tensor, x: idrak.Tensor, y: idrak.Tensor) -> idrak.Tensor:
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with idrak.no_grad():
            w -= 0.1 * w.grad
            b.sub_(b.grad, alpha=0.1)
            w.grad = None
            b.grad = None
        return loss

    x, y = idrak.tensor(xs), idrak.tensor(ys)
    w0, b0 = make()
    plain = [step(w0, b0, x, y).item() for _ in range(6)]
    w1, b1 = make()
    jitted = idrak.jit(step)
    traced = [jitted(w1, b1, x, y).item() for _ in range(6)]
    np.testing.assert_allclose(traced, plain, rtol=1e-6)
    np.testing.assert_allclose(w1.numpy(), w0.numpy(), rtol=1e-6)
    assert plain[-1] < plain[0]
