"""Edge cases of the ops added for ported PyTorch programs: 0-size and 0-d inputs, errors
that name the bad value, multinomial's distribution (chi-square with a fixed seed), the nn
activation modules, and ``idrak.autograd.functional`` against ``torch.autograd.functional``
(float64)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import idrak
import idrak.nn as inn
import idrak.nn.functional as IF

torch = pytest.importorskip("torch")
scipy_stats = pytest.importorskip("scipy.stats")
TAF = torch.autograd.functional
AF = idrak.autograd.functional


def _pair(a: np.ndarray) -> tuple[idrak.Tensor, Any]:
    return idrak.tensor(a), torch.tensor(a)


def _same(got: Any, ref: Any, what: str) -> None:
    g = got.numpy() if isinstance(got, idrak.Tensor) else np.asarray(got)
    r = ref.numpy() if hasattr(ref, "numpy") else np.asarray(ref)
    assert g.shape == r.shape, f"{what}: shape {g.shape} vs torch {r.shape}"
    assert g.dtype == r.dtype, f"{what}: dtype {g.dtype} vs torch {r.dtype}"
    np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-13, equal_nan=True, err_msg=what)


# ---------------------------------------------------------------------------------------------
# 0-size dims and 0-d tensors, against torch
EMPTY_CASES: list[tuple[str, Callable[[Any, Any], Any], tuple[int, ...]]] = [
    ("sort_empty_dim", lambda m, x: list(x.sort(1)), (3, 0)),
    ("sort_empty_other", lambda m, x: list(x.sort(0)), (3, 0)),
    ("topk_k0", lambda m, x: list(x.topk(0)), (2, 3)),
    ("cummax_empty", lambda m, x: list(x.cummax(1)), (2, 0)),
    ("logcumsumexp_empty", lambda m, x: x.logcumsumexp(0), (0, 3)),
    ("tril_empty", lambda m, x: x.tril(), (0, 3)),
    ("diagonal_empty", lambda m, x: x.diagonal(), (0, 3)),
    ("diag_empty_vec", lambda m, x: m.diag(x), (0,)),
    ("roll_empty", lambda m, x: x.roll(2, 0), (0, 2)),
    ("unfold_empty", lambda m, x: x.unfold(1, 0, 1), (2, 3)),
    ("einsum_empty", lambda m, x: m.einsum("ij,jk->ik", x, x.T), (2, 0)),
    ("atan2_empty", lambda m, x: m.atan2(x, x), (0,)),
    ("masked_select_none", lambda m, x: x.masked_select(x > 100), (2, 3)),
    ("sort_0d", lambda m, x: list(x.sort()), ()),
    ("topk_0d", lambda m, x: list(x.topk(1)), ()),
    ("cummax_0d", lambda m, x: list(x.cummax(0)), ()),
    ("logcumsumexp_0d", lambda m, x: x.logcumsumexp(0), ()),
    ("roll_0d", lambda m, x: x.roll(3), ()),
    ("atan_0d", lambda m, x: x.atan(), ()),
    ("einsum_0d", lambda m, x: m.einsum(",->", x, x), ()),
    ("masked_select_0d", lambda m, x: x.masked_select(x > -100), ()),
]


@pytest.mark.parametrize(("name", "fn", "shape"), EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_empty_and_0d(name: str, fn: Callable[[Any, Any], Any], shape: tuple[int, ...]) -> None:
    a = np.random.default_rng(0).standard_normal(shape)
    x, t = _pair(np.asarray(a))
    got, ref = fn(idrak, x), fn(torch, t)
    gs, rs = (got, ref) if isinstance(got, list) else ([got], [ref])
    for k, (g, r) in enumerate(zip(gs, rs)):
        _same(g, r, f"{name} output {k}")


def test_sort_gradient_goes_to_selected_index_with_ties() -> None:
    a = np.array([2.0, 1.0, 2.0, 1.0, 0.0])
    x = idrak.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    (x.sort(stable=True).values * idrak.tensor(w)).sum().backward()
    (t.sort(stable=True).values * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_allclose_is_a_python_bool() -> None:
    a = idrak.tensor([1.0, 2.0, math.nan])
    b = idrak.tensor([1.0, 2.0 + 1e-9, math.nan])
    assert idrak.allclose(a, b) is False
    assert a.allclose(b, equal_nan=True) is True
    assert idrak.allclose(a[:2], b[:2], rtol=0, atol=1e-6) is True


def test_int_fmod_by_zero_raises() -> None:
    with pytest.raises(ZeroDivisionError, match="fmod"):
        idrak.tensor([3, 4]).fmod(0)
    with pytest.raises(ZeroDivisionError, match="fmod"):
        idrak.tensor([3, 4]).fmod(idrak.tensor([1, 0]))


# ---------------------------------------------------------------------------------------------
# errors name the offending value
ERRORS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: idrak.tensor([1.0, 2.0]).tril(), ValueError, r"at least 2 dims.*\(2,\)"),
    (lambda: idrak.zeros(3, 3).diagonal(0, 1, 1), ValueError, "same dimension"),
    (lambda: idrak.zeros(2, 2, 2).diag(), ValueError, r"1-D or 2-D.*\(2, 2, 2\)"),
    (lambda: idrak.zeros(3).roll((1, 2), 0), ValueError, "differ in length"),
    (lambda: idrak.zeros(3).unfold(0, 4, 1), ValueError, r"size 4 must be in \[0, 3\]"),
    (lambda: idrak.zeros(3).unfold(0, 2, 0), ValueError, "step must be positive, got 0"),
    (lambda: idrak.zeros(3).topk(4), ValueError, r"k \(4\) must be an int in \[0, 3\]"),
    (lambda: idrak.zeros(3).sort(2), IndexError, "dimension 2 out of range"),
    (lambda: idrak.zeros(3, dtype="int64").logcumsumexp(0), TypeError, "int64"),
    (
        lambda: idrak.zeros(3).scatter(0, idrak.tensor([0]), idrak.zeros(1), reduce="max"),
        ValueError,
        "'max'",
    ),
    (
        lambda: idrak.zeros(3).scatter_reduce(0, idrak.tensor([0]), idrak.zeros(1), "median"),
        ValueError,
        "'median'",
    ),
    (lambda: idrak.zeros(3).scatter(0, idrak.tensor([5]), 1.0), IndexError, "index 5"),
    (lambda: idrak.zeros(3).scatter(0, idrak.tensor([0.5]), 1.0), TypeError, "float"),
    (lambda: idrak.zeros(3).masked_select(idrak.ones(3)), TypeError, "bool tensor"),
    (lambda: idrak.zeros(3).isclose(idrak.zeros(3), rtol=-1), ValueError, "rtol"),
    (lambda: idrak.einsum("ij,jk", idrak.zeros(2, 3)), ValueError, r"'ij,jk'.*2 operand terms"),
    (lambda: idrak.einsum("ij->k", idrak.zeros(2, 3)), ValueError, r"'ij->k'.*'k'"),
    (lambda: idrak.einsum("ijk", idrak.zeros(2, 3)), ValueError, r"'ijk'.*2 dims.*3 subscripts"),
    (
        lambda: idrak.einsum("ij,jk->ik", idrak.zeros(2, 3), idrak.zeros(4, 2)),
        ValueError,
        r"'ij,jk->ik'.*'j' has sizes 3 and 4",
    ),
    (lambda: idrak.einsum("i1", idrak.zeros(2, 3)), ValueError, "invalid subscript '1'"),
    (lambda: idrak.einsum("ii->i", idrak.zeros(2, 3)), ValueError, "sizes 2 and 3"),
    (lambda: idrak.meshgrid(idrak.zeros(2, 2)), ValueError, r"input 0.*\(2, 2\)"),
    (lambda: idrak.meshgrid(idrak.zeros(2), indexing="ji"), ValueError, "'ji'"),
    (lambda: IF.hardtanh(idrak.zeros(2), 1.0, -1.0), ValueError, r"max_val \(-1.0\)"),
    (lambda: IF.celu(idrak.zeros(2), 0.0), ValueError, "alpha"),
    (lambda: idrak.zeros(2, 3).movedim((0, 1), 0), ValueError, "differ in length"),
]


@pytest.mark.parametrize(("call", "exc", "match"), ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_errors(call: Callable[[], Any], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# multinomial: distribution checked by chi-square (fixed seeds), shapes, errors
def _chi2_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = probs / probs.sum() * counts.sum()
    keep = expected > 0
    assert counts[~keep].sum() == 0, f"a zero-probability category was drawn: {counts}"
    return float(scipy_stats.chisquare(counts[keep], expected[keep]).pvalue)


def test_multinomial_with_replacement_matches_the_weights() -> None:
    idrak.manual_seed(1234)
    w = np.array([0.1, 0.0, 0.4, 0.2, 0.3])
    s = idrak.tensor(w).multinomial(20000, replacement=True)
    assert s.dtype == idrak.int64 and s.shape == (20000,)
    counts = np.bincount(s.numpy(), minlength=5)
    assert _chi2_pvalue(counts, w) > 1e-3, counts


def test_multinomial_without_replacement_first_draw_and_distinct() -> None:
    idrak.manual_seed(99)
    w = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 0.0, 1.0, 1.0]])
    firsts = []
    for _ in range(5):
        s = idrak.tensor(w).multinomial(3, replacement=False, generator=None).numpy()
        assert s.shape == (2, 3)
        for row in s:
            assert len(set(row.tolist())) == 3  # no category twice
        assert 1 not in s[1, :2]  # weight 0 is drawn only after every positive one
        firsts.append(s[:, 0])
    idrak.manual_seed(7)
    big = idrak.tensor(np.repeat(w[:1], 4000, 0)).multinomial(2).numpy()
    counts = np.bincount(big[:, 0], minlength=4)
    assert _chi2_pvalue(counts, w[0]) > 1e-3, counts  # the first draw follows the weights
    # the second draw: P(j second) = sum_i p_i p_j / (1 - p_i)
    p = w[0] / w[0].sum()
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    assert _chi2_pvalue(np.bincount(big[:, 1], minlength=4), second) > 1e-3


def test_multinomial_uses_the_generator() -> None:
    g1, g2 = idrak.Generator(5), idrak.Generator(5)
    w = idrak.tensor([0.2, 0.3, 0.5])
    a = w.multinomial(50, True, generator=g1).numpy()
    b = idrak.multinomial(w, 50, True, generator=g2).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, w.multinomial(50, True, generator=g1).numpy())


@pytest.mark.parametrize(
    ("weights", "n", "repl", "match"),
    [
        ([[[1.0]]], 1, True, "1-D or 2-D"),
        ([1.0, 2.0], 3, False, "cannot draw 3 samples without replacement from 2"),
        ([1.0, 2.0], 0, True, "positive int, got 0"),
        ([1.0, -2.0], 1, True, "element < 0"),
        ([1.0, math.nan], 1, True, "nan"),
        ([0.0, 0.0], 1, True, "positive sum"),
    ],
)
def test_multinomial_errors(weights: Any, n: int, repl: bool, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        idrak.tensor(weights).multinomial(n, repl)


# ---------------------------------------------------------------------------------------------
# nn modules
MODULES = [
    ("CELU", (0.7,)),
    ("SELU", ()),
    ("Hardtanh", (-0.5, 0.8)),
    ("Hardsigmoid", ()),
    ("Hardswish", ()),
    ("Softsign", ()),
    ("Softmin", (1,)),
    ("Mish", ()),
]


@pytest.mark.parametrize(("name", "args"), MODULES, ids=[m[0] for m in MODULES])
def test_activation_modules_match_torch(name: str, args: tuple[Any, ...]) -> None:
    a = np.random.default_rng(3).uniform(-5, 5, (3, 4))
    mine, ref = getattr(inn, name)(*args), getattr(torch.nn, name)(*args)
    x, t = _pair(a)
    _same(mine(x), ref(t), name)
    assert repr(mine).startswith(name)


# ---------------------------------------------------------------------------------------------
# idrak.autograd.functional vs torch.autograd.functional (float64)
def _f_single(m: Any) -> Callable[..., Any]:
    return lambda x: (x.sin() * x).reshape(2, 3)[:, :2] * 2.0 + x[:4].reshape(2, 2).exp()


def _f_multi(m: Any) -> Callable[..., Any]:
    return lambda x, y: (x * y.sum(), (x.exp() * y[:3]).sum() + x.tanh()[0])


def _scalar(m: Any) -> Callable[..., Any]:
    return lambda x, y: (x.sin() * y[:3]).sum() * y.sum() + (x * x * x).sum()


X = np.array([0.3, -0.8, 1.1, 0.5, -0.2, 0.9])
X3 = np.array([0.4, -1.2, 0.7])
Y = np.array([1.5, -0.5, 2.0, 0.25])


def _cmp(got: Any, ref: Any, what: str) -> None:
    if isinstance(ref, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(ref), f"{what}: structure {got!r}"
        for k, (g, r) in enumerate(zip(got, ref)):
            _cmp(g, r, f"{what}[{k}]")
        return
    assert isinstance(got, idrak.Tensor), f"{what}: {type(got).__name__}, expected a Tensor"
    np.testing.assert_allclose(
        got.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=what
    )


def test_jacobian_single_and_tuple() -> None:
    _cmp(
        AF.jacobian(_f_single(idrak), idrak.tensor(X)),
        TAF.jacobian(_f_single(torch), torch.tensor(X)),
        "jac",
    )
    ins_i = (idrak.tensor(X3), idrak.tensor(Y))
    ins_t = (torch.tensor(X3), torch.tensor(Y))
    _cmp(AF.jacobian(_f_multi(idrak), ins_i), TAF.jacobian(_f_multi(torch), ins_t), "jac tuple")


def test_hessian_single_and_tuple() -> None:
    f1 = lambda m: lambda x: (x.sin() * x).sum() * x.sum()  # noqa: E731
    _cmp(AF.hessian(f1(idrak), idrak.tensor(X)), TAF.hessian(f1(torch), torch.tensor(X)), "hess")
    ins_i = (idrak.tensor(X3), idrak.tensor(Y))
    ins_t = (torch.tensor(X3), torch.tensor(Y))
    _cmp(AF.hessian(_scalar(idrak), ins_i), TAF.hessian(_scalar(torch), ins_t), "hess tuple")


def test_vjp_jvp_hvp_vhp() -> None:
    x, t = idrak.tensor(X), torch.tensor(X)
    v_out = np.array([[1.0, -2.0], [0.5, 3.0]])
    _cmp(
        AF.vjp(_f_single(idrak), x, idrak.tensor(v_out)),
        TAF.vjp(_f_single(torch), t, torch.tensor(v_out)),
        "vjp",
    )
    v_in = np.array([1.0, 0.5, -1.0, 2.0, 0.0, -0.3])
    _cmp(
        AF.jvp(_f_single(idrak), x, idrak.tensor(v_in)),
        TAF.jvp(_f_single(torch), t, torch.tensor(v_in)),
        "jvp",
    )
    ins_i = (idrak.tensor(X3), idrak.tensor(Y))
    ins_t = (torch.tensor(X3), torch.tensor(Y))
    vs = (np.array([1.0, -1.0, 0.5]), np.array([0.2, 0.0, -2.0, 1.0]))
    vi = tuple(idrak.tensor(a) for a in vs)
    vt = tuple(torch.tensor(a) for a in vs)
    _cmp(AF.hvp(_scalar(idrak), ins_i, vi), TAF.hvp(_scalar(torch), ins_t, vt), "hvp")
    _cmp(AF.vhp(_scalar(idrak), ins_i, vi), TAF.vhp(_scalar(torch), ins_t, vt), "vhp")
    _cmp(AF.jvp(_f_multi(idrak), ins_i, vi), TAF.jvp(_f_multi(torch), ins_t, vt), "jvp tuple")
    _cmp(
        AF.vjp(_scalar(idrak), ins_i), TAF.vjp(_scalar(torch), ins_t), "vjp of a scalar, v omitted"
    )


def test_create_graph_allows_differentiating_again() -> None:
    x = idrak.tensor(X3, requires_grad=True)
    t = torch.tensor(X3, requires_grad=True)
    f_i = lambda z: (z * z * z).sum()  # noqa: E731
    j_i = AF.jacobian(f_i, x, create_graph=True)
    j_t = TAF.jacobian(f_i, t, create_graph=True)
    assert j_i.requires_grad
    (j_i * idrak.tensor(X3)).sum().backward()
    (j_t * torch.tensor(X3)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_strict_and_independent_outputs() -> None:
    f = lambda a, b: a * 2.0  # noqa: E731
    ins = (idrak.tensor(X3), idrak.tensor(Y))
    jac = AF.jacobian(f, ins)
    ref = TAF.jacobian(f, (torch.tensor(X3), torch.tensor(Y)))
    _cmp(jac, ref, "zeros for an unused input")
    with pytest.raises(idrak.IdrakError, match="independent of input 1"):
        AF.jacobian(f, ins, strict=True)
    with pytest.raises(ValueError, match="v can be omitted"):
        AF.vjp(lambda z: z * 2.0, idrak.tensor(X3))
    with pytest.raises(ValueError, match=r"v\[0\] has shape \(2,\), expected \(3,\)"):
        AF.jvp(lambda z: z * 2.0, idrak.tensor(X3), idrak.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        AF.jacobian(lambda z: z, [1.0])
    with pytest.raises(NotImplementedError, match="forward-mode"):
        AF.jacobian(lambda z: z, idrak.tensor(X3), strategy="forward-mode")
    assert AF.jacobian(lambda z: z * 2.0, idrak.tensor(X3), vectorize=True).shape == (3, 3)
    assert idrak.func.hessian is AF.hessian


@pytest.mark.parametrize("n", [2, 5, 8, 13, 40])
def test_bitonic_sort_path_matches_torch(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from idrak.core.methods import sorting

    monkeypatch.setitem(sorting._SORT, "rank_max", 1)  # force the network for every length
    rng = np.random.default_rng(n)
    a = rng.integers(-3, 3, (3, n)).astype(np.float64)
    a[0, 0], a[1, -1] = math.nan, math.inf
    w = rng.standard_normal((3, n))
    for desc in (False, True):
        x = idrak.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        v, i = x.sort(descending=desc)
        tv, ti = t.sort(descending=desc, stable=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(v.numpy(), tv.detach().numpy())
        (v * idrak.tensor(w)).sum().backward()
        (tv * torch.from_numpy(w)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
        tk = torch.tensor(a).topk(min(3, n), largest=not desc).values
        np.testing.assert_array_equal(
            x.topk(min(3, n), largest=not desc).values.numpy(), tk.numpy()
        )


@pytest.mark.parametrize("replacement", [True, False])
def test_multinomial_replays_under_jit_with_fresh_draws(replacement: bool) -> None:
    """The draws come from the counter-based stream, so idrak.jit replays draw what the plain
    calls would have drawn (as for rand)."""
    import warnings

    def g(w: idrak.Tensor) -> idrak.Tensor:
        return w.multinomial(3, replacement)

    f = idrak.jit(g)
    w = idrak.tensor([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]] * 4)
    idrak.manual_seed(11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to plain calls
        outs = [f(w).numpy() for _ in range(4)]
    assert f.stats["replays"] >= 2
    idrak.manual_seed(11)
    plain = [g(w).numpy() for _ in range(4)]
    np.testing.assert_array_equal(np.stack(outs), np.stack(plain))
    assert not all(np.array_equal(outs[0], o) for o in outs[1:])
