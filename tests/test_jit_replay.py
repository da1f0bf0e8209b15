"""idrak.jit's compiled replay (compile/replay.py) and the dispatch it is built on
(Backend.bound): the same calls Backend.run makes, the same checks, device contexts entered."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import idrak
from idrak.contract.backend import Backend
from idrak.contract.dtypes import ALL_DTYPES
from idrak.contract.ops import Op
from idrak.errors import NotSupportedError

f32 = idrak.float32


def _numpy_backend() -> Backend:
    be: Backend = idrak.runtime.plugins.get_backend("numpy")
    return be


@pytest.mark.parametrize(
    ("op", "srcs", "arg", "dtype"),
    [
        (Op.ADD, 2, None, f32),  # no params: fn(x, y)
        (Op.PERMUTE, 1, (1, 0), f32),  # one: fn(x, arg)
        (Op.PAD, 1, (((1, 0), (0, 2)), 0.5), f32),  # several: fn(x, *arg)
        (Op.FULL, 0, ((2, 3), 1.5, f32), f32),  # creation: fn(*arg, device_index)
        (Op.CAST, 1, idrak.float64, f32),  # CAST: fn(x, target)
    ],
)
def test_bound_calls_what_run_calls(op: Op, srcs: int, arg: Any, dtype: Any) -> None:
    be = _numpy_backend()
    xs = [be.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3) + i) for i in range(srcs)]
    fn, tail = be.bound(op, dtype, arg, 0)
    got, want = fn(*xs, *tail), be.run(op, tuple(xs), arg, dtype, 0)
    np.testing.assert_array_equal(be.to_numpy(got), be.to_numpy(want))
    assert be.to_numpy(got).dtype == be.to_numpy(want).dtype


def test_bound_checks_what_run_checks() -> None:
    be = _numpy_backend()
    hidden = sorted(be.caps.optional_ops, key=lambda o: o.name)
    assert hidden, "the NumPy backend declares optional ops"
    op = next(o for o in hidden if be.supports(o, f32))
    prev = be.set_capabilities(dataclasses.replace(be.caps, optional_ops=frozenset()))
    try:
        with pytest.raises(NotSupportedError, match=op.name):
            be.bound(op, f32, None, 0)
    finally:
        be.set_capabilities(prev)
    undeclared = [d for d in ALL_DTYPES if not be.supports(Op.CAST, d)]
    if undeclared:
        with pytest.raises(NotSupportedError, match="CAST"):
            be.bound(Op.CAST, f32, undeclared[0], 0)


def _step_fn() -> tuple[Any, list[idrak.Tensor]]:
    w = idrak.tensor(np.ones((3, 2), np.float32), requires_grad=True)

    def f(x: idrak.Tensor) -> idrak.Tensor:
        loss = (x.matmul(w).relu() * 2.0).sum()
        loss.backward()
        with idrak.no_grad():
            w.assign(w - 0.1 * w.grad)  # type: ignore[operator]
        w.grad = None
        return loss

    xs = [idrak.tensor(np.full((4, 3), 0.1 * i, np.float32)) for i in range(5)]
    return f, [w, *xs]


def test_replay_matches_the_plain_calls() -> None:
    f, (w, *xs) = _step_fn()
    plain = [f(x).item() for x in xs]
    w_plain = w.numpy()
    f2, (w2, *xs2) = _step_fn()
    fn = idrak.jit(f2)
    got = [fn(x).item() for x in xs2]
    assert fn.stats["replays"] >= 3
    np.testing.assert_allclose(got, plain, rtol=1e-6)
    np.testing.assert_allclose(w2.numpy(), w_plain, rtol=1e-6)


def test_replay_runs_the_backend_methods_resolved_once() -> None:
    """After the first replay, each replay calls the bound methods themselves (no
    Backend.run), once per recorded step."""
    be = _numpy_backend()
    f, (_, *xs) = _step_fn()
    fn = idrak.jit(f)
    fn(xs[0])  # trace
    fn(xs[1])  # first replay: compiles
    calls = {"run": 0}
    run = be.run

    def counting_run(*a: Any) -> Any:
        calls["run"] += 1
        return run(*a)

    be.run = counting_run  # type: ignore[method-assign]
    try:
        fn(xs[2])
        fn(xs[3])
    finally:
        del be.run
    assert calls["run"] == 0
    prog = next(e for e in fn._cache.values() if not isinstance(e, str)).program
    n_mm = sum(st.op is Op.MATMUL for st in prog.steps)
    assert n_mm >= 2  # forward and the weight gradient
    src = prog._compiled.__doc__
    assert src is not None and src.count("# MATMUL") == n_mm


@contextlib.contextmanager
def _counting(counter: list[int], index: int) -> Iterator[None]:
    counter.append(index)
    yield


def test_replay_enters_the_device_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend with a device context (CUDA) gets every replayed step run inside it, as
    engine.lazy.execute runs realized nodes."""
    be = _numpy_backend()
    entered: list[int] = []
    monkeypatch.setattr(
        type(be), "device_context", lambda self, i: _counting(entered, i), raising=True
    )
    f, (_, *xs) = _step_fn()
    fn = idrak.jit(f)
    for x in xs[:3]:
        fn(x)
    entered.clear()
    fn(xs[3]).item()
    assert fn.stats["replays"] >= 2
    assert entered and set(entered) == {0}


def test_repeated_views_are_computed_once() -> None:
    """The same view of the same value (a 0-d scalar reshaped for two parameters of the same
    rank) is one step of the replay; results unchanged."""
    a = idrak.tensor(np.arange(3, dtype=np.float32))
    b = idrak.tensor(np.arange(4, dtype=np.float32))

    def f(s: idrak.Tensor) -> tuple[idrak.Tensor, idrak.Tensor]:
        t = s * 2.0
        return a * t.reshape(1).expand(3), b * t.reshape(1).expand(4)

    fn = idrak.jit(f)
    prev = idrak.fusion.set_enabled(False)  # op by op: the views stay steps of their own
    try:
        for i in range(4):
            s = idrak.tensor(np.float32(i + 1))
            got = [r.numpy() for r in fn(s)]
            want = [r.numpy() for r in f(s)]
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)
    finally:
        idrak.fusion.set_enabled(prev)
    prog = next(e for e in fn._cache.values() if not isinstance(e, str)).program
    ops = [st.op for st in prog.steps]
    assert ops.count(Op.RESHAPE) == 1 and ops.count(Op.EXPAND) == 2


def test_a_backend_that_wraps_run_keeps_its_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend overriding Backend.run (the CUDA one translates device errors there) is
    replayed through its run, not around it."""
    be = _numpy_backend()
    seen: list[str] = []
    base_run = Backend.run

    def wrapped(self: Backend, op: Op, *rest: Any) -> Any:
        seen.append(op.name)
        return base_run(self, op, *rest)

    monkeypatch.setattr(type(be), "run", wrapped, raising=False)
    fn, tail = be.bound(Op.ADD, f32, None, 0)
    x = be.from_numpy(np.ones(3, np.float32))
    np.testing.assert_array_equal(be.to_numpy(fn(x, x, *tail)), [2.0, 2.0, 2.0])
    assert seen == ["ADD"]
    f, (_, *xs) = _step_fn()
    jitted = idrak.jit(f)
    for x in xs[:3]:
        jitted(x)
    seen.clear()
    jitted(xs[3])
    assert "MATMUL" in seen
