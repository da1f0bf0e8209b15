"""Layer 5, autograd: gradients through the backend, for every op that has a VJP rule.

For each differentiable op, a small Tensor program using it runs on the device in float64 (or
float32 where the backend has no float64), with loss ``sum(f(x) * w)`` for a fixed random ``w``:

* ``grad`` — the gradient from ``idrak.grad`` matches central finite differences of the loss
  along random directions;
* ``double`` — the gradient of ``<grad, u>`` (a second backward through a graph recorded with
  ``create_graph=True``) matches finite differences of ``<grad, u>`` itself.

Inputs stay away from the points where an op is not differentiable (ties of MAX, ...). Each op's
program is the ``grad`` field of its reference record (:data:`idrak.testing._reference.REFERENCES`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.dtypes import DType, bool_, float16, float32, float64, int64
from idrak.contract.ops import REQUIRED, Op
from idrak.core.autograd import _VJPS
from idrak.testing._compare import ConformanceFailure, snippet
from idrak.testing._reference import REFERENCES
from idrak.testing._session import Check, Session, core_deps, parametrize, rng_for
from idrak.testing._values import dtype_code, literal, np_dtype

#: step and tolerance of the finite differences: (h, rtol) per dtype
FD = {"float64": (1e-6, 1e-6), "float32": (1e-2, 2e-2), "float16": (1e-1, 1e-1)}


def grad_dtype(s: Session) -> DType | None:
    """float64 if declared, else float32, else float16."""
    return next((d for d in (float64, float32, float16) if d in s.caps.dtypes), None)


def _other_float(s: Session, dt: DType) -> DType | None:
    return next(
        (d for d in (float32, float64, float16) if d != dt and s.supports(Op.CAST, d)), None
    )


def _checks(s: Session) -> list[Check]:
    dt = grad_dtype(s)
    if dt is None:
        return []
    out = []
    for op in sorted(_VJPS, key=lambda o: list(Op).index(o)):
        deps = core_deps([dt, bool_, int64])
        other = _other_float(s, dt) if op is Op.CAST else None
        if other is not None:
            deps += core_deps([dt, other])
        first = Check(
            "autograd", op.name, dt.name, "grad", deps, {"op": op, "dt": dt, "other": other}
        )
        out += [
            first,
            Check("autograd", op.name, dt.name, "double", (first.key, *deps), first.data),
        ]
    return out


def pytest_generate_tests(metafunc: Any) -> None:
    parametrize(metafunc, _checks)


def test_autograd(check: Check) -> None:
    """Gradients (and gradients of gradients) match finite differences."""
    import pytest

    import idrak

    s, op, dt = check.s, check.data["op"], check.data["dt"]
    spec = REFERENCES.get(op)
    prog = spec.grad if spec is not None else None
    if prog is None:
        raise ConformanceFailure(
            f"idrak.testing has no autograd program for {op.name}, which has a VJP rule: "
            "give its reference record a grad=Program(...) (idrak/testing/_reference.py, "
            "_optional_reference.py)"
        )
    if op in REQUIRED and not s.supports(op, dt):
        pytest.skip(f"{op.name} is not declared for {dt.name}")
    code = prog.code
    if op is Op.CAST:
        if check.data["other"] is None:
            pytest.skip(f"CAST needs a second floating dtype besides {dt.name}")
        code = code.format(other=dtype_code(check.data["other"]), dt=dtype_code(dt))
    rng = rng_for(check)
    xs = [rng.uniform(lo, hi, shape) for shape, lo, hi in prog.inputs]
    if prog.prep is not None:
        xs = prog.prep(xs, rng)
    xs = [x.astype(np_dtype(dt)) for x in xs]
    consts = [prog.const(rng)] if prog.const is not None else []
    prog_fn = eval(f"lambda x0=None, x1=None, c0=None: {code}", {"idrak": idrak})
    dev = s.name

    def fn(*ts: Any) -> Any:  # differentiable inputs first, then the constant
        kw = {f"x{i}": t for i, t in enumerate(ts[: len(xs)])}
        return prog_fn(**kw, **({"c0": ts[len(xs)]} if len(ts) > len(xs) else {}))

    def tensors(vals: list[np.ndarray], grad: bool) -> list[Any]:
        return [idrak.tensor(v, device=dev, requires_grad=grad) for v in vals]

    cs = tensors(consts, False)
    with idrak.no_grad():
        shape = fn(*tensors(xs, False), *cs).shape
    w = rng.uniform(-1.0, 1.0, shape).astype(np_dtype(dt))
    u = [rng.uniform(-1.0, 1.0, x.shape).astype(np_dtype(dt)) for x in xs]
    wt = idrak.tensor(w, device=dev)
    ut = tensors(u, False)

    def grads(vals: list[np.ndarray], create: bool) -> tuple[list[Any], Any]:
        ts = tensors(vals, True)
        loss = (fn(*ts, *cs) * wt).sum()
        gs = idrak.grad(loss, ts, create_graph=create)
        return [g for g in gs], ts

    def scalar(vals: list[np.ndarray]) -> float:
        if check.kind == "grad":
            with idrak.no_grad():
                return float((fn(*tensors(vals, False), *cs) * wt).sum().item())
        gs, _ = grads(vals, False)  # <grad, u>
        return float(sum((g.detach() * ui).sum().item() for g, ui in zip(gs, ut)))

    if check.kind == "grad":
        an = [g.numpy() for g in grads(xs, False)[0]]
    else:
        gs, ts = grads(xs, True)
        sv = sum((g * ui).sum() for g, ui in zip(gs, ut))
        if getattr(sv, "requires_grad", False):
            hs = idrak.grad(sv, ts, allow_unused=True)
            an = [np.zeros(x.shape) if h is None else h.numpy() for h, x in zip(hs, xs)]
        else:  # the gradient does not depend on x (a linear op): second derivative 0
            an = [np.zeros(x.shape) for x in xs]
    h, rtol = FD[dt.name]
    h = prog.h or h
    check.repro = _repro(check, code, xs, consts, w, u, h)
    for _ in range(2):
        v = [rng.standard_normal(x.shape) for x in xs]
        plus = scalar([(x + h * vi).astype(x.dtype) for x, vi in zip(xs, v)])
        minus = scalar([(x - h * vi).astype(x.dtype) for x, vi in zip(xs, v)])
        fd = (plus - minus) / (2 * h)
        dot = float(sum((a.astype(np.float64) * vi).sum() for a, vi in zip(an, v)))
        scale = float(sum((np.abs(a) * np.abs(vi)).sum() for a, vi in zip(an, v)))
        scale += (abs(plus) + abs(minus)) * 1e-3 * (1e-9 if dt is float64 else 1.0)
        if not abs(fd - dot) <= rtol * max(scale, 1e-3):
            raise ConformanceFailure(
                f"{'gradient' if check.kind == 'grad' else 'second derivative'} of {code} "
                f"({dt.name}) along a random direction: autograd gives {dot:.9g}, finite "
                f"differences (h={h:g}) give {fd:.9g}",
                check.repro,
            )


def _repro(
    check: Check,
    code: str,
    xs: list[np.ndarray],
    consts: list[np.ndarray],
    w: np.ndarray,
    u: list[np.ndarray],
    h: float,
) -> str:
    dev = check.s.name
    n = len(xs)
    names = ", ".join(f"x{i}" for i in range(n))
    body = [f"xs = [{', '.join(literal(x) for x in xs)}]"]
    if consts:
        body.append(f"c0 = idrak.tensor({literal(consts[0])}, device={dev!r})")
    body += [
        f"w = idrak.tensor({literal(w)}, device={dev!r})",
        f"def f({names}):",
        f"    return (({code}) * w).sum()",
        "",
    ]
    if check.kind == "double":
        body += [
            f"us = [{', '.join(literal(x) for x in u)}]",
            f"def f2({names}):  # <grad f, u>",
            f"    gs = idrak.grad(f({names}), [{names}], create_graph=True)",
            "    return sum((g * idrak.tensor(ui, device=g.device)).sum() "
            "for g, ui in zip(gs, us))",
            "",
            "g = f2",
        ]
    else:
        body.append("g = f")
    body += [
        f"ts = [idrak.tensor(x, device={dev!r}, requires_grad=True) for x in xs]",
        "an = [np.zeros(x.shape) if a is None else a.numpy()",
        "      for a, x in zip(idrak.grad(g(*ts), ts, allow_unused=True), xs)]",
        "v = [np.ones_like(x) for x in xs]",
        f"h = {h!r}",
        "def at(sign):",
        f"    return g(*[idrak.tensor((x + sign * h * vi).astype(x.dtype), device={dev!r}, "
        "requires_grad=True) for x, vi in zip(xs, v)]).item()",
        "plus, minus = at(1), at(-1)",
        'print("autograd:", sum(float((a * vi).sum()) for a, vi in zip(an, v)))',
        'print("finite differences:", (plus - minus) / (2 * h))',
    ]
    return snippet(check.key, dev, body)
