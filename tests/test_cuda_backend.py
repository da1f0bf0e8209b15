"""The CUDA backend (idrak_cuda).

CPU part (always runs): registration, lazy CuPy import, clean unavailability, Threefry-2x32-20
known-answer vectors, the CUDA kernel source built and run on the host, and the backend's own
code paths driven through a fake ``cupy`` module that wraps NumPy. GPU part (``gpu`` marker):
skipped with the backend's own reason unless CuPy sees a CUDA device.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idrak
from idrak.contract.ops import Op
from idrak.errors import DeviceError, NotSupportedError
from idrak_cuda import CudaError, CudaOutOfMemoryError
from idrak_cuda._backend import CudaBackend
from idrak_cuda._errors import translate
from idrak_cuda._threefry import KERNEL_NAME, KERNEL_SOURCE, threefry2x32, threefry2x32_block
from idrak_numpy import NumpyBackend

# Random123 kat_vectors, threefry2x32_20: (counter, key) -> output
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


def _py(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


# -- registration and laziness -----------------------------------------------------------------
def test_import_does_not_import_cupy() -> None:
    r = _py(
        "import sys, idrak; assert 'idrak_cuda' not in sys.modules\n"
        "import idrak_cuda, idrak_cuda._backend\n"
        "from idrak.runtime.plugins import backend_entries\n"
        "assert 'cuda' in backend_entries(); idrak_cuda._factory()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cupy', 'cupyx')))"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_registered_through_entry_point() -> None:
    from idrak.runtime.plugins import backend_entries

    e = backend_entries()["cuda"]
    assert (e.plugin, e.distribution) == ("cuda", "idrak")
    assert isinstance(e.factory(), CudaBackend)


def test_cli_lists_cuda_and_numpy_still_works() -> None:
    r = _py("import idrak.cli; idrak.cli.main(['backends', '--json'])")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)["backends"]}
    assert rows["numpy"]["available"]
    ok, reason = CudaBackend().is_available()
    assert rows["cuda"]["available"] is ok
    if not ok:
        assert reason in rows["cuda"]["reason"]
        assert reason.startswith(("cupy is not installed", "cupy failed", "no CUDA device"))
    r = _py("import idrak; print(idrak.device('cpu'))")
    assert r.returncode == 0 and r.stdout.strip() == "numpy:0", r.stderr


# -- a fake cupy over NumPy, to drive the backend's own code on the host -----------------------
class FakeCUDARuntimeError(RuntimeError):
    pass


class FakeOutOfMemoryError(MemoryError):
    def __init__(self, size: int) -> None:
        self._size = size
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: 0 bytes).")


FakeCUDARuntimeError.__module__ = "cupy_backends.cuda.api.runtime"
FakeOutOfMemoryError.__module__ = "cupy.cuda.memory"


def fake_cupy(count: int | Exception = 2, **extra: object) -> types.ModuleType:
    """A module with NumPy's functions plus the few ``cupy.cuda`` names the backend uses."""
    m = types.ModuleType("cupy")
    m.__dict__["__getattr__"] = lambda name: getattr(np, name)
    entered: list[int] = []

    class Device:
        def __init__(self, i: int) -> None:
            self.id = i

        def __enter__(self) -> Device:
            entered.append(self.id)
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def synchronize(self) -> None:
            return None

    def get_count() -> int:
        if isinstance(count, Exception):
            raise count
        return count

    runtime = types.SimpleNamespace(
        CUDARuntimeError=FakeCUDARuntimeError,
        getDeviceCount=get_count,
        memGetInfo=lambda: (300, 1000),
    )
    pool = types.SimpleNamespace(used_bytes=lambda: 64, total_bytes=lambda: 128)
    m.__dict__.update(
        cuda=types.SimpleNamespace(runtime=runtime, Device=Device),
        entered=entered,
        get_default_memory_pool=lambda: pool,
        asarray=lambda a: np.array(a, copy=True),
        **extra,
    )
    return m


def backend_over(cp: types.ModuleType) -> CudaBackend:
    b = CudaBackend()
    b.__dict__["xp"] = cp  # what the cached property would hold after `import cupy`
    return b


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> CudaBackend:
    monkeypatch.setitem(sys.modules, "cupyx", types.SimpleNamespace(scatter_add=np.add.at))
    return backend_over(fake_cupy())


