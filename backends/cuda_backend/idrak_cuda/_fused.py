"""FUSED kernels on CUDA: CUDA C++ generated from the :class:`idrak.contract.fused.FusedKernel` IR.

* Elementwise kernels become one ``extern "C"`` grid-stride loop (:func:`elementwise_source`):
  each thread loads its element of every input (broadcast inputs through baked-in strides), runs
  the op list on typed registers and stores one output element. Compiled with NVRTC once per
  kernel structure; the PTX is cached on disk under ``~/.cache/idrak/kernels`` (or
  ``$IDRAK_KERNEL_CACHE``) and loaded with ``cupy.RawModule``; if that path fails for any reason
  the same source goes to ``cupy.RawKernel`` (CuPy's own cache).
* Kernels with a trailing SUM / REDUCE_MAX become a ``cupy.ReductionKernel`` whose map step calls
  a generated ``__device__`` function (:func:`reduction_parts`); CuPy caches those on disk.

Constants (FULL values) are kernel parameters, so one compiled kernel serves every value.
float16/bfloat16 are not fused (they run op by op). This module is tested without a GPU by
checking the generated source (and compiling it with ``nvcc`` where one is installed).
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from idrak.contract.fused import FusedKernel, kernel_cache
from idrak.contract.ops import Op

__all__ = ["CTYPES", "CudaFusedEngine", "elementwise_source", "reduction_parts"]

#: idrak dtype name -> CUDA C++ type
CTYPES = {
    "bool": "bool",
    "uint8": "unsigned char",
    "int8": "signed char",
    "int16": "short",
    "int32": "int",
    "int64": "long long",
    "float32": "float",
    "float64": "double",
}
_MATH = {
    Op.EXP: "exp",
    Op.LOG: "log",
    Op.SIN: "sin",
    Op.SQRT: "sqrt",
    Op.TANH: "tanh",
    Op.EXP2: "exp2",
    Op.LOG2: "log2",
}
_INFIX = {Op.SUB: "-", Op.CMPLT: "<", Op.CMPEQ: "=="}
_MAX_IDENTITY = {
    "float32": "__int_as_float(0xff800000)",
    "float64": "__longlong_as_double(0xfff0000000000000ULL)",
    "int8": "-128",
    "int16": "-32768",
    "int32": "(-2147483647 - 1)",
    "int64": "(-9223372036854775807LL - 1)",
    "uint8": "0",
    "bool": "false",
}
PRELUDE = """template <typename T> __device__ __forceinline__ T idrak_floordiv(T a, T b) {
    T q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}
