"""The numba FUSED engine (idrak_numpy._fused_numba): values against the NumPy interpreter over
random kernels (bit-identical without transcendental ops; a few ulp with them), NaN/inf/-0.0 and
integer edge cases, broadcast layouts, the disk cache, the engine switch, the fallback on a
failing compile, the thread policy, and the pool of large outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak import fusion
from idrak.contract import dtypes as D
from idrak.contract.fused import FusedKernel, FusedOp, InputSpec, kernel_cache
from idrak.contract.ops import Op

numba = pytest.importorskip("numba")

import idrak_numpy._fused as nf  # noqa: E402
from idrak_numpy import _fused_numba, _outpool  # noqa: E402

BE = idrak.runtime.plugins.get_backend("numpy")
FLOATS = ("float32", "float64")
INTS = ("int8", "uint8", "int16", "int32", "int64")
TRANSCENDENTAL = (Op.EXP, Op.LOG, Op.SIN, Op.TANH, Op.EXP2, Op.LOG2, Op.POW)


@pytest.fixture(autouse=True)
def _fuse_small() -> Iterator[None]:
    prev = fusion.set_enabled(True)
    with fusion.any_size():
        yield
    fusion.set_enabled(prev)


def run(kernel: FusedKernel, xs: list[np.ndarray], engine: str) -> np.ndarray:
    """The kernel's result on one engine (copied: outputs may be pooled or reused)."""
    prev = nf.ENGINE
    nf.ENGINE = engine
    try:
        return np.array(BE.fused(*[x.copy() for x in xs], kernel), copy=True)
    finally:
        nf.ENGINE = prev


def ran_on_numba(kernel: FusedKernel) -> bool:
    plan = kernel_cache("numpy")._data.get(kernel)
    return plan is not None and isinstance(plan.numba, _fused_numba.NumbaKernel)


def assert_same(a: np.ndarray, b: np.ndarray, ties_any_sign: bool = False) -> None:
    """Bit-identical values (any NaN payload; -0.0 vs 0.0 only when ``ties_any_sign``)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind != "f":
        np.testing.assert_array_equal(a, b)
        return
    nan = np.isnan(a)
    np.testing.assert_array_equal(nan, np.isnan(b))
    np.testing.assert_array_equal(a[~nan], b[~nan])
    if not ties_any_sign:
        np.testing.assert_array_equal(np.signbit(a[~nan]), np.signbit(b[~nan]))


# ---------------------------------------------------------------------------------------------
# data and random kernels


def values(shape: tuple[int, ...], dt: str, rng: np.random.Generator) -> np.ndarray:
    """Random values of ``dt`` with the dtype's edge cases mixed in."""
    n = int(np.prod(shape, dtype=np.int64))
    if dt == "bool":
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if dt in FLOATS:
        special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0, 1e-40, 3e38], dt)
        v = (rng.standard_normal(n) * 10).astype(dt)
    else:
        info = np.iinfo(dt)
        special = np.array([info.min, info.max, 0, 1, -1 if info.min < 0 else 2, 7], dt)
        v = rng.integers(info.min, int(info.max) + 1, n, dtype=dt)
    pick = rng.random(n) < 0.3
    v[pick] = special[rng.integers(0, len(special), int(pick.sum()))]
    return v.reshape(shape)


SHAPES = [(37,), (4, 37), (3, 1, 5), (2, 3, 4), (5, 1), ()]
BINARY = (Op.ADD, Op.MUL, Op.SUB, Op.DIV, Op.MAX, Op.CMPLT, Op.CMPEQ, Op.POW)
UNARY = (Op.NEG, Op.RECIPROCAL, Op.SQRT, Op.EXP, Op.LOG, Op.SIN, Op.TANH, Op.EXP2, Op.LOG2)


def _ok(op: Op, dt: str) -> bool:
    return D.to_dtype(dt) in op.spec.dtypes


