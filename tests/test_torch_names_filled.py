"""The PyTorch names filled in from docs/coming-from-pytorch.md's "lacks" lists: top-level
functions, Tensor methods, nn layers and functionals, nn.init.

The op-spec table runs the harness of test_added_ops.py (every backend, optional fast paths
hidden too): values and dtypes against torch (values compared in float64), gradients against
torch.autograd and finite differences. Below it: what a table cannot hold (random draws,
in-place methods, retain_grad, modules, init, errors).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import test_added_ops as added
import test_tensor_ops as tops
from _gradcheck import assert_close, idrak_numpy_fn, numerical_grad
from test_tensor_ops import INTS, NUM, In, OpSpec, S

import idrak
from idrak import nn

torch = pytest.importorskip("torch")

device = tops.device
I, T = added.I, added.T
A = (3, 4)

SPECS: list[OpSpec] = [
    S(
        "neg_reciprocal_frac_log10",
        lambda m, x: [m.neg(x), m.negative(x), m.reciprocal(x), m.frac(x * 3), m.log10(x)],
        In(A, "pos"),
    ),
    S(
        "remainder",
        lambda m, a, b: [m.remainder(a, b), m.remainder(a, 0.7)],
        A,
        In(A, "away"),
    ),
    S(
        "compare",
        lambda m, a, b: [m.eq(a, b), m.ne(a, b), m.lt(a, b), m.le(a, b), m.gt(a, b), m.ge(a, 0)],
        In(A, "smallint"),
        In(A, "smallint"),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "logical",
        lambda m, a, b: [
            m.logical_and(a, b),
            m.logical_or(a, b),
            a.logical_and(b > 0),
            m.logical_or(a, a == 0),
        ],
        In(A, "smallint"),
        In(A, "smallint"),
        dtypes=NUM,
        grad=False,
    ),
    S("cumprod", lambda m, x: [m.cumprod(x, 1), m.cumprod(x, dim=0)], In(A, "away")),
    S("dot_outer", lambda m, a, b: [m.dot(a, b), m.outer(a, b), a.outer(b * 2)], (5,), (5,)),
    S("outer_int", lambda m, a, b: m.outer(a, b), In((3,), "int"), (4,), grad=False, dtypes=NUM),
    S("unbind", lambda m, x: [*m.unbind(x, 1), *m.unbind(x)], A),
    S(
        "stacks",
        lambda m, a, b, c: [
            m.hstack([a, b]),
            m.vstack([a, b]),
            m.hstack([c, c]),
            m.vstack([c, a[0]]),
        ],
        A,
        A,
        (4,),
    ),
    S("trace", lambda m, x: [m.trace(x), x.trace(), m.trace(x.T)], A),
    S("trace_int", lambda m, x: m.trace(x), In(A, "int"), dtypes=INTS, grad=False),
    S(
        "tensordot",
        lambda m, a, b, c: [
            m.tensordot(a, b, 1),
            m.tensordot(b, b, dims=2),
            m.tensordot(a, c, dims=([0, 1], [1, 0])),
            m.tensordot(a, a, dims=0),
        ],
        (3, 4),
        (4, 3),
        (4, 3),
    ),
    S(
        "cdist",
        lambda m, a, b: [m.cdist(a, b), m.cdist(a, b, p=1), m.cdist(a, b, 3.0)],
        (2, 5, 3),
        (2, 4, 3),
        rtol=1e-5,
    ),
    S("cdist_inf", lambda m, a, b: m.cdist(a, b, math.inf), In((4, 3), "distinct"), (5, 3)),
    S(
        "take",
        lambda m, x, i: [m.take(x, i), x.take(i.reshape(2, 3))],
        A,
        In((6,), value=[0, 11, 3, 3, -1, 5], dtype="int64"),
    ),
    S(
        "median",
        lambda m, x: [m.median(x), *m.median(x, 1), *x.median(0, keepdim=True)],
        In((3, 6), "distinct"),
    ),
    S(
        "kthvalue",
        lambda m, x: [*m.kthvalue(x, 2), *x.kthvalue(3, 0), *x.kthvalue(1, dim=1, keepdim=True)],
        In((3, 5), "distinct"),
    ),
    S("median_int", lambda m, x: [m.median(x), *x.median(1)], In(A, "int"), dtypes=INTS),
    S(
        "index_add",
        lambda m, x, s, i: [
            x.index_add(1, i, s),
            x.index_add(1, i, s, alpha=-2.5),
        ],
        A,
        (3, 5),
        In((5,), value=[0, 3, 3, 1, 0], dtype="int64"),
    ),
    S("bmm", lambda m, a, b: [a.bmm(b), m.bmm(a, b)], (2, 3, 4), (2, 4, 5)),
    S(
        "nonzero_unique_bincount",
        lambda m, x, w: [
            m.nonzero(x),
            *m.unique(x, return_inverse=True, return_counts=True),
            m.unique(x),
            m.bincount(x.reshape(-1)),
            m.bincount(x.reshape(-1), minlength=9),
            m.bincount(x.reshape(-1), weights=w),
        ],
        In(A, "int", lo=0, hi=4),
        In((12,), dtype="float64"),
        dtypes=INTS,
        grad=False,
    ),
    S(
        "unique_dim",
        lambda m, x: m.unique(x, return_inverse=True, return_counts=True, dim=0),
        In((4, 2), value=[[1, 2], [0, 5], [1, 2], [0, 1]]),
        dtypes=NUM,
        grad=False,
    ),
    S(
        "activations",
        lambda m, x: [
            m.F.glu(x, 1),
            m.F.glu(x, dim=0),
            m.F.threshold(x, 0.1, -2.0),
            m.F.tanhshrink(x),
        ],
        In((4, 6), "away"),
    ),
    S(
        "prelu",
        lambda m, x, w, w1: [m.F.prelu(x, w), m.F.prelu(x, w1)],
        In((2, 3, 4), "away"),
        In((3,), "pos"),
        In((1,), "pos"),
    ),
    S(
        "rms_norm",
        lambda m, x, w: [
            m.F.rms_norm(x, (4,), w),
            m.F.rms_norm(x, [3, 4], eps=1e-3),
            m.F.rms_norm(x, [4]),
        ],
        (2, 3, 4),
        (4,),
        rtol=1e-5,
    ),
    S(
        "adaptive_avg_pool1d",
        lambda m, x: [
            m.F.adaptive_avg_pool1d(x, 3),
            m.F.adaptive_avg_pool1d(x, (7,)),
            m.F.adaptive_avg_pool1d(x[0], 1),
        ],
        (2, 3, 7),
    ),
]


def _cases() -> list[Any]:
    return [pytest.param(s, d, id=f"{s.name}-{d}") for s in SPECS for d in s.dtypes]


def _grad_cases() -> list[Any]:
    return [pytest.param(s, id=s.name) for s in SPECS if s.grad and "float64" in s.dtypes]


@pytest.mark.parametrize(("spec", "dtype"), _cases())
def test_forward(spec: OpSpec, dtype: str, device: str) -> None:
    arrays = tops._draw(spec, dtype)
    outs = added._run(spec, I, [idrak.tensor(a, device=device) for a in arrays])
    same = added._run(spec, T, [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
    assert len(same) == len(outs), f"{spec.name}: {len(outs)} outputs, torch {len(same)}"
    rtol, atol = tops._tol(spec, dtype)
    wide = added._run(
        spec, T, [torch.from_numpy(np.ascontiguousarray(a)) for a in tops._widen(arrays, spec)]
    )
    for k, (o, t, w) in enumerate(zip(outs, same, wide)):
        assert o.dtype.name == str(t.dtype).removeprefix("torch."), (
            f"{spec.name} output {k}: dtype {o.dtype.name}, torch {t.dtype}"
        )
        assert o.shape == tuple(t.shape), f"{spec.name} output {k}: {o.shape} vs {tuple(t.shape)}"
        tol = (rtol, atol) if np.dtype(dtype).kind == "f" else tops.TOL.get(o.dtype.name, (0, 0))
        assert_close(o.numpy(), w.numpy(), *tol, f"{spec.name} output {k} vs torch")


@pytest.mark.parametrize("spec", _grad_cases())
def test_grad_finite_differences(spec: OpSpec, device: str) -> None:
    arrays = tops._draw(spec, "float64")
    cts = added._cotangents(spec, arrays, device, 1)
    got = added._grads(spec, arrays, cts, device)
    wrt = [k for k, (a, i) in enumerate(zip(arrays, spec.inputs)) if a.dtype.kind == "f" and i.diff]
    fixed = {k: a for k, a in enumerate(arrays) if k not in wrt}
    f = idrak_numpy_fn(lambda *ts: spec.fn(I, *ts), device.partition("/")[0], fixed)
    num = numerical_grad(f, arrays, cts, wrt=wrt, eps=spec.eps)
    for k, n in zip(wrt, num):
        g = got[k] if got[k] is not None else np.zeros_like(n)
        assert_close(g, n, 1e-5, spec.grad_tol, f"{spec.name}: d/d(input {k}) vs finite diff")


@pytest.mark.parametrize("spec", _grad_cases())
def test_grad_vs_torch(spec: OpSpec, device: str) -> None:
    arrays = tops._draw(spec, "float64")
    cts = added._cotangents(spec, arrays, device, 2)
    got = added._grads(spec, arrays, cts, device)
    ts = [
        torch.tensor(a, requires_grad=a.dtype.kind == "f" and i.diff)
        for a, i in zip(arrays, spec.inputs)
    ]
    loss = sum(
        (o * torch.from_numpy(c)).sum()
        for o, c in zip(added._run(spec, T, ts), cts)
        if o.dtype.is_floating_point and o.requires_grad
    )
    loss.backward()  # type: ignore[union-attr]
    for k, t in enumerate(ts):
        if t.requires_grad:
            ref = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            g = got[k] if got[k] is not None else np.zeros_like(ref)
            assert_close(g, ref, 1e-9, 1e-11, f"{spec.name}: d/d(input {k}) vs torch")


# ---------------------------------------------------------------------------------------------
# in-place methods, retain_grad, detach_
def test_inplace_scatters_match_torch(device: str) -> None:
    rng = np.random.default_rng(0)
    base, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    idx = np.array([[0, 3], [2, 1], [1, 0]])
    ii = np.array([0, 3, 3, 1, 0])
    for name, args_i in [
        ("scatter_", (1, idx, src[:, :2])),
        ("scatter_add_", (1, idx, src[:, :2])),
        ("index_add_", (1, ii, src)),
    ]:
        x = idrak.tensor(base, device=device)
        t = torch.tensor(base)
        conv_i = [
            idrak.tensor(a, device=device) if isinstance(a, np.ndarray) else a for a in args_i
        ]
        conv_t = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args_i]
        assert getattr(x, name)(*conv_i) is x
        getattr(t, name)(*conv_t)
        assert_close(x.numpy(), t.numpy(), 1e-12, 1e-12, name)
    x, t = idrak.tensor(base, device=device), torch.tensor(base)
    x.scatter_(1, idrak.tensor(idx, device=device), value=7.5)
    t.scatter_(1, torch.tensor(idx), value=7.5)
    assert_close(x.numpy(), t.numpy(), 0, 0, "scatter_ value")
    x, t = idrak.tensor(base, device=device), torch.tensor(base)
    x.index_add_(0, idrak.tensor([2, 2], device=device), idrak.ones(2, 4, dtype="float64"), alpha=3)
    t.index_add_(0, torch.tensor([2, 2]), torch.ones(2, 4, dtype=torch.float64), alpha=3)
    assert_close(x.numpy(), t.numpy(), 1e-12, 1e-12, "index_add_ alpha")


def test_inplace_scatter_gradient_matches_torch(device: str) -> None:
    rng = np.random.default_rng(1)
    a, s = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    ii = [0, 3, 3, 1, 0]
    xa = idrak.tensor(a, device=device, requires_grad=True)
    xs = idrak.tensor(s, device=device, requires_grad=True)
    y = xa * 2
    y.index_add_(1, idrak.tensor(ii, device=device), xs, alpha=0.5)
    (y * y).sum().backward()
    ta, ts = torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True)
    ty = ta * 2
    ty.index_add_(1, torch.tensor(ii), ts, alpha=0.5)
    (ty * ty).sum().backward()
    assert_close(xa.grad.numpy(), ta.grad.numpy(), 1e-12, 1e-12, "d/da")
    assert_close(xs.grad.numpy(), ts.grad.numpy(), 1e-12, 1e-12, "d/ds")


def test_retain_grad_fills_a_non_leaf_grad(device: str) -> None:
    a = np.array([[0.5, -1.0], [2.0, 3.0]])
    x = idrak.tensor(a, device=device, requires_grad=True)
    y = x.exp()
    z = y * 3
    y.retain_grad()
    x.retain_grad()  # a leaf: no-op
    (z * z).sum().backward(retain_graph=True)
    tx = torch.tensor(a, requires_grad=True)
    ty = tx.exp()
    ty.retain_grad()
    tz = ty * 3
    (tz * tz).sum().backward(retain_graph=True)
    assert y.grad is not None and z.grad is None
    assert_close(y.grad.numpy(), ty.grad.numpy(), 1e-12, 1e-12, "y.grad")
    assert_close(x.grad.numpy(), tx.grad.numpy(), 1e-12, 1e-12, "x.grad")
    # accumulates over a second backward, as torch's
    (y.sum()).backward()
    ty.sum().backward()
    assert_close(y.grad.numpy(), ty.grad.numpy(), 1e-12, 1e-12, "accumulated y.grad")
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        idrak.ones(2).retain_grad()


def test_detach_in_place(device: str) -> None:
    x = idrak.ones(3, device=device, requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert not y.requires_grad and y.is_leaf and y.tolist() == [2.0, 2.0, 2.0]
    v = (x * 2)[1:]
    with pytest.raises(RuntimeError, match="view"):
        v.detach_()


# ---------------------------------------------------------------------------------------------
# random functions: shapes, dtypes, statistics (the numbers differ from torch's by design)
def test_normal_forms_and_statistics() -> None:
    idrak.manual_seed(0)
    z = idrak.normal(2.0, 3.0, (20000,))
    assert z.shape == (20000,) and z.dtype == idrak.float32
    a = z.numpy().astype(np.float64)
    assert abs(a.mean() - 2.0) < 4 * 3 / math.sqrt(a.size)
    assert abs(a.std() - 3.0) < 0.1
    mean = idrak.zeros(5000, 2, dtype="float64")
    std = idrak.tensor([1.0, 10.0], dtype="float64")
    w = idrak.normal(mean, std)
    assert w.shape == (5000, 2) and w.dtype == idrak.float64
    s = w.numpy().std(0)
    assert 0.9 < s[0] < 1.1 and 9 < s[1] < 11
    assert idrak.normal(mean, 0.5).shape == (5000, 2)
    with pytest.raises(ValueError, match="size"):
        idrak.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="std"):
        idrak.normal(0.0, -1.0, (2,))


def test_dropout_and_randint_like() -> None:
    idrak.manual_seed(1)
    x = idrak.ones(10000, dtype="float64")
    d = idrak.dropout(x, 0.25, True).numpy()
    assert set(np.unique(d)) <= {0.0, 1 / 0.75}
    assert abs((d == 0).mean() - 0.25) < 0.02
    assert idrak.dropout(x, 0.25, False) is x
    r = idrak.randint_like(idrak.zeros(3000, dtype="int32"), 3, 7)
    assert r.dtype == idrak.int32 and set(np.unique(r.numpy())) == {3, 4, 5, 6}
    r = idrak.randint_like(idrak.zeros(2, 3), 4)
    assert r.dtype == idrak.float32 and r.shape == (2, 3) and r.numpy().max() < 4
    with pytest.raises(ValueError, match="probability"):
        idrak.dropout(x, 1.5)


@pytest.mark.parametrize(
    ("args", "kw"),
    [
        ((0, 2, 5), {}),
        ((-1, 1, 7), {"base": 2.0}),
        ((0, 3, 4), {"dtype": "int64"}),
        ((1, 1, 1), {}),
    ],
)
def test_logspace_matches_torch(args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    got = idrak.logspace(*args, **kw)
    tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
    want = torch.logspace(*args, **tkw)
    assert got.dtype.name == str(want.dtype).removeprefix("torch.")
    assert_close(got.numpy(), want.numpy(), 1e-6, 0, "logspace")


# ---------------------------------------------------------------------------------------------
# nn layers: outputs and gradients against torch's modules
_LAYERS = [
    ("ReLU6", (), (2, 3, 4)),
    ("Softplus", (), (2, 3, 4)),
    ("Softplus", (2.0, 1.0), (2, 3, 4)),
    ("Threshold", (0.1, 20.0), (2, 3, 4)),
    ("Tanhshrink", (), (2, 3, 4)),
    ("GLU", (), (2, 3, 4)),
    ("GLU", (0,), (2, 3, 4)),
    ("PReLU", (), (2, 3, 4)),
    ("PReLU", (3, 0.1), (2, 3, 4)),
    ("ZeroPad2d", (2,), (2, 3, 4)),
    ("ZeroPad2d", ((1, 0, 2, 1),), (1, 2, 3, 4)),
    ("ConstantPad2d", ((0, 1, 2, 0), 3.5), (2, 3, 4)),
    ("ReflectionPad2d", (1,), (1, 2, 3, 4)),
    ("ReflectionPad2d", ((2, 1, 0, 2),), (2, 3, 4)),
    ("AdaptiveAvgPool1d", (3,), (2, 3, 8)),
    ("RMSNorm", (4,), (2, 3, 4)),
    ("RMSNorm", ([3, 4], 1e-2), (2, 3, 4)),
    ("RMSNorm", (4, None, False), (2, 3, 4)),
]


@pytest.mark.parametrize(("name", "args", "shape"), _LAYERS)
def test_layer_matches_torch(name: str, args: tuple[Any, ...], shape: tuple[int, ...]) -> None:
    a = np.random.default_rng(3).standard_normal(shape) * 2
    m = getattr(nn, name)(*args).to(dtype="float64")
    tm = getattr(torch.nn, name)(*args).double()
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert p.shape == tuple(tp.shape)
        assert_close(p.numpy(), tp.detach().numpy(), 0, 0, f"{name} initial parameter")
    x = idrak.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = m(x), tm(tx)
    assert y.dtype == idrak.float64 and y.shape == tuple(ty.shape)
    assert_close(y.numpy(), ty.detach().numpy(), 1e-12, 1e-12, f"{name} output")
    c = np.random.default_rng(4).standard_normal(y.shape)
    (y * idrak.tensor(c)).sum().backward()
    (ty * torch.tensor(c)).sum().backward()
    assert_close(x.grad.numpy(), tx.grad.numpy(), 1e-10, 1e-12, f"{name} d/dx")
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert_close(p.grad.numpy(), tp.grad.numpy(), 1e-10, 1e-12, f"{name} d/dweight")


def test_dropout2d_zeroes_whole_channels() -> None:
    idrak.manual_seed(2)
    m = nn.Dropout2d(0.5)
    y = m(idrak.ones(40, 50, 3, 3, dtype="float64")).numpy()
    per_channel = y.reshape(40, 50, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.4 < (per_channel[..., 0] == 0).mean() < 0.6
    m.eval()
    x = idrak.ones(2, 3, 4)
    assert m(x) is x
    with pytest.raises(ValueError, match="3-D or 4-D"):
        nn.functional.dropout2d(idrak.ones(3, 4))


# ---------------------------------------------------------------------------------------------
# nn.init
def test_init_eye_orthogonal_trunc_normal() -> None:
    w = nn.init.eye_(idrak.empty(3, 5))
    assert_close(w.numpy(), torch.nn.init.eye_(torch.empty(3, 5)).numpy(), 0, 0, "eye_")
    for shape in ((4, 6), (6, 4), (3, 2, 2)):
        q = nn.init.orthogonal_(idrak.empty(*shape, dtype="float64"), gain=2.0).numpy()
        q = q.reshape(shape[0], -1)
        small = q @ q.T if shape[0] <= q.shape[1] else q.T @ q
        assert_close(small, 4.0 * np.eye(small.shape[0]), 0, 1e-12, f"orthogonal_ {shape}")
    idrak.manual_seed(3)
    t = nn.init.trunc_normal_(idrak.empty(40000, dtype="float64"), 1.0, 2.0, -1.0, 4.0).numpy()
    assert t.min() >= -1.0 and t.max() <= 4.0
    # the truncated normal's mean and standard deviation (Johnson et al., "Continuous Univariate
    # Distributions", 13.10)
    al, be = -1.0, 1.5
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (al, be)]
    cdf = [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (al, be)]
    z = cdf[1] - cdf[0]
    mean = 1.0 + 2.0 * (pdf[0] - pdf[1]) / z
    var = 4.0 * (1 + (al * pdf[0] - be * pdf[1]) / z - ((pdf[0] - pdf[1]) / z) ** 2)
    assert abs(t.mean() - mean) < 4 * math.sqrt(var / t.size)
    assert abs(t.std() - math.sqrt(var)) < 0.02
    far = nn.init.trunc_normal_(idrak.empty(1000, dtype="float64"), 0.0, 1.0, 8.0, 9.0).numpy()
    assert far.min() >= 8.0 and far.max() <= 9.0
    with pytest.raises(ValueError, match="2-D"):
        nn.init.eye_(idrak.empty(3))
    with pytest.raises(ValueError, match="a < b"):
        nn.init.trunc_normal_(idrak.empty(3), a=1.0, b=0.0)


# ---------------------------------------------------------------------------------------------
# errors name the offending value
def test_errors() -> None:
    x = idrak.ones(3, 4)
    cases = [
        (lambda: idrak.outer(x, x[0]), ValueError, "1-D"),
        (lambda: idrak.trace(x[0]), ValueError, "2-D"),
        (lambda: x.bmm(x), ValueError, "3-D"),
        (lambda: idrak.take(x, idrak.tensor([0.5])), TypeError, "integer"),
        (lambda: idrak.kthvalue(x, 5), IndexError, "out of range"),
        (lambda: idrak.median(idrak.ones(0)), IndexError, "empty"),
        (lambda: idrak.bincount(idrak.tensor([1, -2])), ValueError, "-2"),
        (lambda: idrak.bincount(x), TypeError, "integer"),
        (lambda: x.index_add(1, idrak.tensor([0, 1]), idrak.ones(3, 3)), ValueError, "source"),
        (lambda: idrak.logical_and(x, 1), TypeError, "tensor"),
        (lambda: idrak.tensordot(x, x, 1), ValueError, "size"),
        (lambda: idrak.cdist(x, idrak.ones(2, 5)), ValueError, "same M"),
        (lambda: idrak.hstack([]), ValueError, "non-empty"),
        (lambda: nn.functional.glu(idrak.ones(3)), ValueError, "even"),
        (lambda: nn.functional.rms_norm(x, (3,)), ValueError, "trailing"),
        (lambda: nn.functional.prelu(x, idrak.ones(2)), ValueError, "2 elements"),
        (lambda: nn.ZeroPad2d((1, 2)), ValueError, "4 ints"),
        (lambda: nn.PReLU(0), ValueError, "num_parameters"),
        (lambda: x.scatter_(0, idrak.zeros(1, 1, dtype="int64")), ValueError, "src"),
    ]
    for fn, err, words in cases:
        with pytest.raises(err, match=words):
            fn()
    assert idrak.equal(x, x.clone()) and not idrak.equal(x, x[:2]) and not x.equal(x * 2)


# ---------------------------------------------------------------------------------------------
# optim.Rprop and optim.ASGD: twelve steps against torch's
_OPTIMS = [
    ("Rprop", {}),
    ("Rprop", {"lr": 0.1, "maximize": True, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "t0": 3, "weight_decay": 0.1, "lambd": 1e-2, "alpha": 0.5}),
    ("ASGD", {"lr": 0.02, "t0": 0, "maximize": True}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "kw"), _OPTIMS)
def test_rprop_asgd_match_torch(name: str, kw: dict[str, Any], dtype: str) -> None:
    rng = np.random.default_rng(5)
    a, tgt = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    p, tp = idrak.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    opt, topt = getattr(idrak.optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    for _ in range(12):
        opt.zero_grad()
        ((p - idrak.tensor(tgt)) ** 3).abs().sum().backward()
        opt.step()
        topt.zero_grad()
        ((tp - torch.tensor(tgt)) ** 3).abs().sum().backward()
        topt.step()
    # float32: torch fuses p + alpha * g (one rounding), idrak rounds twice
    tol = (1e-12, 1e-14) if dtype == "float64" else (1e-5, 1e-6)
    assert p.dtype.name == dtype
    assert_close(p.numpy(), tp.detach().numpy(), *tol, f"{name} parameters")
    if name == "ASGD":
        ax = opt.state[p]["ax"].numpy()
        assert_close(ax, topt.state[tp]["ax"].numpy(), *tol, "ASGD average")


def test_rprop_asgd_errors() -> None:
    p = [idrak.ones(2, requires_grad=True)]
    with pytest.raises(ValueError, match="eta"):
        idrak.optim.Rprop(p, etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="-1"):
        idrak.optim.Rprop(p, lr=-1)
    with pytest.raises(ValueError, match="weight_decay"):
        idrak.optim.ASGD(p, weight_decay=-0.5)