# -- availability -------------------------------------------------------------------------------
def test_unavailable_without_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ModuleNotFoundError
    b = CudaBackend()
    ok, reason = b.is_available()
    assert not ok
    assert reason.startswith("cupy is not installed: pip install 'idrak[cuda12]'")
    assert "idrak[cuda13]" in reason
    caps = b.capabilities()
    assert caps.device_count == 0 and idrak.bfloat16 not in caps.dtypes


@pytest.mark.parametrize(
    "count, expect",
    [
        (
            FakeCUDARuntimeError(
                "cudaErrorInsufficientDriver: CUDA driver version is insufficient"
            ),
            "no CUDA device: cudaErrorInsufficientDriver: CUDA driver version is insufficient",
        ),
        (0, "no CUDA device: cupy.cuda.runtime.getDeviceCount() returned 0"),
    ],
)
def test_unavailable_without_device(count: int | Exception, expect: str) -> None:
    b = backend_over(fake_cupy(count))
    assert b.is_available() == (False, expect)
    assert b.capabilities().device_count == 0


def test_capabilities_when_available() -> None:
    caps = backend_over(fake_cupy(3)).capabilities()
    assert caps.device_count == 3
    assert Op.RANDOM_BITS in caps.optional_ops and Op.MATMUL in caps.optional_ops
    assert caps.supports(Op.RANDOM_BITS, idrak.int64)
    assert idrak.float16 in caps.dtypes and idrak.bfloat16 not in caps.dtypes
    bf = backend_over(fake_cupy(1, bfloat16=np.dtype("float32"))).capabilities()
    assert idrak.bfloat16 in bf.dtypes and bf.supports(Op.EXP, idrak.bfloat16)


# -- Threefry-2x32-20 ------------------------------------------------------------------------
@pytest.mark.parametrize("ctr, key, expect", KAT)
def test_threefry_known_answers(
    ctr: tuple[int, int], key: tuple[int, int], expect: tuple[int, int]
) -> None:
    y0, y1 = threefry2x32_block(np.array([ctr[0]]), np.array([ctr[1]]), *key)
    assert (int(y0[0]), int(y1[0])) == expect


def test_threefry_counter_mapping() -> None:
    c0 = 2**32 - 2  # blocks cross into the high counter word
    got = threefry2x32(7, 5, 9, c0)
    assert got.dtype == np.int64 and got.shape == (7,)
    for i in range(4):
        c = c0 + i
        y0, y1 = threefry2x32_block(np.array([c % 2**32]), np.array([c >> 32]), 5, 9)
        assert got[2 * i] == y0[0] and (2 * i + 1 >= 7 or got[2 * i + 1] == y1[0])
    assert threefry2x32(0, 1, 2, 3).shape == (0,)
    wrap = threefry2x32(4, 1, 2, 2**64 - 1)  # the counter wraps modulo 2**64
    assert np.array_equal(wrap[2:], threefry2x32(2, 1, 2, 0))
    with pytest.raises(ValueError, match="key0"):
        threefry2x32(2, 2**32, 0, 0)


def test_threefry_matches_frontend_reference() -> None:
    rnd = pytest.importorskip("idrak.core.random")
    ref = getattr(rnd, "threefry2x32", None)
    if ref is None:
        pytest.skip("idrak.core.random.threefry2x32 is not written yet")
    for args in [(1, 0, 0, 0), (9, 7, 11, 2**32 - 3), (1000, 0xDEADBEEF, 42, 12345)]:
        assert np.array_equal(np.asarray(ref(*args)), threefry2x32(*args)), args


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """KERNEL_SOURCE built with the host C++ compiler, CUDA qualifiers defined away."""
    cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no host C++ compiler to build the kernel source")
    d = tmp_path_factory.mktemp("threefry")
    (d / "k.cpp").write_text(
        "#define __global__\n#define __device__\n#define __forceinline__ inline\n"
        "struct dim3_ { unsigned int x, y, z; };\nstatic dim3_ blockIdx, blockDim, threadIdx;\n"
        + KERNEL_SOURCE
        + 'extern "C" void launch(unsigned g, unsigned b, long long* out, unsigned long long n,\n'
        "    unsigned k0, unsigned k1, unsigned long long c0) {\n  blockDim.x = b;\n"
        "  for (unsigned i = 0; i < g; ++i) for (unsigned t = 0; t < b; ++t) {\n"
        f"    blockIdx.x = i; threadIdx.x = t; {KERNEL_NAME}(out, n, k0, k1, c0); }}\n}}\n"
    )
    subprocess.run(
        [cxx, "-O1", "-shared", "-fPIC", "-o", str(d / "k.so"), str(d / "k.cpp")],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(d / "k.so"))
    lib.launch.argtypes = [
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_ulonglong,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_ulonglong,
    ]
    return lib