def random_kernel(
    rng: np.random.Generator, transcendental: bool
) -> tuple[FusedKernel, list[np.ndarray]]:
    """A well-typed random kernel and input data (broadcast inputs, constants, casts)."""
    shape = SHAPES[rng.integers(len(SHAPES))]
    fam = rng.choice(["float", "int", "bool"], p=[0.55, 0.35, 0.1])
    pool_dts = FLOATS if fam == "float" else INTS if fam == "int" else ("bool",)
    inputs: list[InputSpec] = []
    data: list[np.ndarray] = []
    dts: list[str] = []
    for _ in range(int(rng.integers(1, 4))):
        dt = str(rng.choice(pool_dts))
        ishape = tuple(s if rng.random() < 0.7 else 1 for s in shape)
        inputs.append(InputSpec(ishape, D.to_dtype(dt)))
        data.append(values(ishape, dt, rng))
        dts.append(dt)
    ops: list[FusedOp] = []
    consts: list[float | int | bool] = []

    def emit(op: Op, srcs: tuple[int, ...], arg: object, dt: str) -> int:
        ops.append(FusedOp(op, srcs, arg, D.to_dtype(dt)))
        dts.append(dt)
        return len(dts) - 1

    def operand(dt: str) -> int:
        same = [v for v, d in enumerate(dts) if d == dt]
        if same and rng.random() < 0.7:
            return int(rng.choice(same))
        if dt == "bool":
            c: float | int | bool = bool(rng.integers(0, 2))
        elif dt in FLOATS:
            c = float(rng.choice([0.5, -1.5, 3.0, 1e-3, -0.0, float("inf")]))
        else:
            c = int(rng.choice([0, 1, -1 if dt != "uint8" else 3, 2, 5]))
        consts.append(c)
        return emit(Op.FULL, (), len(consts) - 1, dt)

    for _ in range(int(rng.integers(2, 9))):
        # mostly extend the chain, so the output depends on most ops
        v = len(dts) - 1 if rng.random() < 0.65 else int(rng.integers(len(dts)))
        dt = dts[v]
        r = rng.random()
        if r < 0.15:  # a cast (float -> integer only in the dedicated test: ranges matter)
            targets = [t for t in ("bool", *FLOATS, *INTS) if not (dt in FLOATS and t in INTS)]
            t = str(rng.choice(targets))
            emit(Op.CAST, (v,), D.to_dtype(t), t)
        elif r < 0.25 and dt != "bool":
            w = operand(dt)
            c = emit(Op.CMPLT if rng.random() < 0.5 else Op.CMPEQ, (v, w), None, "bool")
            emit(Op.WHERE, (c, v, operand(dt)), None, dt)
        elif r < 0.5:
            ops_ok = [
                o for o in UNARY if _ok(o, dt) and (transcendental or o not in TRANSCENDENTAL)
            ]
            if ops_ok:
                emit(ops_ok[int(rng.integers(len(ops_ok)))], (v,), None, dt)
        else:
            ops_ok = [
                o for o in BINARY if _ok(o, dt) and (transcendental or o not in TRANSCENDENTAL)
            ]
            o = ops_ok[int(rng.integers(len(ops_ok)))]
            out_dt = "bool" if o in (Op.CMPLT, Op.CMPEQ) else dt
            emit(o, (v, operand(dt)), None, out_dt)
    if not ops or ops[-1].op is Op.FULL:  # (bool inputs have no unary op)
        emit(Op.CAST, (0,), D.to_dtype("float32"), "float32")
    k = FusedKernel(shape, tuple(inputs), tuple(ops), consts=tuple(consts))
    return k, data


