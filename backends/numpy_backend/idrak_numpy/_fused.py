"""FUSED kernels on the CPU (see :mod:`idrak.engine.fusion` for the IR).

Engines that run a :class:`~idrak.contract.fused.FusedKernel`:

* an interpreter that calls the same NumPy ufuncs as the op-by-op backend, in order, writing each
  result over a dead temporary of the same shape and dtype (``out=``), into scratch buffers kept
  between calls, or straight into the output, so values are bit-identical to unfused execution
  and a chain of N ops allocates at most one buffer. ``WHERE`` is a bitwise select (NumPy's
  ``where`` is a per-element loop). The interpreter also serves CuPy (``xp``) as the CUDA
  backend's fallback.
* the same interpreter over cache-sized blocks (``np.nditer``, :data:`BLOCK` elements), on up to
  8 threads, for kernels of at least :data:`BLOCK_MIN_SIZE` elements: one pass over memory.
* numba (the ``fused`` extra; :mod:`idrak_numpy._fused_numba`): the kernel as one generated
  loop, compiled once per kernel structure and cached on disk; for kernels of at least
  :data:`NUMBA_MIN_SIZE` elements (``$IDRAK_NUMBA_MIN_SIZE``) that it can express exactly. On
  the machine measured it streams the 8-op benchmark chain at about copy bandwidth, 4-5x the
  blocked interpreter.
* numexpr (the ``fused`` extra): the op list as one numexpr expression, compiled once per
  kernel structure, multi-threaded, no temporaries; for kernels of at least
  ``$IDRAK_NUMEXPR_MIN_SIZE`` elements that numexpr can express (it has no integer floor
  division, float16 or narrowing casts). Off by default: on the machines measured
  (``benchmarks/fusion.py``) the blocked interpreter was about twice as fast.

``$IDRAK_FUSED_ENGINE`` (:data:`ENGINE`: ``auto``, ``numba``, ``interp`` or ``numexpr``) forces
one; whatever the chosen engine declines runs on the interpreter. Large outputs come from
:mod:`idrak_numpy._outpool`.

Compiled plans live in :func:`idrak.contract.fused.kernel_cache` under the backend's name.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from idrak.contract import ELEMENTWISE, FusedKernel, FusionSupport, kernel_cache
from idrak.contract.dtypes import DType
from idrak.contract.ops import REQUIRED, Op

from . import _outpool
from ._fused_numba import compile_numba, numba_available
from ._fused_numexpr import compile_numexpr, numexpr_available
from ._select import select as _select

__all__ = [
    "ENGINE",
    "NUMBA_MIN_SIZE",
    "NUMEXPR_MIN_SIZE",
    "FusedEngine",
    "numba_available",
    "numexpr_available",
]

_ENGINES = ("auto", "numba", "interp", "numexpr")


def _engine_from_env() -> str:
    value = os.environ.get("IDRAK_FUSED_ENGINE", "auto").strip().lower() or "auto"
    if value not in _ENGINES:
        raise ValueError(f"IDRAK_FUSED_ENGINE={value!r}: expected one of {', '.join(_ENGINES)}")
    return value


#: which engine runs FUSED kernels (``$IDRAK_FUSED_ENGINE``): ``auto`` (numexpr from
#: NUMEXPR_MIN_SIZE elements, else numba from NUMBA_MIN_SIZE elements when numba is installed,
#: else the interpreter), ``numba`` (numba for every kernel it can express, of any size),
#: ``interp`` (the interpreter only), ``numexpr`` (numexpr for every kernel it can express)
ENGINE = _engine_from_env()
#: in ``auto``, kernels with at least this many elements run on numba. Measured (one thread, the
#: 8-op chain and an Adam update through the lazy path): numba is faster from 4096 elements, but
#: by only 10-20 us a call at 16K against 60-120 us at 2**17, and each new kernel structure
#: costs 0.2-1 s to compile once (then milliseconds to load from the disk cache), so small and
#: rare kernels stay on the interpreter
NUMBA_MIN_SIZE = int(os.environ.get("IDRAK_NUMBA_MIN_SIZE", str(1 << 17)))
#: ...and a *hot* kernel (run :data:`NUMBA_HOT_CALLS` times in this process, as a replayed
#: training step's kernels are) from this many: its compile is paid once and its 10-20 us per
#: call saved every step (the jitted MLP step's ReLU selects and small Adam updates)
NUMBA_HOT_MIN_SIZE = int(os.environ.get("IDRAK_NUMBA_HOT_MIN_SIZE", str(1 << 12)))
NUMBA_HOT_CALLS = 32
#: the numba engine runs its parallel loop (on up to _THREADS threads) from this many elements;
#: below it the serial loop is as fast (measured at 2 threads: 113 vs 126 us at 200K elements,
#: 228 vs 168 us at 1M, 1.25 vs 0.81 ms at 4M, an elementwise chain through the lazy path)
NUMBA_PARALLEL_MIN_SIZE = 1 << 20

#: kernels with at least this many elements run on numexpr when it can express them (default: no)
NUMEXPR_MIN_SIZE = int(os.environ.get("IDRAK_NUMEXPR_MIN_SIZE", str(1 << 62)))
#: below this many elements a kernel runs op by op: the interpreter's per-kernel Python cost
#: (~10 us) exceeds what skipping temporaries saves (measured with benchmarks/overhead.py)
FUSION_MIN_NUMEL = int(os.environ.get("IDRAK_FUSION_MIN_NUMEL", "16384"))
#: kernels with at least this many elements run block by block (on up to _THREADS threads)
BLOCK_MIN_SIZE = 1 << 18
BLOCK = 1 << 15  # elements per block: a few of them fit in a core's L2 cache
SCRATCH_MAX = 1 << 20  # kernels up to this size keep their temporaries between calls
#: threads of the block engine (and numexpr's); set by idrak's thread policy through
#: NumpyBackend.set_num_threads (idrak.runtime.threads), never more than the cores given
_THREADS = 1


class _Plan:
    """A kernel prepared for the interpreter (and, when possible, numexpr).

    For each op: the array function, its operands, and where its result goes: over a dead
    temporary of the same shape and dtype (``out=``), into the output (the last op), or into a
    scratch buffer the plan keeps between calls (kernels of at most ``SCRATCH_MAX`` elements), so
    a replayed step allocates nothing but its outputs.
    """

    def __init__(self, kernel: FusedKernel, xp: Any, ufunc: Callable[[Op, DType], Any]) -> None:
        n_in = len(kernel.inputs)
        dtypes = [s.dtype for s in kernel.inputs] + [o.dtype for o in kernel.ops]
        shapes: list[tuple[int, ...]] = [s.shape for s in kernel.inputs]
        last_use = [-1] * len(dtypes)
        for j, o in enumerate(kernel.ops):
            srcs = [shapes[s] for s in o.srcs]
            shapes.append(() if o.op is Op.FULL else tuple(np.broadcast_shapes(*srcs)))
            for s in o.srcs:
                last_use[s] = j
        # op results to drop after each step (their last use), so big temporaries are freed early
        self.frees = [
            [v for v in range(n_in, len(dtypes)) if last_use[v] == j]
            for j in range(len(kernel.ops))
        ]
        self.n_in = n_in
        self.np_dtypes = [np.dtype(d.name) for d in dtypes]
        self.direct = kernel.reduce is None and kernel.ops[-1].op not in (Op.FULL, Op.CAST)
        # (op, fn, srcs, dead temporary to write into or -1, arg, result may use scratch)
        self.steps: list[tuple[Op, Any, tuple[int, ...], int, Any, bool]] = []
        last = len(kernel.ops) - 1
        for j, o in enumerate(kernel.ops):
            v = n_in + j
            into = -1
            if o.op not in (Op.FULL, Op.CAST, Op.WHERE):  # (WHERE reads its operand twice)
                for s in o.srcs:
                    dead = s >= n_in and last_use[s] == j and kernel.ops[s - n_in].op is not Op.FULL
                    if dead and dtypes[s] == o.dtype and shapes[s] == shapes[v] != ():
                        into = s
                        break
            fn = None if o.op in (Op.FULL, Op.WHERE, Op.CAST) else ufunc(o.op, dtypes[o.srcs[0]])
            scratch = (
                into < 0
                and o.op is not Op.FULL
                and o.op is not Op.CAST
                and shapes[v] == kernel.shape
                and not (j == last and self.direct)
            )
            self.steps.append((o.op, fn, o.srcs, into, o.arg, scratch))
        self.xp = xp
        self.numexpr: Any = None  # compiled on first large call; False when not expressible
        self.numba: Any = None  # likewise, for the numba engine
        self.calls = 0  # runs below NUMBA_MIN_SIZE, counted up to NUMBA_HOT_CALLS
        #: id(kernel) -> (kernel, its constants as NumPy scalars of their dtypes): a replayed
        #: step passes the same kernel object every call (equal kernels differ in constants)
        self.numba_consts: dict[int, tuple[FusedKernel, list[Any]]] = {}
        self.n = math.prod(kernel.shape)
        self.elementwise = kernel.reduce is None
        self._consts: tuple[Any, list[Any]] = ((), [])
        self._scratch: dict[int, Any] = {}
        self._busy = threading.Lock()

    def constants(self, kernel: FusedKernel) -> list[Any]:
        """The kernel's constants as 0-d arrays (kept while the same values come back)."""
        key, vals = self._consts
        if key is not kernel.consts and not _same(key, kernel.consts):
            npd, n_in = self.np_dtypes, self.n_in
            vals = [
                self.xp.full((), kernel.consts[o.arg], dtype=npd[n_in + j])
                if o.op is Op.FULL
                else None
                for j, o in enumerate(kernel.ops)
            ]
            self._consts = (kernel.consts, vals)
        return vals

    def interpret(
        self, inputs: tuple[Any, ...], kernel: FusedKernel, out: Any, chunk: bool = False
    ) -> Any:
        """Run the ops in order; the last writes into ``out`` when ``direct`` (else returned).

        ``chunk``: the inputs are blocks of the kernel (no scratch buffers: other threads run
        the same plan).
        """
        use_scratch = (
            not chunk
            and math.prod(kernel.shape) <= SCRATCH_MAX
            and self._busy.acquire(blocking=False)
        )
        try:
            return self._run(inputs, kernel, out, use_scratch)
        finally:
            if use_scratch:
                self._busy.release()

    def _run(self, inputs: tuple[Any, ...], kernel: FusedKernel, out: Any, scratch: bool) -> Any:
        xp, npd, frees, consts = self.xp, self.np_dtypes, self.frees, self.constants(kernel)
        vals: list[Any] = list(inputs)
        last = len(self.steps) - 1
        for j, (op, fn, srcs, into, _, may_scratch) in enumerate(self.steps):
            if op is Op.FULL:
                vals.append(consts[j])
                continue
            if op is Op.CAST:
                vals.append(xp.asarray(vals[srcs[0]]).astype(npd[self.n_in + j]))
            else:
                dst = out if (j == last and self.direct) else (vals[into] if into >= 0 else None)
                if dst is None and scratch and may_scratch:
                    dst = self._scratch.get(j)
                    if dst is None:
                        dst = xp.empty(kernel.shape, dtype=npd[self.n_in + j])
                        self._scratch[j] = dst
                if op is Op.WHERE:
                    vals.append(_select(xp, vals[srcs[0]], vals[srcs[1]], vals[srcs[2]], dst))
                elif len(srcs) == 2:
                    vals.append(fn(vals[srcs[0]], vals[srcs[1]], out=dst))
                else:
                    vals.append(fn(vals[srcs[0]], out=dst))
            for s in frees[j]:
                vals[s] = None
        return vals[-1]