"""
_THREADS = 256


def _body(kernel: FusedKernel) -> tuple[list[str], str]:
    """C++ statements computing every op from variables ``v<input index>``; and the result."""
    n_in = len(kernel.inputs)
    dts = [s.dtype.name for s in kernel.inputs] + [o.dtype.name for o in kernel.ops]
    lines = []
    for j, o in enumerate(kernel.ops):
        t = CTYPES[o.dtype.name]
        a = [f"v{s}" for s in o.srcs]
        src = dts[o.srcs[0]] if o.srcs else ""
        f32 = "f" if src == "float32" else ""
        if o.op is Op.FULL:
            e = f"c{o.arg}"
        elif o.op is Op.NEG:
            e = f"-{a[0]}"
        elif o.op is Op.RECIPROCAL:
            e = f"({t})1 / {a[0]}"
        elif o.op in _MATH:
            e = f"{_MATH[o.op]}{f32}({a[0]})"
        elif o.op is Op.POW:
            e = f"pow{f32}({a[0]}, {a[1]})"
        elif o.op is Op.ADD:
            e = f"{a[0]} || {a[1]}" if src == "bool" else f"{a[0]} + {a[1]}"
        elif o.op is Op.MUL:
            e = f"{a[0]} && {a[1]}" if src == "bool" else f"{a[0]} * {a[1]}"
        elif o.op is Op.DIV:
            signed = src in ("int8", "int16", "int32", "int64")
            e = f"idrak_floordiv({a[0]}, {a[1]})" if signed else f"{a[0]} / {a[1]}"
        elif o.op is Op.MAX:
            if src == "bool":
                e = f"{a[0]} || {a[1]}"
            else:  # NaN in either operand propagates
                nan = f" || {a[0]} != {a[0]}" if src.startswith("float") else ""
                e = f"({a[0]} > {a[1]}{nan}) ? {a[0]} : {a[1]}"
        elif o.op in _INFIX:
            e = f"{a[0]} {_INFIX[o.op]} {a[1]}"
        elif o.op is Op.WHERE:
            e = f"{a[0]} ? {a[1]} : {a[2]}"
        elif o.op is Op.CAST:
            e = a[0]
        else:
            raise ValueError(f"op {o.op.name} cannot be fused on CUDA")
        lines.append(f"{t} v{n_in + j} = static_cast<{t}>({e});")
    return lines, f"v{n_in + len(kernel.ops) - 1}"


def _name(kernel: FusedKernel, kind: str) -> str:
    return f"idrak_{kind}_" + hashlib.sha1(repr(kernel).encode()).hexdigest()[:16]


def _const_params(kernel: FusedKernel) -> list[str]:
    return [f"{CTYPES[o.dtype.name]} c{o.arg}" for o in kernel.ops if o.op is Op.FULL]


def elementwise_source(kernel: FusedKernel) -> tuple[str, str]:
    """``(name, CUDA source)`` of the elementwise kernel.

    Signature: ``name(const T0* in0, ..., Tc c0, ..., Tout* out, long long n)``, inputs
    C-contiguous with their :attr:`~idrak.contract.fused.InputSpec.shape`, output C-contiguous.
    """
    name = _name(kernel, "fused")
    shape = kernel.shape
    params = [
        f"const {CTYPES[s.dtype.name]}* __restrict__ in{i}" for i, s in enumerate(kernel.inputs)
    ]
    params += _const_params(kernel)
    params += [f"{CTYPES[kernel.dtype.name]}* __restrict__ out", "long long n"]
    body = []
    need = {
        d for s in kernel.inputs if s.shape != shape for d, st in enumerate(s.strides(shape)) if st
    }
    if need:  # the index along each dim a broadcast input needs (innermost first)
        body.append("long long r = i;")
        for d in range(len(shape) - 1, min(need) - 1, -1):
            div = f" r /= {shape[d]}LL;" if d > min(need) else ""
            body.append(
                f"long long d{d} = r % {shape[d]}LL;{div}" if d in need else f"r /= {shape[d]}LL;"
            )
    for i, s in enumerate(kernel.inputs):
        if s.shape == shape:
            off = "i"
        else:
            terms = [f"d{d} * {st}LL" for d, st in enumerate(s.strides(shape)) if st]
            off = " + ".join(terms) or "0"
        body.append(f"{CTYPES[s.dtype.name]} v{i} = in{i}[{off}];")
    lines, result = _body(kernel)
    body += lines + [f"out[i] = {result};"]
    inner = "\n".join("        " + b for b in body)
    src = (
        f'{PRELUDE}\nextern "C" __global__ void {name}({", ".join(params)}) {{\n'
        f"    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;\n"
        f"         i += (long long)blockDim.x * gridDim.x) {{\n{inner}\n    }}\n}}\n"
    )
    return name, src


def reduction_parts(kernel: FusedKernel) -> dict[str, str]:
    """Arguments of ``cupy.ReductionKernel`` for a kernel with a trailing reduction.

    The map step is ``idrak_map_<hash>(in0, ..., c0, ...)``, a ``__device__`` function in the
    preamble; SUM accumulates in the output dtype, REDUCE_MAX propagates NaN.
    """
    assert kernel.reduce is not None
    op = kernel.reduce[0]
    out_t = kernel.dtype.name
    fn = _name(kernel, "map")
    args = [f"{CTYPES[s.dtype.name]} v{i}" for i, s in enumerate(kernel.inputs)]
    args += _const_params(kernel)
    lines, result = _body(kernel)
    body = "\n".join("    " + b for b in lines)
    preamble = (
        f"{PRELUDE}\n__device__ {CTYPES[out_t]} {fn}({', '.join(args)}) {{\n{body}\n"
        f"    return {result};\n}}\n"
    )
    names = [f"in{i}" for i in range(len(kernel.inputs))]
    names += [f"c{o.arg}" for o in kernel.ops if o.op is Op.FULL]
    in_params = [f"{s.dtype.name} in{i}" for i, s in enumerate(kernel.inputs)]
    in_params += [f"{o.dtype.name} c{o.arg}" for o in kernel.ops if o.op is Op.FULL]
    if op is Op.SUM:
        reduce_expr, identity = "a + b", "0"
    else:
        nan = " || a != a" if out_t.startswith("float") else ""
        reduce_expr, identity = f"(a > b{nan}) ? a : b", _MAX_IDENTITY[out_t]
    return {
        "in_params": ", ".join(in_params),
        "out_params": f"{out_t} out0",
        "map_expr": f"{fn}({', '.join(names)})",
        "reduce_expr": reduce_expr,
        "post_map_expr": "out0 = a",
        "identity": identity,
        "reduce_type": CTYPES[out_t],
        "name": _name(kernel, "reduce"),
        "preamble": preamble,
    }


def cache_dir() -> Path:
    """Where compiled PTX is kept: ``$IDRAK_KERNEL_CACHE`` or ``~/.cache/idrak/kernels``."""
    return Path(os.environ.get("IDRAK_KERNEL_CACHE", "~/.cache/idrak/kernels")).expanduser()


_MAX_PTX = 64 << 20  # no generated kernel comes near this


def _stamp(key: str, ptx: str) -> str:
    """The first line of a cache file: the cache key and a SHA-256 of the PTX after it."""
    return f"// idrak-kernel key={key} sha256={hashlib.sha256(ptx.encode()).hexdigest()}\n"


def read_cached(path: Path, key: str) -> str | None:
    """The PTX in cache file ``path`` if it is a regular file (not a link), stamped with ``key``
    and its content's SHA-256 matches the stamp; else None (the caller recompiles)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_PTX:
            return None
        data = f.read(_MAX_PTX + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    first, sep, ptx = text.partition("\n")
    if not sep or first + "\n" != _stamp(key, ptx):
        return None
    return ptx


def write_cached(path: Path, key: str, ptx: str) -> None:
    """Write ``ptx`` with its stamp to ``path``: a temporary file, then a rename (an existing
    link at ``path`` is replaced, never written through)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:  # write then rename: never a half-written cache file
            f.write(_stamp(key, ptx) + ptx)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _compile_cached(cp: Any, name: str, source: str) -> Any:
    """NVRTC -> PTX, kept on disk by a hash of (source, arch, NVRTC and CuPy versions); a cached
    file is used only when its stamped content hash matches (else it is recompiled)."""
    nvrtc = cp.cuda.nvrtc
    arch = cp.cuda.Device().compute_capability
    key = hashlib.sha256(
        f"{source}\n{arch}\n{nvrtc.getVersion()}\n{cp.__version__}".encode()
    ).hexdigest()
    path = cache_dir() / f"{key[:32]}.ptx"
    ptx = read_cached(path, key)
    if ptx is None:
        prog = nvrtc.createProgram(source, f"{name}.cu", [], [])
        try:
            try:
                nvrtc.compileProgram(prog, [f"-arch=compute_{arch}", "-std=c++14"])
            except Exception as e:
                raise RuntimeError(f"NVRTC failed on {name}: {nvrtc.getProgramLog(prog)}") from e
            ptx = nvrtc.getPTX(prog)
        finally:
            nvrtc.destroyProgram(prog)
        if isinstance(ptx, bytes):
            ptx = ptx.decode()
        write_cached(path, key, ptx)
    with tempfile.TemporaryDirectory() as tmp:  # load the verified text, not the shared file
        private = Path(tmp) / "k.ptx"
        private.write_text(ptx)
        return cp.RawModule(path=str(private)).get_function(name)


class CudaFusedEngine:
    """Compiles (once per structure) and launches FUSED kernels for the CUDA backend."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.cache = kernel_cache(backend.name)

    def _build(self, kernel: FusedKernel) -> Any:
        cp = self.backend.xp
        if kernel.reduce is not None:
            p = reduction_parts(kernel)
            return cp.ReductionKernel(
                p["in_params"],
                p["out_params"],
                p["map_expr"],
                p["reduce_expr"],
                p["post_map_expr"],
                p["identity"],
                p["name"],
                reduce_type=p["reduce_type"],
                preamble=p["preamble"],
            )
        name, src = elementwise_source(kernel)
        try:
            return _compile_cached(cp, name, src)
        except Exception:  # the disk cache is an optimisation: CuPy compiles and caches too
            return cp.RawKernel(src, name, options=("-std=c++14",))

    def __call__(self, inputs: tuple[Any, ...], kernel: FusedKernel) -> Any:
        cp = self.backend.xp
        prog = self.cache.get(kernel, lambda: self._build(kernel))
        consts = [
            np.dtype(o.dtype.name).type(kernel.consts[o.arg]) for o in kernel.ops if o.op is Op.FULL
        ]
        if kernel.reduce is not None:
            xs = [
                cp.broadcast_to(x if x.shape == s.shape else x.reshape(s.shape), kernel.shape)
                for x, s in zip(inputs, kernel.inputs)
            ]
            return prog(*xs, *consts, axis=kernel.reduce[1], keepdims=True)
        xs = [
            cp.ascontiguousarray(x if x.shape == s.shape else x.reshape(s.shape))
            for x, s in zip(inputs, kernel.inputs)
        ]
        out = None
        if kernel.reuse is not None:
            x = xs[kernel.reuse]
            if x is inputs[kernel.reuse] and x.base is None:
                out = x
        if out is None:
            out = cp.empty(kernel.shape, dtype=np.dtype(kernel.dtype.name))
        n = math.prod(kernel.shape)
        if n:
            blocks = min((n + _THREADS - 1) // _THREADS, 1 << 20)
            prog((blocks,), (_THREADS,), (*xs, *consts, out, np.int64(n)))
        return out