@pytest.mark.parametrize("seed", range(24))
def test_random_kernels_bit_identical(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kernel, data = random_kernel(rng, transcendental=False)
    want, got = run(kernel, data, "interp"), run(kernel, data, "numba")
    assert ran_on_numba(kernel), kernel.describe()
    assert_same(got, want, ties_any_sign=any(o.op is Op.MAX for o in kernel.ops))
    for _ in range(2):  # new data, same compiled loop
        data = [values(x.shape, x.dtype.name, rng) for x in data]
        assert_same(run(kernel, data, "numba"), run(kernel, data, "interp"), True)


@pytest.mark.parametrize("seed", range(100, 112))
def test_random_kernels_with_transcendental_ops_close(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kernel, data = random_kernel(rng, transcendental=True)
    want, got = run(kernel, data, "interp"), run(kernel, data, "numba")
    assert ran_on_numba(kernel), kernel.describe()
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        tol = 1e-5 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:  # a comparison or cast after a transcendental op may flip on a last-ulp difference
        assert np.mean(got != want) < 0.05


def _unary(op: Op, dt: str, n: int = 1) -> FusedKernel:
    return FusedKernel(
        (n,), (InputSpec((n,), D.to_dtype(dt)),), (FusedOp(op, (0,), None, D.to_dtype(dt)),)
    )


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("op", [*UNARY])
def test_unary_float_ops_within_few_ulp(op: Op, dt: str) -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, 88.0, -100.0], dt),
            (rng.standard_normal(500) * 5).astype(dt),
        ]
    )
    k = _unary(op, dt, len(x))
    want, got = run(k, [x], "interp"), run(k, [x], "numba")
    assert ran_on_numba(k)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    if op in (Op.NEG, Op.RECIPROCAL, Op.SQRT):
        assert_same(got, want)
    else:
        np.testing.assert_array_max_ulp(got[ok], want[ok], maxulp=4)


@pytest.mark.parametrize("dt", FLOATS)
def test_pow_within_few_ulp(dt: str) -> None:
    a = np.array([2.0, -2.0, 0.0, -0.0, np.nan, np.inf, 0.5, -1.0, 1.0, 10.0] * 10, dt)
    b = np.array([0.5, 3.0, -1.0, 0.0, 0.0, -2.0, np.nan, np.inf, np.nan, 30.0] * 10, dt)
    k = FusedKernel(
        (100,),
        (InputSpec((100,), D.to_dtype(dt)),) * 2,
        (FusedOp(Op.POW, (0, 1), None, D.to_dtype(dt)),),
    )
    want, got = run(k, [a, b], "interp"), run(k, [a, b], "numba")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_max_ulp(got[ok], want[ok], maxulp=4)


@pytest.mark.parametrize("dt", INTS)
def test_integer_division_and_wrapping_edges(dt: str) -> None:
    info = np.iinfo(dt)
    edge = [info.min, info.max, 0, 1, 7, -7 if info.min < 0 else 250, -1 if info.min < 0 else 3]
    a = np.repeat(np.array(edge, dt), len(edge))
    b = np.tile(np.array(edge, dt), len(edge))
    n, t = len(a), D.to_dtype(dt)
    for op in (Op.DIV, Op.ADD, Op.MUL, Op.SUB, Op.MAX, Op.CMPLT, Op.CMPEQ):
        out_t = D.to_dtype("bool") if op in (Op.CMPLT, Op.CMPEQ) else t
        k = FusedKernel((n,), (InputSpec((n,), t),) * 2, (FusedOp(op, (0, 1), None, out_t),))
        with np.errstate(all="ignore"):
            assert_same(run(k, [a, b], "numba"), run(k, [a, b], "interp"))
        assert ran_on_numba(k)
    k = _unary(Op.NEG, dt, n)
    assert_same(run(k, [a], "numba"), run(k, [a], "interp"))


@pytest.mark.parametrize("src", FLOATS)
@pytest.mark.parametrize("dst", ("bool", *INTS, *FLOATS))
def test_casts_as_astype(src: str, dst: str) -> None:
    rng = np.random.default_rng(2)
    lo, hi = (0, 255) if dst == "uint8" else (-100, 100)
    x = np.concatenate(
        [rng.uniform(lo, hi, 200).astype(src), np.array([0.0, -0.0, 0.999, -0.999], src)]
    )
    if dst == "uint8":
        x = np.abs(x)
    if dst in FLOATS or dst == "bool":
        x = np.concatenate([x, np.array([np.nan, np.inf, -np.inf, 1e-45], src)])
    n = len(x)
    k = FusedKernel(
        (n,),
        (InputSpec((n,), D.to_dtype(src)),),
        (FusedOp(Op.CAST, (0,), D.to_dtype(dst), D.to_dtype(dst)),),
    )
    assert_same(run(k, [x], "numba"), run(k, [x], "interp"))
    assert ran_on_numba(k)


