"""Values and errors (docs/semantics.md) compared with torch 2.13 (float64).

Covers the gradient routing of max/min/amax/amin/max_pool2d at ties and NaN, clamp at NaN,
finite gradients at singular points (norm, std, x**0, losses with every target ignored),
integer division/power semantics, float floor division at the infinities, ceil-mode pooling,
bitwise ops on integers, the device-side bounds check of lazy indices, NumPy inputs at the nn
boundary, from_numpy/as_tensor, and clear errors at public entry points.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import idrak
import idrak.nn as nn
import idrak.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
nan, inf = math.nan, math.inf


def _value_and_grad(lib, fn, values, weights=None):
    """``fn(lib, x)`` and d(sum(w * fn))/dx for x = float64 ``values`` in idrak or torch."""
    if lib is torch:
        x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    else:
        x = idrak.tensor(values, dtype="float64", requires_grad=True)
    y = fn(lib, x)
    w = np.ones(tuple(y.shape)) if weights is None else np.asarray(weights, dtype=np.float64)
    wt = torch.tensor(w) if lib is torch else idrak.tensor(w)
    (y * wt).sum().backward()
    return np.asarray(y.detach().numpy()), x.grad.numpy()


def _same_as_torch(fn, values, weights=None):
    yi, gi = _value_and_grad(idrak, fn, values, weights)
    yt, gt = _value_and_grad(torch, fn, values, weights)
    np.testing.assert_allclose(yi, yt, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(gi, gt, rtol=1e-12, atol=1e-15, equal_nan=True)
    real = ~np.isnan(yt)
    assert np.array_equal(np.signbit(yi[real]), np.signbit(yt[real]))


def _values(L, x):  # ``max(dim)`` returns a namedtuple in both libraries
    return x.values if L is torch else x[0]


EXTREMA_INPUTS = [
    [1.0, 3.0, 3.0, -2.0],
    [1.0, nan, 3.0, nan],
    [nan, 1.0, 2.0, 0.5],
    [inf, inf, 1.0, -inf],
    [-inf, -inf, -inf, -inf],
    [2.0, 2.0, 2.0, 2.0],
]
EXTREMA = {
    "amax": lambda L, x: x.amax(),
    "amin": lambda L, x: x.amin(),
    "max()": lambda L, x: x.max(),
    "min()": lambda L, x: x.min(),
    "amax(dim)": lambda L, x: x.reshape(2, 2).amax(1),
    "max(dim)": lambda L, x: _values(L, x.reshape(2, 2).max(1)),
    "min(dim)": lambda L, x: _values(L, x.reshape(2, 2).min(0)),
    "max(dim, keepdim)": lambda L, x: _values(L, x.reshape(2, 2).max(1, keepdim=True)),
    "max(dim) 1-d": lambda L, x: _values(L, x.max(0)),
}


@pytest.mark.parametrize("values", EXTREMA_INPUTS, ids=str)
@pytest.mark.parametrize("name", list(EXTREMA))
def test_extrema_gradients_match_torch(name, values) -> None:
    """Ties and NaN: max()/min()/amax split evenly like torch (amax's NaN gives NaN grads),
    max(dim)/min(dim) route the whole gradient to the returned index."""
    _same_as_torch(EXTREMA[name], values)


@pytest.mark.parametrize("name", ["amax", "amin", "max()", "min()"])
def test_full_extrema_keep_the_sign_of_zero(name) -> None:
    # (max(dim) picks its value by GATHER, whose decomposition on a backend without a native
    # one does not promise the sign of zero, so only the full reductions are checked here)
    _same_as_torch(EXTREMA[name], [-0.0, -1.0, -2.0, -0.0])


def test_max_dim_indices_are_the_first_maximum_or_nan() -> None:
    x = idrak.tensor([[1.0, 3.0, 3.0], [nan, 1.0, nan]], dtype="float64", requires_grad=True)
    v, i = x.max(1)
    assert i.tolist() == [1, 0]
    assert v.requires_grad


def _pool_cases():
    for h, k, s, p, d, cm in itertools.product(
        [1, 3, 4, 5], [1, 2, 3], [1, 2, 3], [0, 1], [1, 2], [False, True]
    ):
        if d == 2 and h == 1 and p == 1:
            continue  # windows over padding only: torch's own backward writes out of bounds
        yield h, k, s, p, d, cm


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch_on_a_grid(kind) -> None:
    """Shapes (ceil_mode's last-window rule), values, gradients (max: one tap per window, the
    first maximum or the last NaN) and errors, against torch over a grid of arguments."""
    rng = np.random.default_rng(0)
    checked = 0
    for h, k, s, p, d, cm in _pool_cases():
        if kind == "avg" and d != 1:
            continue
        a = np.round(rng.standard_normal((1, 2, h, h + 1)), 1)  # rounding makes ties
        if kind == "max" and h > 2:
            a[0, 0, 0, 0] = a[0, 1, 1, 1] = nan
        kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=cm)
        if kind == "max":
            kw["dilation"] = d
        ta, ia = torch.tensor(a, requires_grad=True), idrak.tensor(a, requires_grad=True)
        try:
            to = getattr(TF, kind + "_pool2d")(ta, **kw)
        except RuntimeError:
            with pytest.raises(ValueError):
                getattr(F, kind + "_pool2d")(ia, **kw)
            continue
        io = getattr(F, kind + "_pool2d")(ia, **kw)
        assert io.shape == tuple(to.shape), (h, k, s, p, d, cm)
        np.testing.assert_allclose(
            io.numpy(), to.detach().numpy(), rtol=1e-12, atol=1e-15, equal_nan=True
        )
        w = rng.standard_normal(tuple(to.shape))
        (to * torch.tensor(w)).sum().backward()
        (io * idrak.tensor(w)).sum().backward()
        np.testing.assert_allclose(ia.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-15)
        checked += 1
    assert checked > 100


def test_pool_issue_example_and_bad_arguments() -> None:
    assert F.max_pool2d(idrak.ones(1, 1, 1, 4), 3, 3, ceil_mode=True).shape == (1, 1, 1, 2)
    with pytest.raises(ValueError, match="too small"):
        F.max_pool2d(idrak.ones(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="kernel_size must be positive, got 0"):
        nn.MaxPool2d(0)
    with pytest.raises(ValueError, match="stride must be positive"):
        nn.AvgPool2d(2, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0, got -1"):
        nn.Conv2d(1, 1, 3, padding=-1)
    with pytest.raises(ValueError, match="dilation must be positive, got 0"):
        nn.Conv2d(1, 1, 3, dilation=0)
    with pytest.raises(ValueError, match="dilation must be positive"):
        F.conv2d(idrak.ones(1, 1, 4, 4), idrak.ones(1, 1, 3, 3), dilation=0)


CLAMPS = {
    "both": lambda L, x: x.clamp(0.0, 1.0),
    "min": lambda L, x: x.clamp(min=0.0),
    "max": lambda L, x: x.clamp(max=0.5),
    "nan min": lambda L, x: x.clamp(min=nan),
    "nan max": lambda L, x: x.clamp(max=nan),
    "min > max": lambda L, x: x.clamp(2.0, 1.0),
    "tensor bounds": lambda L, x: x.clamp(
        L.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 2.0, nan], dtype=L.float64),
        L.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], dtype=L.float64),
    ),
}


@pytest.mark.parametrize("name", list(CLAMPS))
def test_clamp_matches_torch_at_nan_and_bounds(name) -> None:
    _same_as_torch(CLAMPS[name], [nan, -1.0, 0.5, 2.0, 0.0, 1.0, 3.0])


def test_clamp_bound_gradients_match_torch() -> None:
    grads = []
    for L in (idrak, torch):
        kw = {"dtype": L.float64, "requires_grad": True}
        x = L.tensor([-1.0, 0.5, 2.0, 3.0, 0.0], **kw)
        lo = L.tensor([0.0, 0.0, 0.0, 2.0, 0.0], **kw)
        hi = L.tensor([1.0, 1.0, 1.0, 1.0, 1.0], **kw)
        x.clamp(lo, hi).sum().backward()
        grads.append([t.grad.numpy().tolist() for t in (x, lo, hi)])
    assert grads[0] == grads[1]
    with pytest.raises(TypeError, match="min must be a number or a Tensor"):
        idrak.ones(2).clamp(min="0")


SINGULAR = {
    "norm of zeros": (lambda L, x: x.norm(), [0.0, 0.0, 0.0]),
    "norm(dim) of zeros": (lambda L, x: x.reshape(1, 3).norm(dim=1), [0.0, 0.0, 0.0]),
    "norm p=3 of zeros": (lambda L, x: x.norm(3), [0.0, 0.0, 0.0]),
    "norm p=3": (lambda L, x: x.norm(3), [1.0, -2.0, 0.5]),
    "std of a constant": (lambda L, x: x.std(), [2.0, 2.0, 2.0]),
    "std(dim) of a constant": (lambda L, x: x.reshape(1, 3).std(1), [2.0, 2.0, 2.0]),
    "var of a constant": (lambda L, x: x.var(), [2.0, 2.0, 2.0]),
    "x**0": (lambda L, x: x**0, [0.0, 1.0, -2.0]),
    "x**0.0": (lambda L, x: x**0.0, [0.0, 1.0, -2.0]),
    "x**zeros": (lambda L, x: x ** L.zeros(3, dtype=L.float64), [0.0, 1.0, -2.0]),
    "prod with 0 and inf": (lambda L, x: x.prod(), [0.0, inf, 2.0]),
    "prod(dim) with 0 and inf": (lambda L, x: x.reshape(1, 3).prod(1), [0.0, inf, 2.0]),
    "prod with two zeros": (lambda L, x: x.prod(), [0.0, 0.0, 2.0]),
}


@pytest.mark.parametrize("name", list(SINGULAR))
def test_gradients_at_singular_points_match_torch(name) -> None:
    fn, values = SINGULAR[name]
    _same_as_torch(fn, values)


@pytest.mark.parametrize(
    "loss, smoothing", [("cross_entropy", 0.0), ("cross_entropy", 0.1), ("nll_loss", 0.0)]
)
def test_mean_loss_with_every_target_ignored_is_nan_with_zero_gradient(loss, smoothing) -> None:
    logits = np.random.default_rng(1).standard_normal((2, 3))
    kw = {"label_smoothing": smoothing} if smoothing else {}
    out = []
    for L, fn in ((idrak, getattr(F, loss)), (torch, getattr(TF, loss))):
        x = L.tensor(logits, requires_grad=True)
        v = fn(x, L.tensor([-100, -100]), **kw)
        v.backward()
        out.append((v.item(), x.grad.numpy()))
    assert math.isnan(out[0][0]) and math.isnan(out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_cross_entropy_edge_targets() -> None:
    assert math.isnan(F.cross_entropy(idrak.randn(0, 3), idrak.randn(0, 3)).item())
    assert math.isnan(F.cross_entropy(idrak.randn(0, 3), idrak.zeros(0, dtype="int64")).item())
    with pytest.raises(TypeError, match="bool"):
        F.cross_entropy(idrak.randn(2, 3), idrak.tensor([True, False]))
    with pytest.raises(TypeError, match="bool"):
        F.nll_loss(idrak.randn(2, 3), idrak.tensor([True, False]))
    with pytest.raises(ValueError, match=r"between 0 and 1, got 1\.5"):
        F.binary_cross_entropy(idrak.tensor([0.5, 1.5]), idrak.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="between 0 and 1, got nan"):
        F.binary_cross_entropy(idrak.tensor([nan]), idrak.tensor([1.0]))


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.tensor([3, 4]) // 0,
        lambda L: L.tensor([3, 4]) % 0,
        lambda L: L.tensor([3, 4]) // L.tensor([1, 0]),
        lambda L: L.tensor([3, 4], dtype=L.int32).remainder(L.tensor([0, 2], dtype=L.int32)),
        lambda L: L.tensor([3, 4]).div(0, rounding_mode="floor"),
    ],
)
def test_integer_division_by_zero_raises(call) -> None:
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        call(torch)
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        call(idrak)


def test_lazy_integer_divisor_of_zero_raises_at_realization() -> None:
    a = idrak.tensor([7, -7])
    for op in (lambda x, y: x // y, lambda x, y: x % y):
        out = op(a, idrak.tensor([2, 0]) + 0)  # writing the op does not raise
        with pytest.raises(ZeroDivisionError, match="lazy divisor"):
            out.numpy()
    assert (a // (idrak.tensor([2, -2]) + 0)).tolist() == [3, 3]
    assert (a % (idrak.tensor([2, -2]) + 0)).tolist() == [1, -1]


def _compare_int(call) -> None:
    a, b = call(idrak), call(torch)
    assert a.dtype.name == str(b.dtype).removeprefix("torch."), (a.dtype, b.dtype)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.tensor([3, -7, 0]) ** L.tensor([2, 3, 0]),
        lambda L: L.tensor([3, -7, 5]) ** 3,
        lambda L: L.tensor([3, -7], dtype=L.int32) ** L.tensor([40, 63]),  # wraps like torch
        lambda L: L.tensor([0, 2, -1, -2, 1, -1]) ** L.tensor([-1, -1, -1, -3, -5, -2]),
        lambda L: L.tensor([2], dtype=L.uint8) ** 9,
        lambda L: L.tensor([3, 2]) ** 2.0,
        lambda L: L.tensor([3, 2]) ** 0.5,
        lambda L: L.tensor([True, False]).square(),
        lambda L: 7 % L.tensor([3, -2]),
        lambda L: L.tensor([7, -7]) // L.tensor([-2, 2]),
    ],
)
def test_integer_power_and_square_dtypes_match_torch(call) -> None:
    _compare_int(call)


def test_integer_to_negative_python_power_raises() -> None:
    with pytest.raises(ValueError, match="negative integer powers"):
        idrak.tensor([2]) ** -1


DIVIDENDS = [3.08, -3.08, inf, -inf, 3.0, 0.0, -0.0, nan, 5.0, -5.0, 7.5, -7.5, inf]
DIVISORS = [-inf, -inf, -3.0, 3.0, inf, -inf, inf, 1.0, 0.0, 0.0, 2.0, 2.0, inf]


@pytest.mark.parametrize("op", ["floordiv", "mod", "rmod"])
def test_float_floor_division_and_remainder_at_infinities_match_torch(op) -> None:
    out = []
    for L in (idrak, torch):
        a = L.tensor(DIVIDENDS, dtype=L.float64)
        b = L.tensor(DIVISORS, dtype=L.float64)
        r = a // b if op == "floordiv" else a % b if op == "mod" else 2.0 % b
        out.append(r.numpy())
    np.testing.assert_array_equal(out[0], out[1])
    real = ~np.isnan(out[1])
    assert np.array_equal(np.signbit(out[0][real]), np.signbit(out[1][real]))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
def test_bitwise_ops_on_integers_match_torch(dtype) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(2)
    a = rng.integers(info.min, info.max, 40, dtype=dtype, endpoint=True)
    b = rng.integers(info.min, info.max, 40, dtype=dtype, endpoint=True)
    a[:2], b[:2] = [info.min, info.max], [info.max, info.min]
    ia, ib, ta, tb = idrak.tensor(a), idrak.tensor(b), torch.tensor(a), torch.tensor(b)
    for fn in (
        lambda x, y: x & y,
        lambda x, y: x | y,
        lambda x, y: x ^ y,
        lambda x, y: ~x,
        lambda x, y: 5 ^ x,
        lambda x, y: 3 & x,
        lambda x, y: x | 1,
    ):
        r, t = fn(ia, ib), fn(ta, tb)
        assert r.dtype.name == str(t.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(r.numpy(), t.numpy())


def test_bitwise_ops_reject_floats_and_mix_bool_with_int() -> None:
    with pytest.raises(TypeError, match=r"bitwise and .*float32"):
        idrak.tensor([1.5]) & 1
    assert (idrak.tensor([True, False]) & idrak.tensor([3, 2])).tolist() == [1, 0]
    assert (1 ^ idrak.tensor([True, False])).tolist() == (1 ^ torch.tensor([True, False])).tolist()


def _lazy(values):
    return idrak.tensor(values) + 0  # an index computed on the device: not realized


LAZY_INDEX_OPS = {
    "index": lambda x, i: x[i],
    "gather": lambda x, i: x.gather(0, i),
    "index_select": lambda x, i: x.index_select(0, i),
    "scatter_add": lambda x, i: x.scatter_add(0, i, idrak.ones(2)),
    "embedding": lambda x, i: nn.Embedding(3, 2)(i),
}


@pytest.mark.parametrize("bad", [-4, 3, 7])
@pytest.mark.parametrize("name", list(LAZY_INDEX_OPS))
def test_lazy_out_of_range_index_raises_at_realization(name, bad) -> None:
    x = idrak.tensor([10.0, 20.0, 30.0])
    out = LAZY_INDEX_OPS[name](x, _lazy([0, bad]))  # writing the op does not raise
    op = "index_select" if name == "embedding" else name
    with pytest.raises(IndexError, match=rf"{op}: index {bad} is out of bounds .* size 3"):
        out.numpy()


def test_lazy_out_of_range_setitem_raises() -> None:
    x = idrak.tensor([10.0, 20.0, 30.0])
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        x[_lazy([5])] = 1.0
        x.numpy()


def test_lazy_in_range_indices_compute_and_differentiate() -> None:
    w = idrak.tensor([10.0, 20.0, 30.0], requires_grad=True)
    assert w[_lazy([-1, 0])].tolist() == [30.0, 10.0]
    y = w.gather(0, _lazy([2, 2, 0]))
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 0.0, 2.0]
    assert F.embedding(_lazy([1]), w.reshape(3, 1)).tolist() == [[20.0]]


def test_numpy_arrays_lists_and_numbers_accepted_at_the_nn_boundary() -> None:
    logits = idrak.tensor([[0.1, 2.0, 0.3, 0.0], [1.0, 0.5, 0.2, 3.0]], dtype="float64")
    ref = F.cross_entropy(logits, idrak.tensor([3, 1])).item()
    assert F.cross_entropy(logits, np.array([3, 1])).item() == ref
    assert F.cross_entropy(logits, [3, 1]).item() == ref
    lin = nn.Linear(3, 2)
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(lin(x).numpy(), lin(idrak.tensor(x)).numpy())
    assert F.mse_loss(idrak.ones(2), [1.0, 3.0]).item() == 2.0
    assert F.relu(np.array([1.0, -1.0])).tolist() == [1.0, 0.0]
    assert (idrak.tensor([1.0, 2.0]) + np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    with pytest.raises(TypeError, match=r"relu\(\) argument 'input' must be a Tensor"):
        F.relu("x")


def test_from_numpy_shares_memory_and_as_tensor_copies_only_when_needed() -> None:
    a = np.arange(3.0)
    t = idrak.from_numpy(a)
    assert t.dtype == idrak.float64
    a[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0]
    s = idrak.as_tensor(a)
    a[1] = 8.0
    assert s.tolist() == [7.0, 8.0, 2.0]
    c = idrak.as_tensor(a, dtype="float32")  # a conversion: a copy
    a[2] = 9.0
    assert c.tolist() == [7.0, 8.0, 2.0]
    assert idrak.as_tensor(t) is t
    assert idrak.as_tensor([1, 2]).dtype == idrak.int64
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        idrak.from_numpy([1, 2])
    with pytest.raises(TypeError):
        idrak.from_numpy(np.array(["a"]))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: idrak.optim.SGD([nn.Parameter(idrak.ones(2))], lr="0.1"),
            TypeError,
            "SGD: lr must be a number, got '0.1'",
        ),
        (
            lambda: idrak.optim.Adam([nn.Parameter(idrak.ones(2))], betas="ab"),
            TypeError,
            "Adam: betas must be a pair of numbers",
        ),
        (
            lambda: idrak.optim.SGD([nn.Parameter(idrak.ones(2))], lr=0.1, momentum="x"),
            TypeError,
            "momentum must be a number",
        ),
        (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a number"),
        (lambda: F.dropout(idrak.ones(2), "0.5"), TypeError, "dropout: p must be a number"),
        (lambda: idrak.zeros(3).sum(dim=1.0), TypeError, "dim must be an int .* got 1.0"),
        (lambda: idrak.zeros(3).mean(dim="0"), TypeError, "dim must be an int"),
        (lambda: idrak.tensor(2**70), OverflowError, "1180591620717411303424.*overflows int64"),
        (lambda: idrak.tensor([1, -(2**64)]), OverflowError, "overflows int64"),
        (
            lambda: F.max_pool2d(idrak.ones(1, 1, 4, 4), 2.5),
            ValueError,
            "kernel_size must be an int or a pair of ints, got 2.5",
        ),
        (lambda: nn.BatchNorm2d(3, eps="x"), TypeError, "BatchNorm2d: eps must be a number"),
        (lambda: nn.BatchNorm2d(3, momentum="x"), TypeError, "momentum must be a number"),
        (lambda: nn.LayerNorm(3, eps="x"), TypeError, "LayerNorm: eps must be a number"),
        (lambda: nn.LeakyReLU("x"), TypeError, "negative_slope must be a number, got 'x'"),
        (lambda: nn.ELU("x"), TypeError, "ELU: alpha must be a number"),
        (lambda: F.leaky_relu(idrak.ones(2), "x"), TypeError, "negative_slope must be a number"),
        (lambda: nn.AdaptiveAvgPool2d(0), ValueError, "output_size must be positive, got 0"),
        (
            lambda: F.cross_entropy(idrak.ones(2, 3), idrak.tensor([0, 1]), label_smoothing="x"),
            TypeError,
            "label_smoothing must be a number",
        ),
        (
            lambda: idrak.optim.lr_scheduler.StepLR(
                idrak.optim.SGD([nn.Parameter(idrak.ones(2))], lr=0.1), step_size="2"
            ),
            TypeError,
            "StepLR: step_size must be an int, got '2'",
        ),
        (
            lambda: nn.utils.clip_grad_norm_([nn.Parameter(idrak.ones(2))], "x"),
            TypeError,
            "max_norm must be a number",
        ),
        (lambda: idrak.full((2,), "x"), TypeError, "fill_value must be a number, got 'x'"),
        (lambda: idrak.arange("3"), TypeError, "arange: end must be a number, got '3'"),
        (lambda: idrak.manual_seed("x"), TypeError, "seed must be an int, got 'x'"),
        (lambda: idrak.ones(2, 3).softmax(dim=1.0), TypeError, "dim must be an int, got 1.0"),
        (lambda: idrak.ones(2, 3).argmax(dim=1.5), TypeError, "dim must be an int, got 1.5"),
        (lambda: idrak.ones(6).reshape("a"), TypeError, "must be integers, got 'a'"),
        (lambda: idrak.tensor([1, [2]]), ValueError, "ragged"),
    ],
)
def test_clear_errors_name_the_argument_and_value(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_valid_edge_arguments_still_work() -> None:
    assert idrak.tensor(2**70, dtype="float64").item() == float(2**70)
    assert idrak.optim.SGD([nn.Parameter(idrak.ones(2))], lr=np.float32(0.1)) is not None
    assert idrak.zeros(2, 3).sum(dim=[0, 1]).item() == 0.0