def _quiet() -> Any:
    """The backend's cheap ``np.errstate(all="ignore")`` (IEEE results are the contract)."""
    global _QUIET
    if _QUIET is None:
        from . import array_backend

        _QUIET = getattr(array_backend, "_quiet", None) or (lambda: np.errstate(all="ignore"))
    return _QUIET()


_QUIET: Any = None


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Exactly the same constants (type and value; -0.0 is not 0.0; NaN never matches)."""
    return len(a) == len(b) and all(
        x is y
        or (
            type(x) is type(y) and x == y and (x != 0 or math.copysign(1, x) == math.copysign(1, y))
        )
        for x, y in zip(a, b)
    )


class FusedEngine:
    """Runs FUSED kernels for a NumPy-like backend (``backend.xp`` is NumPy or CuPy)."""

    def __init__(self, backend: Any, use_numexpr: bool = True) -> None:
        self.backend = backend
        self.use_numexpr = use_numexpr
        self.cache = kernel_cache(backend.name)
        self._lock = threading.Lock()

    def support(
        self,
        op_dtypes: dict[Op, frozenset[DType]],
        dtypes: frozenset[DType],
        optional: frozenset[Op],
    ) -> FusionSupport:
        """Every elementwise op the backend runs, on the dtypes it declares for each."""
        ops = frozenset(o for o in ELEMENTWISE if o in REQUIRED or o in optional)
        return FusionSupport(
            ops=ops,
            dtypes=dtypes,
            op_dtypes=dict(op_dtypes),
            max_inputs=1024,
            reduce_ops=frozenset({Op.SUM, Op.REDUCE_MAX}),
            min_numel=FUSION_MIN_NUMEL,
        )

    # ----------------------------------------------------------------------------------------
    def ufunc(self, op: Op, dtype: DType) -> Any:
        """The array function the op-by-op backend uses for ``op`` on operands of ``dtype``."""
        xp = self.backend.xp
        if op is Op.ADD and dtype.name == "bool":
            return xp.logical_or
        if op is Op.MUL and dtype.name == "bool":
            return xp.logical_and
        if op is Op.DIV:
            return xp.true_divide if dtype.kind == "f" else xp.floor_divide
        return getattr(
            xp,
            {
                "NEG": "negative",
                "MAX": "maximum",
                "CMPLT": "less",
                "CMPEQ": "equal",
                "SUB": "subtract",
                "POW": "power",
                "ADD": "add",
                "MUL": "multiply",
            }.get(op.name, op.method),
        )

    def __call__(self, inputs: tuple[Any, ...], kernel: FusedKernel) -> Any:
        """Run ``kernel`` on the input buffers; returns a new (or reused) array."""
        be = self.backend
        plan: _Plan = self.cache.get(kernel, lambda: _Plan(kernel, be.xp, self.ufunc))
        if plan.numba is not False and self._wants_numba(plan):
            got = self._numba(plan, inputs, kernel)
            if got is not None:
                return got
        small = plan.elementwise and plan.n < BLOCK_MIN_SIZE and not _wants_numexpr(plan.n)
        if small and all(x.shape == s.shape for x, s in zip(inputs, kernel.inputs)):
            out = self._reusable(inputs, kernel)
            if out is None:
                out = be.xp.empty(kernel.shape, plan.np_dtypes[-1])
            with _quiet():  # the common case of a replayed step: no numexpr, no blocks
                res = plan.interpret(inputs, kernel, out)
            if res is not out:
                out[...] = res
            return out
        xs = tuple(
            x if x.shape == s.shape else x.reshape(s.shape) for x, s in zip(inputs, kernel.inputs)
        )
        n = math.prod(kernel.shape)
        blocked = be.xp is np and n >= BLOCK_MIN_SIZE and len(xs) < 60  # nditer: <= 64 operands
        out = self._reusable(xs, kernel) if kernel.reduce is None else None
        if out is None and (kernel.reduce is None or blocked):  # (a temporary before a reduce)
            out = self._empty(kernel.shape, plan.np_dtypes[-1])
        with _quiet():
            res = None
            if self.use_numexpr and plan.numexpr is not False and _wants_numexpr(n):
                res = self._numexpr(plan, xs, kernel, out)
            if res is None and blocked:
                res = _blocked(plan, xs, kernel, out)
            if res is None:
                res = plan.interpret(xs, kernel, out if kernel.reduce is None else None)
        if kernel.reduce is not None:
            op, axes = kernel.reduce
            if getattr(res, "shape", None) != kernel.shape:  # (all operands were broadcast)
                res = be.xp.broadcast_to(res, kernel.shape)
            return be.sum(res, axes) if op is Op.SUM else be.max(res, axes)
        assert out is not None
        if res is not out:
            out[...] = res
        return out

    def _empty(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """A new output buffer (large NumPy ones from :mod:`idrak_numpy._outpool`)."""
        if self.backend.xp is np:
            return _outpool.empty(shape, dtype)
        return self.backend.xp.empty(shape, dtype=dtype)

    def _reusable(self, xs: tuple[Any, ...], kernel: FusedKernel) -> Any:
        if kernel.reuse is None:
            return None
        x = xs[kernel.reuse]
        ok = (
            getattr(x, "base", 0) is None
            and x.flags.c_contiguous
            and getattr(x.flags, "writeable", True)
            and x.shape == kernel.shape
            and x.dtype.name == kernel.dtype.name
        )
        return x if ok else None

    # numba -----------------------------------------------------------------------------------
    def _wants_numba(self, plan: _Plan) -> bool:
        if ENGINE == "numba":
            return self.backend.xp is np and numba_available()
        if ENGINE != "auto":
            return False
        if plan.n < NUMBA_MIN_SIZE:
            if plan.n < NUMBA_HOT_MIN_SIZE:
                return False
            plan.calls += 1
            if plan.calls < NUMBA_HOT_CALLS:
                return False
        return (
            self.backend.xp is np
            and not (self.use_numexpr and _wants_numexpr(plan.n) and plan.numexpr is not False)
            and numba_available()
        )

    def _numba(self, plan: _Plan, inputs: tuple[Any, ...], kernel: FusedKernel) -> Any:
        """Run the kernel's elementwise part as one numba loop; None when numba cannot."""
        global _numba_warned
        try:
            if plan.numba is None:
                plan.numba = compile_numba(kernel) or False
                if plan.numba is False:
                    return None
            out = self._reusable(inputs, kernel) if kernel.reduce is None else None
            if out is None:
                out = self._empty(kernel.shape, plan.np_dtypes[-1])
            threads = _THREADS if plan.n >= NUMBA_PARALLEL_MIN_SIZE else 1
            plan.numba.run(inputs, out, _numba_consts(plan, kernel), threads)
        except Exception as e:  # a numba that fails to import or compile: the interpreter runs
            plan.numba = False
            if not _numba_warned:
                _numba_warned = True
                warnings.warn(
                    f"idrak: the numba FUSED engine failed ({type(e).__name__}: {e}); "
                    "kernels run on the NumPy interpreter instead",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return None
        if kernel.reduce is None:
            return out
        op, axes = kernel.reduce
        return self.backend.sum(out, axes) if op is Op.SUM else self.backend.max(out, axes)

    # numexpr ---------------------------------------------------------------------------------
    def _numexpr(self, plan: _Plan, xs: tuple[Any, ...], kernel: FusedKernel, out: Any) -> Any:
        if not numexpr_available() or not xs:  # no input array: nothing for numexpr to stream
            plan.numexpr = False
            return None
        if plan.numexpr is None:
            plan.numexpr = compile_numexpr(kernel) or False
            if plan.numexpr is False:
                return None
        prog, extra = plan.numexpr
        consts = [
            np.full((), kernel.consts[o.arg], dtype=np.dtype(o.dtype.name))
            for o in kernel.ops
            if o.op is Op.FULL
        ]
        args = [np.broadcast_to(x, kernel.shape) for x in xs] + consts + extra
        target = out if out is not None else np.empty(kernel.shape, np.dtype(kernel.dtype.name))
        with self._lock:  # numexpr's thread pool serves one evaluation at a time
            prog(*args, out=target, order="K", casting="no", ex_uses_vml=False)
        return target


_numba_warned = False


def _wants_numexpr(n: int) -> bool:
    """Whether a kernel of ``n`` elements should try numexpr under the current ENGINE."""
    return ENGINE == "numexpr" or (ENGINE == "auto" and n >= NUMEXPR_MIN_SIZE)


def _blocked(plan: _Plan, xs: tuple[Any, ...], kernel: FusedKernel, out: Any) -> Any:
    """The interpreter over cache-sized blocks (one pass over memory), on several threads."""
    ops = [np.broadcast_to(x, kernel.shape) for x in xs] + [out]
    n = out.size
    parts = max(1, min(_THREADS, n // max(BLOCK_MIN_SIZE, BLOCK)))

    def work(lo: int, hi: int) -> None:
        it = np.nditer(
            ops,
            flags=["external_loop", "buffered", "zerosize_ok", "ranged"],  # type: ignore[call-overload]
            op_flags=[["readonly"]] * len(xs) + [["writeonly"]],
            buffersize=BLOCK,
            order="C",
        )
        it.iterrange = (lo, hi)
        with it, np.errstate(all="ignore"):  # errstate is per thread
            for chunk in it:
                o = chunk[-1]
                r = plan.interpret(chunk[:-1], kernel, o, chunk=True)
                if r is not o:
                    o[...] = r

    if parts == 1:
        work(0, n)
    else:
        global _pool
        if _pool is None:
            _pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="idrak-fused")
        list(_pool.map(lambda i: work(n * i // parts, n * (i + 1) // parts), range(parts)))
    return out


_pool: ThreadPoolExecutor | None = None


def set_num_threads(n: int) -> None:
    """Size the block engine's pool and numexpr's to ``n`` threads (a new pool on a change)."""
    global _THREADS, _pool
    n = max(1, int(n))
    if n != _THREADS and _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    _THREADS = n
    if numexpr_available():
        import numexpr

        numexpr.set_num_threads(n)


def _numba_consts(plan: _Plan, kernel: FusedKernel) -> list[Any]:
    """The kernel's constants as NumPy scalars of their dtypes, kept per kernel object (equal
    kernels may differ in their constants; a replayed step passes the same object each call)."""
    got = plan.numba_consts.get(id(kernel))
    if got is not None and got[0] is kernel:
        return got[1]
    n_in, dts = plan.n_in, plan.np_dtypes
    ops = kernel.ops
    vals = [dts[n_in + j].type(kernel.consts[o.arg]) for j, o in enumerate(ops) if o.op is Op.FULL]
    if len(plan.numba_consts) >= 64:
        plan.numba_consts.clear()
    plan.numba_consts[id(kernel)] = (kernel, vals)
    return vals