class HostRawKernel:
    """Stands in for cupy.RawKernel: runs the real source (host build) on the given grid."""

    lib: ctypes.CDLL

    def __init__(self, code: str, name: str) -> None:
        assert (code, name) == (KERNEL_SOURCE, KERNEL_NAME)

    def __call__(self, grid: tuple[int], block: tuple[int], args: tuple[object, ...]) -> None:
        out, n, k0, k1, c0 = args
        assert [type(a) for a in args[1:]] == [np.uint64, np.uint32, np.uint32, np.uint64]
        assert isinstance(out, np.ndarray) and out.dtype == np.int64
        self.lib.launch(grid[0], block[0], out.ctypes.data, n, k0, k1, c0)


@pytest.mark.parametrize(
    "n, key, c0",
    [
        (0, (1, 2), 0),
        (1, (0, 0), 0),
        (2, (0, 0), 0),
        (513, (0xDEADBEEF, 7), 2**32 - 100),
        (6, (3, 4), 2**64 - 2),
        (5000, (2**32 - 1, 1), 99),
    ],
)
def test_kernel_source_is_bit_identical(
    host_kernel: ctypes.CDLL, n: int, key: tuple[int, int], c0: int
) -> None:
    HostRawKernel.lib = host_kernel
    b = backend_over(fake_cupy(1, RawKernel=HostRawKernel))
    out = b.run(Op.RANDOM_BITS, (), (n, *key, c0), idrak.int64, 0)
    assert out.dtype == np.int64 and np.array_equal(out, threefry2x32(n, *key, c0))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