def test_float32_constants_stay_float32() -> None:
    """x * 0.1 with 0.1 as float32 (the float64 product, rounded, would differ in places)."""
    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32)
    k = FusedKernel(
        (1000,),
        (InputSpec((1000,), D.float32),),
        (FusedOp(Op.FULL, (), 0, D.float32), FusedOp(Op.DIV, (0, 1), None, D.float32)),
        consts=(0.1,),
    )
    got = run(k, [x], "numba")
    assert_same(got, x / np.float32(0.1))
    assert not np.array_equal(got, (x.astype(np.float64) / 0.1).astype(np.float32))


@pytest.mark.parametrize("dt", FLOATS)
def test_multiply_add_is_not_contracted_to_fma(dt: str) -> None:
    """x * y + z rounds twice, as NumPy does (a fused multiply-add would round once)."""
    rng = np.random.default_rng(7)
    x, y, z = (rng.standard_normal(4096).astype(dt) for _ in range(3))
    t = D.to_dtype(dt)
    k = FusedKernel(
        (4096,),
        (InputSpec((4096,), t),) * 3,
        (FusedOp(Op.MUL, (0, 1), None, t), FusedOp(Op.ADD, (3, 2), None, t)),
    )
    got = run(k, [x, y, z], "numba")
    assert_same(got, x * y + z)
    wide = np.float64 if dt == "float32" else np.longdouble
    once = (x.astype(wide) * y + z).astype(dt)  # (nearly) one rounding, like an FMA
    assert not np.array_equal(once, got)


def test_without_numba_the_interpreter_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nf, "numba_available", lambda: False)
    k = _unary(Op.SQRT, "float64", 300)
    x = np.linspace(0, 5, 300)
    assert_same(run(k, [x], "numba"), np.sqrt(x))
    assert kernel_cache("numpy")._data[k].numba is None  # never tried


# ---------------------------------------------------------------------------------------------
# broadcasting through the Tensor API


@pytest.mark.parametrize(
    "shapes",
    [((6, 37), (37,)), ((6, 37), (6, 1)), ((6, 37), ()), ((2, 3, 5), (3, 1)), ((4, 1, 5), (3, 1))],
)
def test_broadcast_inputs_read_in_place(shapes: tuple[tuple[int, ...], ...]) -> None:
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    def prog(x: idrak.Tensor, b: idrak.Tensor) -> idrak.Tensor:
        return ((x + b).relu() * 3.0 - b * b).exp()

    outs = []
    for engine in ("interp", "numba"):
        nf_engine, nf.ENGINE = nf.ENGINE, engine
        try:
            outs.append(prog(*[idrak.tensor(x) for x in xs]).numpy())
        finally:
            nf.ENGINE = nf_engine
    want = np.exp(np.maximum(xs[0] + xs[1], 0) * np.float32(3) - xs[1] * xs[1])
    np.testing.assert_allclose(outs[1], want, rtol=1e-6)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6)


def test_layout_merges_dims() -> None:
    f = D.float32
    k = FusedKernel(
        (2, 3, 4, 5),
        (InputSpec((2, 3, 4, 5), f), InputSpec((1, 1, 4, 5), f), InputSpec((1, 1, 1, 1), f)),
        (FusedOp(Op.ADD, (0, 1), None, f), FusedOp(Op.MUL, (3, 2), None, f)),
    )
    dims, pats = _fused_numba._layout(k)
    assert dims == (6, 20)
    assert pats == [(True, True), (False, True), (False, False)]


