"""Kernel fusion (idrak.engine.fusion): fused results equal op-by-op ones, what fuses, caching,
codegen."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak import fusion
from idrak.contract.fused import FusedKernel, FusedOp, InputSpec, kernel_cache
from idrak.contract.ops import Op
from idrak.testing.fused_checks import CASES, Case, check_fused, run_case


@pytest.fixture(autouse=True)
def _fuse_small_kernels() -> Iterator[None]:
    """These tests use small arrays: let backends fuse kernels of any size."""
    with fusion.any_size():
        yield


numexpr = pytest.importorskip("numexpr")


def _fusing_backends() -> list[str]:
    out = []
    for name in ("numpy", "cuda"):
        try:
            be = idrak.runtime.plugins.get_backend(name)
        except Exception:
            continue
        if be.is_available()[0] and be.fusion is not None:
            out.append(name)
    return out


BACKENDS = _fusing_backends()
ENGINES = [("numpy", "interpreter"), ("numpy", "blocked"), ("numpy", "numexpr")] + [
    (b, "native") for b in BACKENDS if b != "numpy"
]


@pytest.fixture
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The device, with the numpy backend forced onto one of its two engines."""
    name, kind = request.param
    if name == "numpy":
        import idrak_numpy._fused as nf

        monkeypatch.setattr(nf, "NUMEXPR_MIN_SIZE", 0 if kind == "numexpr" else 1 << 62)
        if kind == "blocked":  # tiny blocks: several per kernel, on several threads
            monkeypatch.setattr(nf, "BLOCK_MIN_SIZE", 0)
            monkeypatch.setattr(nf, "BLOCK", 64)
            monkeypatch.setattr(nf, "_THREADS", 2)
    return name


@pytest.fixture
def on() -> Iterator[None]:
    prev = fusion.set_enabled(True)
    yield
    fusion.set_enabled(prev)


def _assert_close(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    if a.dtype.kind == "f":
        tol = 1e-12 if a.dtype == np.float64 else 2e-5
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("engine", ENGINES, indirect=True, ids=lambda e: "-".join(e))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fused_equals_op_by_op(engine: str, case: Case) -> None:
    v0, g0, n0 = run_case(case, engine, fused=False)
    v1, g1, n1 = run_case(case, engine, fused=True)
    assert n0 == 0
    if case.must_fuse:
        assert n1 >= 1, f"{case.name}: nothing fused"
    _assert_close(v0, v1)
    assert len(g0) == len(g1)
    for a, b in zip(g0, g1):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            _assert_close(a, b)


@pytest.mark.parametrize("name", BACKENDS)
def test_check_fused_reports_no_problem(name: str) -> None:
    assert check_fused(idrak.runtime.plugins.get_backend(name)) == []


def test_check_fused_passes_a_backend_that_does_not_fuse(monkeypatch: pytest.MonkeyPatch) -> None:
    be = idrak.runtime.plugins.get_backend("numpy")
    monkeypatch.setitem(be.__dict__, "_fusion_cache", None)
    assert check_fused(be) == []


# --- what fuses ----------------------------------------------------------------------------
def _schedule(fn: object) -> list[idrak.engine.debug.KernelReport]:
    with idrak.engine.debug.schedule(file=None) as reports:
        fn()  # type: ignore[operator]
    return [k for r in reports for k in r.kernels]


def _x(*shape: int, seed: int = 0) -> idrak.Tensor:
    return idrak.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_a_chain_of_eight_ops_is_one_kernel(on: None) -> None:
    x = _x(1000)
    y = ((((x * 1.5 + 0.5) * x - 0.25).relu() * 2.0 + x) / 3.0).exp()
    ks = _schedule(y.realize)
    assert [k.op for k in ks] == ["FUSED"]
    assert ks[0].n_inputs == 1 and ks[0].cache in ("hit", "new")
    xs = x.numpy()
    want = np.exp((np.maximum((xs * 1.5 + 0.5) * xs - 0.25, 0) * 2 + xs) / 3)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)


def test_a_value_a_live_tensor_holds_stays_materialized(on: None) -> None:
    x = _x(50)
    y = x * 2.0 + 1.0
    z = (y - 3.0).exp()
    ks = _schedule(z.realize)
    assert [k.op for k in ks] == ["FUSED", "FUSED"]
    assert y.lazy.buf is not None  # computed on the way, so y.numpy() costs nothing
    np.testing.assert_allclose(y.numpy(), x.numpy() * 2 + 1, rtol=1e-6)


