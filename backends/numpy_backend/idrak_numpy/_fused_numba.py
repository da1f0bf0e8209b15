"""The numba engine of the NumPy backend's FUSED kernels (``pip install 'idrak[fused]'``).

:func:`compile_numba` turns the elementwise part of a
:class:`~idrak.contract.fused.FusedKernel` into ONE loop nest over the output elements, as
generated Python source compiled by numba (``njit(cache=True, fastmath=False,
error_model="numpy")``; a serial and a ``parallel=True`` variant, each compiled on first use).

* **Layout.** Size-1 dims of the kernel are dropped and neighbouring dims merged when every
  input broadcasts the same way over both, so a same-shape kernel is one flat loop and a bias
  row ``(C,)`` or column ``(R, 1)`` against ``(R, C)`` is two nested loops. Broadcast inputs are
  read in place (index 0 on their broadcast dims), never materialized; each value is computed
  in the outermost loop where its operands vary (a bias term ``b * 2`` once per row).
* **Exact semantics.** Every value is converted to its IR dtype after each op (``np.float32``
  math stays float32; constants are runtime arguments of the kernel's dtype, never Python
  floats), integer results wrap modulo ``2**bits`` (numba computes small integers in 64 bits),
  integer DIV is floor division with NumPy's signs and NumPy's results for ``x // 0`` (0) and
  ``INT_MIN // -1`` (INT_MIN), MAX is ``a if a > b or a != a else b`` like ``np.maximum``
  (NaN propagates, ties give the second operand), CAST is C conversion like ``astype``. No
  fast-math: NaN, inf and -0.0 behave as in NumPy; transcendental functions (exp, log, sin,
  tanh, pow, ...) are libm's, within a few ulp of NumPy's own SIMD versions.
* **Declined** (None: the interpreter runs the kernel): float16 and bfloat16 values, ops
  outside the table below, and kernels with more than :data:`MAX_ARGS` inputs and constants.
  A trailing reduction is not compiled: the engine writes the elementwise part into a
  temporary with this loop and reduces it with NumPy.
* **Caching.** The source depends only on the kernel's structure (ops, dtypes, which merged
  dims each input broadcasts over), not on sizes, so one compiled loop serves every shape of the
  same pattern. The file is written to ``$IDRAK_NUMBA_CACHE`` (default
  ``$XDG_CACHE_HOME/idrak/numba``, else ``~/.cache/idrak/numba``) under the SHA-256 of its
  text (temporary name + rename, so concurrent processes never see half a file), and numba's
  ``cache=True`` keeps the machine code beside it (``__pycache__``), so a second process loads
  instead of compiling. What runs is always the source generated in this process (compiled from
  the string; the file only anchors numba's cache).

Reference: numba's ``@njit``/``prange`` documentation (https://numba.readthedocs.io).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import math
import os
import sys
import tempfile
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np

from idrak.contract.fused import FusedKernel
from idrak.contract.ops import Op

__all__ = ["MAX_ARGS", "NumbaKernel", "cache_dir", "compile_numba", "numba_available"]

#: most inputs + constants a compiled kernel takes (numba's dispatch cost grows with arguments)
MAX_ARGS = 64

_DTYPES = frozenset({"bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64"})
_SIGNED = frozenset({"int8", "int16", "int32", "int64"})
_UNARY_F = {
    Op.EXP: "np.exp",
    Op.LOG: "np.log",
    Op.SIN: "np.sin",
    Op.SQRT: "np.sqrt",
    Op.TANH: "np.tanh",
    Op.EXP2: "np.exp2",
    Op.LOG2: "np.log2",
}
_INFIX = {Op.ADD: "+", Op.MUL: "*", Op.SUB: "-"}
_CMP = {Op.CMPLT: "<", Op.CMPEQ: "=="}


def numba_available() -> bool:
    """Whether numba is installed (found without importing it: importing takes ~0.5 s)."""
    global _found
    if _found is None:
        _found = importlib.util.find_spec("numba") is not None
    return _found


_found: bool | None = None


def cache_dir() -> Path:
    """Where generated kernel sources (and numba's compiled code beside them) are kept."""
    env = os.environ.get("IDRAK_NUMBA_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "idrak" / "numba"


def _layout(kernel: FusedKernel) -> tuple[tuple[int, ...], list[tuple[bool, ...]]]:
    """Merged iteration shape and, per input, which merged dims it varies over."""
    shape = kernel.shape
    keep = [d for d, s in enumerate(shape) if s != 1]
    full = [[spec.shape[d] == shape[d] for d in keep] for spec in kernel.inputs]
    dims: list[int] = []
    pats: list[list[bool]] = [[] for _ in kernel.inputs]
    for k, d in enumerate(keep):
        if dims and all(p[k] == p[k - 1] for p in full):
            dims[-1] *= shape[d]
            continue
        dims.append(shape[d])
        for pat, p in zip(pats, full):
            pat.append(p[k])
    if not dims:  # one element: a flat loop of length 1 over inputs of one element
        return (1,), [(True,) for _ in kernel.inputs]
    return tuple(dims), [tuple(p) for p in pats]


def _expr(kernel: FusedKernel, j: int, a: list[str], dts: list[str]) -> str | None:
    """The expression computing ``kernel.ops[j]`` from operand names ``a`` (None: declined)."""
    o = kernel.ops[j]
    dt = o.dtype.name
    src = dts[o.srcs[0]] if o.srcs else dt
    t, is_int, is_bool = f"T_{dt}", dt not in ("float32", "float64", "bool"), src == "bool"
    op = o.op
    if op in _UNARY_F and dt == src and not is_int and dt != "bool":
        return f"{_UNARY_F[op]}({a[0]})"
    if op is Op.RECIPROCAL and dt in ("float32", "float64"):
        return f"ONE_{dt} / {a[0]}"
    if op is Op.NEG and not is_bool:
        return f"{t}(-{a[0]})" if is_int else f"-{a[0]}"
    if op in (Op.ADD, Op.MUL, Op.MAX) and is_bool:
        return f"({a[0]} {'&' if op is Op.MUL else '|'} {a[1]})"
    if op in _INFIX and not is_bool:
        e = f"{a[0]} {_INFIX[op]} {a[1]}"
        return f"{t}({e})" if is_int else e
    if op is Op.DIV and not is_bool:
        if not is_int:
            return f"{a[0]} / {a[1]}"
        helper = "_fdiv_s" if src in _SIGNED else "_fdiv_u"
        return f"{t}({helper}({a[0]}, {a[1]}))"
    if op is Op.POW and dt in ("float32", "float64"):
        return f"np.power({a[0]}, {a[1]})"
    if op is Op.MAX:
        nan = f" or {a[0]} != {a[0]}" if src in ("float32", "float64") else ""
        return f"({a[0]} if ({a[0]} > {a[1]}{nan}) else {a[1]})"
    if op in _CMP:
        return f"({a[0]} {_CMP[op]} {a[1]})"
    if op is Op.WHERE:
        return f"({a[1]} if {a[0]} else {a[2]})"
    if op is Op.CAST:
        if dt == "bool":
            return a[0] if is_bool else f"({a[0]} != ZERO_{src})"
        return f"{t}({a[0]})"
    return None


def generate(kernel: FusedKernel) -> tuple[str, tuple[int, ...], list[tuple[bool, ...]]] | None:
    """``(source, merged shape, per-input patterns)`` for ``kernel``, or None when declined."""
    n_in = len(kernel.inputs)
    dts = [s.dtype.name for s in kernel.inputs] + [o.dtype.name for o in kernel.ops]
    n_const = sum(o.op is Op.FULL for o in kernel.ops)
    if any(d not in _DTYPES for d in dts) or n_in + n_const > MAX_ARGS:
        return None
    if kernel.ops[-1].op is Op.FULL:
        return None  # a constant output: nothing to stream (the interpreter fills it)
    dims, pats = _layout(kernel)
    nd = len(dims)
    idx = [f"i{d}" for d in range(nd)]
    levels: list[int] = []
    stmts: list[tuple[int, str]] = []
    for k, pat in enumerate(pats):
        level = max((d + 1 for d, p in enumerate(pat) if p), default=0)
        sub = ", ".join(i if p else "0" for i, p in zip(idx, pat)) if level else "0"
        levels.append(level)
        stmts.append((level, f"v{k} = x{k}[{sub}]"))
    c = 0
    for j, o in enumerate(kernel.ops):
        v = n_in + j
        if o.op is Op.FULL:
            levels.append(0)
            stmts.append((0, f"v{v} = c{c}"))
            c += 1
            continue
        e = _expr(kernel, j, [f"v{s}" for s in o.srcs], dts)
        if e is None:
            return None
        levels.append(max(levels[s] for s in o.srcs))
        stmts.append((levels[-1], f"v{v} = {e}"))
    args = ["out"] + [f"x{k}" for k in range(n_in)] + [f"c{m}" for m in range(n_const)]
    body: list[str] = []
    for level in range(nd + 1):
        ind = "    " * (level + 1)
        body += [ind + s for lv, s in stmts if lv == level]
        if level < nd:
            rng = "RANGE" if level == 0 else "range"
            body.append(f"{ind}for {idx[level]} in {rng}(out.shape[{level}]):")
    body.append("    " * (nd + 1) + f"out[{', '.join(idx)}] = v{len(dts) - 1}")
    used = sorted(set(dts))
    head = [
        "# generated by idrak_numpy._fused_numba: " + kernel.describe()[:200],
        "import numpy as np",
        "from numba import njit, prange",
        "",
        *[f"T_{d} = np.{'bool_' if d == 'bool' else d}" for d in used],
        *[f"ONE_{d} = np.{d}(1)" for d in used if d.startswith("float")],
        *[f"ZERO_{d} = T_{d}(0)" for d in used],
        "",
        "@njit(inline='always', error_model='numpy')",
        "def _fdiv_s(a, b):  # floor division with NumPy's results for b == 0 and b == -1",
        "    if b == 0:",
        "        return a - a",
        "    if b == -1:",
        "        return -a",
        "    return a // b",
        "",
        "@njit(inline='always', error_model='numpy')",
        "def _fdiv_u(a, b):",
        "    if b == 0:",
        "        return a - a",
        "    return a // b",
        "",
    ]
    src = [*head]
    for name, rng, par in (("serial", "range", "False"), ("parallel", "prange", "True")):
        src.append(f"@njit(cache=True, parallel={par}, fastmath=False, error_model='numpy')")
        src.append(f"def {name}({', '.join(args)}):")
        src += [line.replace("RANGE", rng) for line in body]
        src.append("")
    return "\n".join(src), dims, pats


class NumbaKernel:
    """A compiled kernel: ``run(xs, out, consts, threads)`` writes the elementwise result.

    Attributes:
        dims: the merged iteration shape; ``pats``: per input, which merged dims it varies over.
        key: the SHA-256 of the source (the cache file's name).
    """

    def __init__(self, mod: types.ModuleType, dims: tuple[int, ...], pats: list[Any], key: str):
        self.serial, self.parallel = mod.serial, mod.parallel
        self.dims, self.key = dims, key
        self.shapes = [tuple(d if p else 1 for d, p in zip(dims, pat)) for pat in pats]
        self.scalar = [not any(p) for p in pats]

    def run(self, xs: tuple[Any, ...], out: Any, consts: list[Any], threads: int) -> None:
        """Compute into ``out`` (C-contiguous, the kernel's shape) from the input buffers."""
        args = [
            x
            if x.shape == shp and x.flags.c_contiguous
            else np.ascontiguousarray(x).reshape(1 if sc else shp)
            for x, shp, sc in zip(xs, self.shapes, self.scalar)
        ]
        o = out if out.shape == self.dims else out.reshape(self.dims)
        if threads <= 1:  # the common case first
            self.serial(o, *args, *consts)
            return
        # numba's default "workqueue" threading layer aborts the process when two threads run
        # parallel loops at once: a caller that finds it busy runs the serial loop
        if threads > 1 and o.shape[0] > 1 and _parallel_lock.acquire(blocking=False):
            try:
                import numba

                _choose_threading_layer(numba)
                t = min(threads, numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
                if numba.get_num_threads() != t:
                    numba.set_num_threads(t)
                self.parallel(o, *args, *consts)
            finally:
                _parallel_lock.release()
        else:
            self.serial(o, *args, *consts)


_parallel_lock = threading.Lock()
_layer_chosen = False


def _choose_threading_layer(numba: Any) -> None:
    """Use numba's ``workqueue`` threading layer unless ``NUMBA_THREADING_LAYER`` says otherwise.

    numba prefers OpenMP where it finds it; OpenMP's worker threads spin for a while after each
    parallel loop, and on a machine with few cores they take the cores from OpenBLAS's threads
    and the next kernel: the jitted MLP step at 2 threads on 2 cores took 9-10 ms with the
    OpenMP layer against 4.4 ms with ``workqueue``, whose workers sleep (``train_step.py
    --threads 2``). The layer is chosen at numba's first parallel launch, so this runs before it.
    """
    global _layer_chosen
    if not _layer_chosen:
        _layer_chosen = True
        if "NUMBA_THREADING_LAYER" not in os.environ:
            numba.config.THREADING_LAYER = "workqueue"


_modules: dict[str, types.ModuleType] = {}
_load_lock = threading.Lock()


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, unless it already holds exactly that text."""
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _load(src: str) -> tuple[types.ModuleType, str]:
    """The module compiled from ``src`` (one per distinct source per process)."""
    key = hashlib.sha256(src.encode()).hexdigest()
    with _load_lock:
        mod = _modules.get(key)
        if mod is None:
            path = cache_dir() / f"k_{key[:32]}.py"
            _write(path, src)
            mod = types.ModuleType(f"idrak_numba_{key[:32]}")
            mod.__file__ = str(path)
            sys.modules[mod.__name__] = mod  # numba's cache looks the module up by name
            exec(compile(src, str(path), "exec"), mod.__dict__)  # our own source, not the file's
            _modules[key] = mod
    return mod, key


def compile_numba(kernel: FusedKernel) -> NumbaKernel | None:
    """A :class:`NumbaKernel` for ``kernel``'s elementwise part, or None when declined.

    Raises:
        ImportError: numba is not installed. Errors of numba's compiler surface on the first
            ``run`` (numba compiles lazily), and the engine falls back to the interpreter.
    """
    gen = generate(kernel)
    if gen is None or math.prod(kernel.shape) == 0:
        return None
    src, dims, pats = gen
    mod, key = _load(src)
    return NumbaKernel(mod, dims, pats, key)