def test_trailing_reduction_uses_numba_elementwise_part() -> None:
    x = np.random.default_rng(5).standard_normal((8, 33)).astype(np.float64)
    k = FusedKernel(
        (8, 33),
        (InputSpec((8, 33), D.float64),),
        (FusedOp(Op.MUL, (0, 0), None, D.float64),),
        reduce=(Op.SUM, (1,)),
    )
    np.testing.assert_allclose(run(k, [x], "numba"), (x * x).sum(1, keepdims=True), rtol=1e-14)
    assert ran_on_numba(k)


def test_declines_float16_and_too_many_args() -> None:
    assert _fused_numba.compile_numba(_unary(Op.EXP, "float16")) is None
    n = _fused_numba.MAX_ARGS + 1
    f = D.float32
    ops = [FusedOp(Op.ADD, (0, 1), None, f)]
    ops += [FusedOp(Op.ADD, (n + j, j + 2), None, f) for j in range(n - 2)]
    k = FusedKernel((3,), (InputSpec((3,), f),) * n, tuple(ops))
    assert _fused_numba.compile_numba(k) is None
    x = [np.ones(3, np.float16)]
    assert_same(run(_unary(Op.EXP, "float16", 1), [x[0][:1]], "numba"), np.exp(x[0][:1]))


# ---------------------------------------------------------------------------------------------
# engine switch, fallback, threads, disk cache


def test_engine_env_var_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDRAK_FUSED_ENGINE", "fast")
    with pytest.raises(ValueError, match="IDRAK_FUSED_ENGINE='fast'"):
        nf._engine_from_env()
    monkeypatch.setenv("IDRAK_FUSED_ENGINE", "Numba")
    assert nf._engine_from_env() == "numba"


def test_auto_uses_numba_from_the_size_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nf, "NUMBA_MIN_SIZE", 100)
    small, big = _unary(Op.SQRT, "float64", 99), _unary(Op.SQRT, "float64", 100)
    for k in (small, big):
        run(k, [np.arange(k.shape[0], dtype=np.float64)], "auto")
    assert not ran_on_numba(small) and ran_on_numba(big)
    interp_only = _unary(Op.SQRT, "float32", 200)
    run(interp_only, [np.ones(200, np.float32)], "interp")
    assert not ran_on_numba(interp_only)


def test_hot_kernels_move_to_numba_from_a_lower_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel under NUMBA_MIN_SIZE runs on the interpreter until it has run NUMBA_HOT_CALLS
    times (a replayed step's kernels), then on numba; one under NUMBA_HOT_MIN_SIZE never."""
    monkeypatch.setattr(nf, "NUMBA_MIN_SIZE", 1000)
    monkeypatch.setattr(nf, "NUMBA_HOT_MIN_SIZE", 100)
    monkeypatch.setattr(nf, "NUMBA_HOT_CALLS", 3)
    hot, tiny = _unary(Op.SQRT, "float32", 500), _unary(Op.SQRT, "float32", 50)
    xs, xt = np.linspace(0, 9, 500, dtype=np.float32), np.linspace(0, 9, 50, dtype=np.float32)
    for _ in range(3):
        assert not ran_on_numba(hot)
        np.testing.assert_array_equal(run(hot, [xs], "auto"), np.sqrt(xs))
        run(tiny, [xt], "auto")
    assert ran_on_numba(hot) and not ran_on_numba(tiny)
    np.testing.assert_array_equal(run(hot, [xs], "auto"), np.sqrt(xs))


def test_failing_compile_falls_back_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(kernel: FusedKernel) -> None:
        raise RuntimeError("no LLVM today")

    monkeypatch.setattr(nf, "compile_numba", broken)
    monkeypatch.setattr(nf, "_numba_warned", False)
    x = np.linspace(0, 4, 50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for op in (Op.SQRT, Op.EXP):
            k = _unary(op, "float64", 50)
            np.testing.assert_array_equal(run(k, [x], "numba"), run(k, [x], "interp"))
    msgs = [str(w.message) for w in caught if "numba" in str(w.message)]
    assert len(msgs) == 1 and "no LLVM today" in msgs[0]


def test_parallel_loop_and_thread_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nf, "NUMBA_PARALLEL_MIN_SIZE", 0)
    monkeypatch.setattr(nf, "_THREADS", 2)
    f = D.float32
    k = FusedKernel(
        (64, 9),
        (InputSpec((64, 9), f), InputSpec((1, 9), f)),
        (FusedOp(Op.SUB, (0, 1), None, f), FusedOp(Op.MUL, (2, 2), None, f)),
    )
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal(s.shape).astype(np.float32) for s in k.inputs]
    assert_same(run(k, xs, "numba"), run(k, xs, "interp"))
    assert numba.get_num_threads() <= 2
    plan = kernel_cache("numpy")._data[k]
    assert plan.numba.parallel.signatures  # the parallel variant ran
    if "NUMBA_THREADING_LAYER" not in os.environ:  # OpenMP's spinning workers are not used
        assert numba.threading_layer() == "workqueue"