def test_a_dead_intermediate_is_not_materialized(on: None) -> None:
    x = _x(50)
    y = x * 2.0 + 1.0
    z = (y - 3.0).exp()
    del y
    assert [k.op for k in _schedule(z.realize)] == ["FUSED"]


def test_a_value_used_outside_the_group_stays_materialized(on: None) -> None:
    x, w = _x(8, 16), _x(16, 4, seed=1)
    h = (x * 2.0).relu()
    out = (h.matmul(w) + h.sum(1, keepdim=True)).tanh()
    del h
    ops = [k.op for k in _schedule(out.realize)]
    assert "MATMUL" in ops and ops.count("FUSED") >= 2
    xs, ws = x.numpy(), w.numpy()
    hs = np.maximum(xs * 2, 0)
    np.testing.assert_allclose(
        out.numpy(), np.tanh(hs @ ws + hs.sum(1, keepdims=True)), rtol=1e-5, atol=1e-6
    )


def test_a_trailing_reduction_joins_the_kernel_and_a_broadcast_input_is_a_view(on: None) -> None:
    x, b = _x(6, 5), _x(5, seed=2)
    s = ((x - b) * (x - b)).sum(1)
    ks = [k for k in _schedule(s.realize) if k.op == "FUSED"]
    assert len(ks) == 1
    k: FusedKernel = ks[0].kernel
    assert k.reduce == (Op.SUM, (1,)) and k.out_shape == (6, 1)
    assert sorted(spec.shape for spec in k.inputs) == [(1, 5), (6, 5)]
    np.testing.assert_allclose(s.numpy(), ((x.numpy() - b.numpy()) ** 2).sum(1), rtol=1e-5)


def test_a_dying_fresh_input_is_marked_for_reuse(on: None) -> None:
    x, w = _x(8, 16), _x(16, 16, seed=1)
    y = (x.matmul(w) * 2.0 + 1.0).exp()  # the matmul result dies in the kernel
    k = next(r.kernel for r in _schedule(y.realize) if r.op == "FUSED")
    assert k.reuse is not None and k.inputs[k.reuse].shape == (8, 16)
    np.testing.assert_allclose(y.numpy(), np.exp(x.numpy() @ w.numpy() * 2 + 1), rtol=1e-5)


def test_a_transposed_matmul_result_comes_out_contiguous(on: None) -> None:
    x, g = _x(8, 5), _x(8, 3, seed=1)
    w_grad = x.transpose(0, 1).matmul(g).transpose(0, 1)  # as in the weight gradient of x @ w.T
    ops = [k.op for k in _schedule(w_grad.realize)]
    assert ops[-1] == "MATMUL" and w_grad.lazy.buf.flags.c_contiguous
    np.testing.assert_allclose(w_grad.numpy(), (x.numpy().T @ g.numpy()).T, rtol=1e-5)


def test_disabled_fusion_runs_op_by_op() -> None:
    prev = fusion.set_enabled(False)
    try:
        x = _x(10)
        assert "FUSED" not in [k.op for k in _schedule((x * 2.0 + 1.0).realize)]
    finally:
        fusion.set_enabled(prev)