def test_kernel_source_compiles_with_nvcc(tmp_path: Path) -> None:
    src = tmp_path / "k.cu"
    src.write_text(KERNEL_SOURCE)
    r = subprocess.run(
        ["nvcc", "-c", "-o", str(src.with_suffix(".o")), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr


# -- the backend's own code paths, over the fake cupy -------------------------------------------
@pytest.mark.parametrize(
    "dtype", ["int8", "int16", "uint8", "int32", "int64", "float16", "float32", "float64"]
)
def test_scatter_add_matches_numpy(fake: CudaBackend, dtype: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(-100, 100, (4, 5)).astype(dtype)
    src = rng.integers(-100, 100, (3, 6)).astype(dtype)
    index = rng.integers(0, 4, (3, 5))  # duplicates along dim 0
    for dim, idx in [(0, index), (1, index % 5)]:
        got = fake.scatter_add(x, idx, src, dim)
        want = NumpyBackend().scatter_add(x, idx, src, dim)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(
            got.astype("float64"), want.astype("float64"), rtol=1e-3 if dtype == "float16" else 0
        )
    assert np.array_equal(fake.scatter_add(x, index[:0], src, 0), x)


@pytest.mark.parametrize(
    "arg",
    [
        ((1, 1), (0, 0), (1, 1), 1),
        ((2, 1), (1, 2), (1, 1), 1),
        ((1, 2), (2, 0), (2, 3), 2),
        ((3, 3), (0, 1), (1, 2), 6),
    ],
)
def test_conv2d_im2col_matches_numpy(fake: CudaBackend, arg: tuple[Any, ...]) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 9, 8))
    w = rng.standard_normal((6, 6 // arg[3], 3, 2))
    got = fake.run(Op.CONV2D, (x, w), arg, idrak.float64, 1)
    np.testing.assert_allclose(got, NumpyBackend().conv2d(x, w, *arg), rtol=1e-12, atol=1e-12)


def test_overrides_and_dispatch(fake: CudaBackend) -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    assert np.array_equal(fake.flip(x, (0, -1)), np.flip(x, (0, 2)))
    assert np.array_equal(fake.flip(np.array(3.0), ()), np.array(3.0))
    assert np.array_equal(fake.run(Op.SUM, (x,), (), idrak.float64, 0), x)
    assert np.array_equal(
        fake.run(Op.REDUCE_MAX, (x,), (1,), idrak.float64, 0), x.max(1, keepdims=True)
    )
    full = fake.run(Op.FULL, (), ((2, 2), 7, idrak.int8), idrak.int8, 1)
    assert full.dtype == np.int8 and (full == 7).all()
    assert fake.xp.entered[-1] == 1  # the op ran inside cupy.cuda.Device(1)
    with pytest.raises(NotSupportedError):
        fake.run(Op.MATMUL, (x, x), None, idrak.int32, 0)
    assert np.array_equal(fake.from_numpy(x, 1), x) and fake.xp.entered[-1] == 1
    assert fake.memory_stats(0) == {
        "used_bytes": 700,
        "total_bytes": 1000,
        "free_bytes": 300,
        "pool_used_bytes": 64,
        "pool_total_bytes": 128,
    }


def test_cuda_errors_become_device_errors(fake: CudaBackend) -> None:
    def oom(*a: object, **k: object) -> None:
        raise FakeOutOfMemoryError(4 * 2**40)

    fake.xp.__dict__["full"] = oom
    with pytest.raises(
        CudaOutOfMemoryError,
        match=r"cuda:1 during FULL: requested "
        r"4,398,046,511,104 bytes",
    ) as ei:
        fake.run(Op.FULL, (), ((2**40,), 0.0, idrak.float32), idrak.float32, 1)
    assert isinstance(ei.value, DeviceError) and ei.value.requested_bytes == 4 * 2**40
    fake.xp.__dict__["asarray"] = lambda a: (_ for _ in ()).throw(
        FakeCUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    )
    with pytest.raises(CudaError, match=r"cuda:5 during from_numpy: .*invalid device ordinal"):
        fake.from_numpy(np.zeros(3), 5)
    assert translate(ValueError("bad shape"), "cuda:0", "ADD") is None
    assert translate(MemoryError("host"), "cuda:0", "ADD") is None  # a host OOM is not CUDA's
    e = translate(
        FakeCUDARuntimeError("cudaErrorMemoryAllocation: out of memory"),
        "cuda:0",
        "from_numpy",
        800,
    )
    assert isinstance(e, CudaOutOfMemoryError) and e.requested_bytes == 800


# -- on a GPU -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gpu() -> CudaBackend:
    from idrak.runtime.plugins import get_backend

    ok, reason = CudaBackend().is_available()
    if not ok:
        pytest.skip(f"needs a CUDA device: {reason}")
    b = get_backend("cuda")
    assert isinstance(b, CudaBackend)
    return b


ALL = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ALL)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (4, 5)])
def test_gpu_round_trip(gpu: CudaBackend, dtype: str, shape: tuple[int, ...]) -> None:
    a = (np.arange(int(np.prod(shape))) % 7).reshape(shape).astype(dtype)
    buf = gpu.from_numpy(a, 0)
    assert type(buf).__module__.startswith("cupy")
    back = gpu.to_numpy(buf)
    assert back.dtype == a.dtype and back.shape == a.shape and np.array_equal(back, a)