def test_parallel_loops_from_two_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba's workqueue layer aborts on concurrent parallel loops: the engine serializes them."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(nf, "NUMBA_PARALLEL_MIN_SIZE", 0)
    monkeypatch.setattr(nf, "_THREADS", 2)
    k = _unary(Op.SQRT, "float64", 4096)
    x = np.linspace(0, 9, 4096)
    want = np.sqrt(x)
    nf.ENGINE, prev = "numba", nf.ENGINE
    try:
        with ThreadPoolExecutor(2) as pool:
            outs = list(pool.map(lambda _: np.array(BE.fused(x, k)), range(16)))
    finally:
        nf.ENGINE = prev
    for o in outs:
        assert_same(o, want)


def test_disk_cache_serves_a_second_process(tmp_path: Path) -> None:
    code = (
        "import numpy as np, idrak, idrak.runtime.plugins as p\n"
        "import idrak_numpy._fused as nf\n"
        "from idrak.contract.fused import FusedKernel, FusedOp, InputSpec, kernel_cache\n"
        "from idrak.contract.ops import Op\n"
        "from idrak.contract import dtypes as D\n"
        "nf.ENGINE = 'numba'\n"
        "k = FusedKernel((5,), (InputSpec((5,), D.float32),),"
        " (FusedOp(Op.TANH, (0,), None, D.float32),))\n"
        "print(p.get_backend('numpy').fused(np.ones(5, np.float32), k)[0])\n"
        "s = kernel_cache('numpy')._data[k].numba.serial.stats\n"
        "print('hits', s.cache_hits.total(), 'misses', s.cache_misses.total())\n"
    )
    env = dict(os.environ, IDRAK_NUMBA_CACHE=str(tmp_path / "nb"))
    outs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert outs[0][0] == outs[1][0] == str(np.tanh(np.float32(1)))
    assert outs[0][1:] == ["hits", "0", "misses", "1"]
    assert outs[1][1:] == ["hits", "1", "misses", "0"]
    sources = list((tmp_path / "nb").glob("k_*.py"))
    assert len(sources) == 1 and "def serial(" in sources[0].read_text()


# ---------------------------------------------------------------------------------------------
# the pool of large outputs


def test_outpool_reuses_only_unreferenced_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_outpool, "MIN_BYTES", 64)
    monkeypatch.setattr(_outpool, "_pool", [])
    a = _outpool.empty((100,), np.float32)
    b = _outpool.empty((100,), np.float32)
    assert a is not b  # a is still referenced
    view = b[10:]
    del b
    c = _outpool.empty((100,), np.float32)
    assert c is not view.base  # a view keeps b alive
    cid = id(c)
    del a, c
    assert id(_outpool.empty((100,), np.float32)) == cid  # c, no longer referenced
    assert _outpool.empty((100,), np.float64).dtype == np.float64  # other dtype: a new one
    assert len(_outpool._pool) <= _outpool.POOL_SIZE
    assert _outpool.empty((3,), np.int8).base is None  # small: plain np.empty, not kept
