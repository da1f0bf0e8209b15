"""The differential runner of the fuzz suite: one generated case, run on torch and on idrak.

A :class:`Case` is a Python expression over named input arrays (``lib`` is ``torch`` or
``idrak``, ``F`` its ``nn.functional``), so the same text runs on both libraries and doubles as
the reproducer printed when they disagree. :func:`check_case` compares, in this order: raising or
not (any exception type; both raising is agreement), the number of outputs, each output's shape
and dtype, its values (NaN positions, infinities and their sign, signed zeros where the case asks,
float tolerances scaled to the dtype) and, for float64 inputs listed in ``Case.grad``, the
gradients of ``sum(out * cotangent)`` from ``backward()``.
"""

from __future__ import annotations

import collections
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import idrak
import idrak.nn.functional as idrak_F

#: cases run, per op family, per outcome ("ok", "raised", "grad"); printed by the fuzz conftest
COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()

#: (rtol, atol) per float dtype, before the case's ``tol`` factor
TOLERANCES = {"float32": (2e-5, 1e-6), "float64": (1e-9, 1e-12)}


@dataclass
class Case:
    """One generated call: ``expr`` evaluated with the arrays in ``arrays`` bound as tensors.

    ``grad`` names the inputs whose gradients are compared (used only when they are float64 and
    finite); ``signed_zero`` asks for the sign of zero results to match; ``tol`` scales the
    float tolerances (for composed ops whose rounding differs from torch's kernels); ``grad_tol``
    the same for the gradients.
    """

    family: str
    expr: str
    arrays: dict[str, np.ndarray]
    grad: tuple[str, ...] = ()
    signed_zero: bool = False
    tol: float = 1.0
    grad_tol: float = 1000.0
    extra: dict[str, Any] = field(default_factory=dict)


def _literal(a: np.ndarray) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        return repr(v)

    def rec(x: Any) -> str:
        return "[" + ", ".join(rec(e) for e in x) + "]" if isinstance(x, list) else fmt(x)

    body = rec(a.tolist())
    return f"np.array({body}, dtype=np.{a.dtype}).reshape({a.shape})"


def reproducer(case: Case) -> str:
    """A snippet that runs ``case`` on both libraries (printed when they disagree)."""
    lines = [
        "import numpy as np, torch, idrak",
        "from numpy import nan, inf",
        "def run(lib, F, grad=False):",
    ]
    for name, arr in case.arrays.items():
        rg = name in case.grad and arr.dtype == np.float64
        lines.append(
            f"    {name} = lib.tensor({_literal(arr)}" + (", requires_grad=grad)" if rg else ")")
        )
    lines.append(f"    return {case.expr}")
    lines.append("print(run(torch, torch.nn.functional))")
    lines.append("print(run(idrak, idrak.nn.functional))")
    return "\n".join(lines)


def _outputs(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _outputs(x)]
    return [out]


def _to_numpy(o: Any) -> Any:
    if isinstance(o, torch.Tensor):
        return o.detach().numpy().copy()
    if isinstance(o, idrak.Tensor):
        return o.detach().numpy().copy()
    return o


def _run(lib: Any, F: Any, case: Case, grad: bool) -> tuple[list[Any], dict[str, Any]]:
    env: dict[str, Any] = {"lib": lib, "F": F, "math": math}
    for name, arr in case.arrays.items():
        rg = grad and name in case.grad
        env[name] = lib.tensor(arr.copy(), requires_grad=True) if rg else lib.tensor(arr.copy())
    out = eval(case.expr, env)
    return _outputs(out), env


def _dtype_name(t: Any) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def _fail(case: Case, what: str) -> None:
    raise AssertionError(
        f"[{case.family}] {case.expr}: {what}\n--- reproducer ---\n{reproducer(case)}"
    )


def _compare_values(case: Case, label: str, t: np.ndarray, i: np.ndarray, tol: float) -> None:
    if t.shape != i.shape:
        _fail(case, f"{label} shape torch {t.shape} idrak {i.shape}")
    if t.dtype.kind != "f":
        if not np.array_equal(t, i):
            _fail(case, f"{label} values differ:\ntorch {t!r}\nidrak {i!r}")
        return
    tn, inan = np.isnan(t), np.isnan(i)
    if not np.array_equal(tn, inan):
        _fail(case, f"{label} NaN positions differ:\ntorch {t!r}\nidrak {i!r}")
    tinf, iinf = np.isinf(t), np.isinf(i)
    if not np.array_equal(tinf, iinf) or not np.array_equal(t[tinf], i[tinf]):
        _fail(case, f"{label} infinities differ:\ntorch {t!r}\nidrak {i!r}")
    rtol, atol = TOLERANCES.get(str(t.dtype), (1e-3, 1e-3))
    fin = ~(tn | tinf)
    if not np.allclose(t[fin], i[fin], rtol=rtol * tol, atol=atol * tol):
        _fail(case, f"{label} values differ:\ntorch {t!r}\nidrak {i!r}")
    if case.signed_zero:
        z = fin & (t == 0) & (i == 0)
        if not np.array_equal(np.signbit(t[z]), np.signbit(i[z])):
            _fail(case, f"{label} signed zeros differ:\ntorch {t!r}\nidrak {i!r}")