def test_a_backend_without_fusion_support_is_untouched(
    on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(idrak.runtime.plugins.get_backend("numpy").__dict__, "_fusion_cache", None)
    x = _x(10)
    assert "FUSED" not in [k.op for k in _schedule(((x * 2.0 + 1.0).exp()).realize)]


def test_env_switch_disables_the_pass() -> None:
    env = dict(os.environ, IDRAK_DISABLE_FUSION="1")
    out = subprocess.run(
        [sys.executable, "-c", "import idrak; print(idrak.engine.fusion.enabled())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_a_very_long_chain_has_no_recursion_limit(on: None) -> None:
    x = _x(7)
    y = x
    for _ in range(3000):
        y = y + 1.0
    ks = _schedule(y.realize)
    assert [k.op for k in ks] == ["FUSED"]
    np.testing.assert_allclose(y.numpy(), x.numpy() + 3000, rtol=1e-5)


def test_repeated_structure_hits_the_kernel_cache(on: None) -> None:
    cache = kernel_cache("numpy")
    x = _x(33)
    first = _schedule(((x * 3.25 + 1.0).exp()).realize)
    hits = cache.hits
    second = _schedule(((x * -7.5 + 2.0).exp()).realize)  # other constants, same structure
    assert first[0].op == second[0].op == "FUSED"
    assert second[0].cache == "hit" and cache.hits == hits + 1
    np.testing.assert_allclose(
        ((x * -7.5 + 2.0).exp()).numpy(), np.exp(x.numpy() * -7.5 + 2), rtol=1e-6
    )


def test_constants_keep_their_sign_and_type_across_calls(on: None) -> None:
    x = idrak.tensor(np.array([1.0, 2.0], np.float32))
    for c in (0.0, -0.0, 0.0, -0.0):
        y = (x * c * 1.0).numpy()  # same structure each time, constants differ by sign
        assert np.array_equal(np.signbit(y), np.signbit(np.float32(c)) & np.ones(2, bool))


def test_kernels_hash_by_structure_not_constants() -> None:
    f32 = idrak.float32
    ops = (FusedOp(Op.FULL, (), 0, f32), FusedOp(Op.MUL, (0, 1), None, f32))
    a = FusedKernel((3,), (InputSpec((3,), f32),), ops, consts=(-0.0,))
    b = FusedKernel((3,), (InputSpec((3,), f32),), ops, consts=(float("nan"),))
    assert a == b and hash(a) == hash(b) and a.consts != b.consts
    assert InputSpec((1, 3), f32).strides((4, 3)) == (0, 1)
    assert a.describe() == "const MUL" and a.nbytes() == 24


def test_debug_prints_the_schedule(on: None) -> None:
    buf = io.StringIO()
    x = _x(100)
    with idrak.engine.debug.schedule(file=buf):
        ((x * 2.0).exp() + 1.0).realize()
    text = buf.getvalue()
    assert "idrak schedule:" in text and "FUSED" in text and "MUL EXP" in text
    assert "moved" in text and "op by op" in text


# --- CUDA code generation (checked as text; compiled with nvcc where one is installed) -----
def _cuda_kernels() -> list[FusedKernel]:
    from idrak.contract.dtypes import to_dtype

    out = []
    for dt in ("float32", "float64", "int8", "int32", "int64", "uint8"):
        d = to_dtype(dt)
        ins = (InputSpec((4, 5), d), InputSpec((1, 5), d))
        binops = [Op.ADD, Op.MUL, Op.SUB, Op.DIV, Op.MAX]
        ops = [FusedOp(op, (0, 1), None, d) for op in binops]
        ops.append(FusedOp(Op.CMPLT, (2, 3), None, idrak.bool_))
        ops.append(FusedOp(Op.WHERE, (7, 4, 5), None, d))
        ops.append(FusedOp(Op.FULL, (), 0, d))
        ops.append(FusedOp(Op.NEG, (9,), None, d))
        last = 10
        if d.kind == "f":
            for op in (Op.EXP, Op.LOG, Op.SIN, Op.SQRT, Op.RECIPROCAL, Op.TANH, Op.EXP2, Op.LOG2):
                ops.append(FusedOp(op, (last,), None, d))
                last += 1
        ops.append(FusedOp(Op.ADD, (last, 8), None, d))
        ops.append(FusedOp(Op.CAST, (last + 1,), idrak.bool_, idrak.bool_))
        out.append(FusedKernel((4, 5), ins, tuple(ops), consts=(1,)))
        out.append(FusedKernel((4, 5), ins, tuple(ops[:-1]), (Op.SUM, (0,)), consts=(1,)))
        out.append(FusedKernel((4, 5), ins, tuple(ops[:-1]), (Op.REDUCE_MAX, (1,)), consts=(1,)))
    return out


def test_cuda_source_is_generated_for_every_op_and_dtype(tmp_path: object) -> None:
    from idrak_cuda._fused import elementwise_source, reduction_parts

    srcs = []
    for k in _cuda_kernels():
        if k.reduce is None:
            name, src = elementwise_source(k)
            assert f'extern "C" __global__ void {name}(' in src
            assert "in1[d1 * 1LL]" in src  # the broadcast input reads through its strides
            srcs.append(src.replace(_prelude(), ""))
        else:
            p = reduction_parts(k)
            assert p["map_expr"].startswith("idrak_map_") and "c0" in p["in_params"]
            if k.reduce[0] is Op.REDUCE_MAX and k.dtype.kind == "f":
                assert "a != a" in p["reduce_expr"] and "0xff" in p["identity"]
            srcs.append(p["preamble"].replace(_prelude(), ""))
    text = "\n".join(srcs)
    assert "idrak_floordiv(v0, v1)" in text and "expf(" in text and "exp(" in text
    assert "v0 != v0" in text  # NaN-propagating maximum on floats
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not installed: generated CUDA source checked as text only")
    path = os.path.join(str(tmp_path), "all.cu")
    with open(path, "w") as f:
        f.write(_prelude() + text)
    res = subprocess.run(
        [nvcc, "-ptx", "-arch=compute_80", path, "-o", path + ".ptx"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr


def _prelude() -> str:
    from idrak_cuda._fused import PRELUDE

    return PRELUDE