@pytest.mark.gpu
@pytest.mark.parametrize(
    "op, arg, dtype, srcs",
    [
        (Op.EXP, None, "float32", 1),
        (Op.TANH, None, "float16", 1),
        (Op.LOG2, None, "float64", 1),
        (Op.DIV, None, "int32", 2),
        (Op.DIV, None, "float32", 2),
        (Op.MAX, None, "float64", 2),
        (Op.POW, None, "float32", 2),
        (Op.SUB, None, "int8", 2),
        (Op.SUM, (0, 2), "float16", 1),
        (Op.SUM, (1,), "int64", 1),
        (Op.REDUCE_MAX, (0,), "float32", 1),
        (Op.FLIP, (1,), "int16", 1),
        (Op.PAD, (((1, 0), (0, 2), (1, 1)), 5), "float32", 1),
        (Op.MATMUL, None, "float32", 0),
        (Op.GATHER, 1, "float32", 0),
        (Op.SCATTER_ADD, 0, "int64", 0),
        (Op.SCATTER_ADD, 1, "float16", 0),
        (Op.CONV2D, ((1, 2), (1, 1), (2, 1), 2), "float32", 0),
    ],
)
def test_gpu_ops_match_numpy(gpu: CudaBackend, op: Op, arg: object, dtype: str, srcs: int) -> None:
    rng = np.random.default_rng(2)
    x = (
        rng.uniform(0.5, 4, (4, 3, 5)).astype(dtype)
        if dtype[0] == "f"
        else rng.integers(-50, 50, (4, 3, 5)).astype(dtype)
    )
    y = (
        x[::-1].copy()
        if dtype[0] == "f"
        else (rng.integers(1, 9, x.shape) * rng.choice([-1, 1], x.shape)).astype(dtype)
    )
    ins: tuple[np.ndarray, ...] = (x, y)[:srcs]
    if op is Op.MATMUL:
        ins = (x, rng.standard_normal((4, 5, 2)).astype(dtype))
    elif op is Op.GATHER:
        ins = (x, rng.integers(0, 3, (4, 6, 5)))
    elif op is Op.SCATTER_ADD:  # index longer than x along dim, so indices repeat
        dim = 0 if arg == 0 else 1
        shape = (6, 3, 5) if dim == 0 else (4, 6, 5)
        idx = rng.integers(0, x.shape[dim], shape)
        ins = (x, idx, rng.uniform(-2, 2, shape).astype(dtype))
    elif op is Op.CONV2D:
        ins = (
            rng.standard_normal((2, 4, 9, 7)).astype(dtype),
            rng.standard_normal((6, 2, 3, 2)).astype(dtype),
        )
    want = NumpyBackend().run(op, ins, arg, idrak.contract.dtypes.to_dtype(dtype), 0)
    bufs = tuple(gpu.from_numpy(a, 0) for a in ins)
    got = gpu.to_numpy(gpu.run(op, bufs, arg, idrak.contract.dtypes.to_dtype(dtype), 0))
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = {"float16": 4e-3, "float32": 1e-5}.get(dtype, 1e-12 if dtype[0] == "f" else 0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.gpu
@pytest.mark.parametrize(
    "n, c0", [(0, 0), (1, 0), (7, 2**32 - 2), (1 << 20, 12345), (10, 2**64 - 3)]
)
def test_gpu_random_bits_bit_identical(gpu: CudaBackend, n: int, c0: int) -> None:
    out = gpu.run(Op.RANDOM_BITS, (), (n, 0xDEADBEEF, 42, c0), idrak.int64, 0)
    assert np.array_equal(gpu.to_numpy(out), threefry2x32(n, 0xDEADBEEF, 42, c0))


@pytest.mark.gpu
def test_gpu_frontend_matches_cpu(gpu: CudaBackend) -> None:
    idrak.manual_seed(7)
    a = idrak.rand(64, 33, device="cuda")
    idrak.manual_seed(7)
    b = idrak.rand(64, 33, device="cpu")
    assert np.array_equal(a.numpy(), b.numpy())  # one seed, the same numbers on both
    w = idrak.randn(33, 5)
    np.testing.assert_allclose((a @ w.to("cuda")).numpy(), (b @ w).numpy(), rtol=1e-5)


@pytest.mark.gpu
def test_gpu_runtime(gpu: CudaBackend) -> None:
    import cupy

    n = cupy.cuda.runtime.getDeviceCount()
    assert gpu.capabilities().device_count == n
    assert isinstance(gpu.device_context(0), cupy.cuda.Device)
    gpu.synchronize(0)
    st = gpu.memory_stats(0)
    assert st["used_bytes"] + st["free_bytes"] == st["total_bytes"] > 0
    assert 0 <= st["pool_used_bytes"] <= st["pool_total_bytes"]
    with pytest.raises(CudaOutOfMemoryError, match="cuda:0 during FULL") as ei:
        gpu.run(Op.FULL, (), ((2**50,), 0.0, idrak.float32), idrak.float32, 0)
    assert ei.value.requested_bytes is not None and ei.value.requested_bytes >= 2**52
    with pytest.raises(CudaError, match=f"cuda:{n} during from_numpy"):
        gpu.from_numpy(np.zeros(3), n)
    assert str(idrak.device("cuda")) == "cuda:0"