def check_case(case: Case) -> None:
    """Run ``case`` on torch and idrak and raise AssertionError (with a reproducer) on any
    difference; counts the case in :data:`COUNTS`. Warnings (torch's degrees-of-freedom notice
    and the like) are silenced for the case only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _check_case(case)


def _check_case(case: Case) -> None:
    try:
        touts, _ = _run(torch, torch.nn.functional, case, grad=False)
        tvals = [_to_numpy(o) for o in touts]
        terr: BaseException | None = None
    except Exception as e:
        terr = e
    try:
        iouts, _ = _run(idrak, idrak_F, case, grad=False)
        ivals = [_to_numpy(o) for o in iouts]
        ierr: BaseException | None = None
    except Exception as e:
        ierr = e
    if terr is not None:
        if ierr is None:
            _fail(case, f"torch raises {type(terr).__name__}: {terr}; idrak returned {ivals!r}")
        COUNTS[(case.family, "raised")] += 1
        return
    if ierr is not None:
        _fail(case, f"torch returns {tvals!r}; idrak raises {type(ierr).__name__}: {ierr}")
    if len(tvals) != len(ivals):
        _fail(case, f"torch returns {len(tvals)} outputs, idrak {len(ivals)}")
    for k, (to, io, tv, iv) in enumerate(zip(touts, iouts, tvals, ivals)):
        label = f"output {k}"
        if isinstance(to, torch.Tensor):
            if not isinstance(io, idrak.Tensor):
                _fail(case, f"{label}: torch returns a Tensor, idrak {type(io).__name__}")
            if _dtype_name(to) != _dtype_name(io):
                _fail(case, f"{label} dtype torch {_dtype_name(to)} idrak {_dtype_name(io)}")
            _compare_values(case, label, tv, iv, case.tol)
        else:
            if type(tv) is not type(iv) and not (
                isinstance(tv, (int, float)) and isinstance(iv, (int, float))
            ):
                _fail(case, f"{label}: torch returns {tv!r}, idrak {iv!r}")
            if tv != iv and not (isinstance(tv, float) and math.isnan(tv) and math.isnan(iv)):
                _fail(case, f"{label}: torch returns {tv!r}, idrak {iv!r}")
    COUNTS[(case.family, "ok")] += 1
    _check_grads(case, touts)


def _check_grads(case: Case, touts: list[Any]) -> None:
    names = [
        n
        for n in case.grad
        if case.arrays[n].dtype == np.float64 and np.isfinite(case.arrays[n]).all()
    ]
    if len(names) != len([n for n in case.grad if case.arrays[n].dtype.kind == "f"]) or not names:
        return
    if not any(isinstance(o, torch.Tensor) and o.dtype.is_floating_point for o in touts):
        return
    case = Case(**{**case.__dict__, "grad": tuple(names)})
    grads = {}
    for lib, F in ((torch, torch.nn.functional), (idrak, idrak_F)):
        try:
            outs, env = _run(lib, F, case, grad=True)
            loss = None
            for o in outs:
                if isinstance(o, lib.Tensor) and o.dtype in (lib.float32, lib.float64):
                    ct = np.random.default_rng(12345).standard_normal(tuple(o.shape))
                    term = (o * lib.tensor(ct, dtype=o.dtype)).sum()
                    loss = term if loss is None else loss + term
            if loss is None or not loss.requires_grad:
                return
            loss.backward()
        except Exception as e:
            if lib is torch:
                return
            _fail(case, f"torch's backward runs; idrak's raises {type(e).__name__}: {e}")
        grads[lib.__name__] = {
            n: (
                np.zeros(case.arrays[n].shape)
                if env[n].grad is None
                else env[n].grad.detach().numpy().copy()
            )
            for n in names
        }
    # gradients are compared where torch's is finite, without the sign of zeros
    case = Case(**{**case.__dict__, "signed_zero": False})
    for n in names:
        tg, ig = grads["torch"][n], grads["idrak"][n]
        fin = np.isfinite(tg)
        _compare_values(case, f"grad of {n}", tg[fin], ig[fin], case.grad_tol)
    COUNTS[(case.family, "grad")] += 1
