"""Thread-local, re-entrant grad/eager/fusion modes and bounded lazy graphs."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pytest

import idrak
from idrak.engine import fusion, lazy
from idrak.engine.lazy import LazyBuffer


# re-entrant grad modes ---------------------------------------------------------------------------
def test_nesting_one_no_grad_instance_restores_the_mode() -> None:
    ng = idrak.no_grad()
    with ng:
        with ng:
            assert not idrak.is_grad_enabled()
        assert not idrak.is_grad_enabled()
    assert idrak.is_grad_enabled()
    eg = idrak.enable_grad()
    with idrak.no_grad(), eg:
        with eg:
            assert idrak.is_grad_enabled()
        assert idrak.is_grad_enabled()
    assert idrak.is_grad_enabled()


def test_recursive_decorated_functions_restore_the_mode() -> None:
    seen: list[bool] = []

    @idrak.no_grad()
    def down(n: int) -> None:
        seen.append(idrak.is_grad_enabled())
        if n:
            up(n - 1)
            seen.append(idrak.is_grad_enabled())

    @idrak.enable_grad
    def up(n: int) -> None:  # the bare decorator, as torch allows
        seen.append(idrak.is_grad_enabled())
        down(n)

    down(3)
    assert seen == [False, True, False, True, False, True, False, False, False, False]
    assert idrak.is_grad_enabled()

    @idrak.no_grad
    def fact(n: int) -> int:
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(5) == 120 and idrak.is_grad_enabled()


def test_set_grad_enabled_and_inference_mode() -> None:
    idrak.set_grad_enabled(False)  # the plain call sets the mode
    assert not idrak.is_grad_enabled()
    idrak.set_grad_enabled(True)
    with idrak.set_grad_enabled(False):
        assert not idrak.is_grad_enabled()
        with idrak.set_grad_enabled(True):
            assert idrak.is_grad_enabled()
        assert not idrak.is_grad_enabled()
    assert idrak.is_grad_enabled()

    @idrak.set_grad_enabled(False)
    def f() -> bool:
        return idrak.is_grad_enabled()

    assert idrak.is_grad_enabled()  # decorating does not change the mode
    assert f() is False and idrak.is_grad_enabled()
    with idrak.inference_mode():
        assert not idrak.is_grad_enabled() and idrak.is_inference_mode_enabled()
        with idrak.inference_mode(False):
            assert idrak.is_grad_enabled() and not idrak.is_inference_mode_enabled()
        w = idrak.ones(2, requires_grad=True)
        assert not (w * 2).requires_grad
    assert idrak.is_grad_enabled() and not idrak.is_inference_mode_enabled()

    @idrak.inference_mode
    def g() -> bool:
        return idrak.is_grad_enabled()

    assert g() is False
    with pytest.raises(TypeError, match="mode must be a bool, got 'no'"):
        idrak.set_grad_enabled("no")  # type: ignore[arg-type]


# per-thread modes ---------------------------------------------------------------------------------
def _in_thread(fn: Any) -> Any:
    box: list[Any] = []
    th = threading.Thread(target=lambda: box.append(fn()))
    th.start()
    th.join()
    return box[0]


def test_modes_are_per_thread() -> None:
    with idrak.no_grad(), idrak.eager():
        prev = fusion.set_enabled(False)
        try:
            other = _in_thread(lambda: (idrak.is_grad_enabled(), lazy.is_eager(), fusion.enabled()))
            assert other == (True, lazy._EAGER_DEFAULT, fusion._ENABLED_DEFAULT)
            assert not idrak.is_grad_enabled() and lazy.is_eager() and not fusion.enabled()
        finally:
            fusion.set_enabled(prev)


def _train(seed: int, steps: int, barrier: threading.Barrier | None) -> list[float]:
    rng = np.random.default_rng(seed)
    xs = idrak.tensor(rng.standard_normal((16, 4)))
    ys = idrak.tensor(rng.standard_normal((16, 1)))
    w = idrak.tensor(rng.standard_normal((4, 1)) * 0.1, requires_grad=True)
    losses = []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()  # interleave the two threads step by step
        loss = ((xs @ w - ys) ** 2).mean()
        loss.backward()
        with idrak.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
        losses.append(loss.item())
    return losses


def _evaluate(steps: int, barrier: threading.Barrier | None) -> list[float]:
    rng = np.random.default_rng(7)
    xs = idrak.tensor(rng.standard_normal((16, 4)))
    w = idrak.tensor(rng.standard_normal((4, 1)), requires_grad=True)
    out = []
    with idrak.no_grad():  # held open across the other thread's steps
        for _ in range(steps):
            if barrier is not None:
                barrier.wait()
            y = xs @ w
            assert not y.requires_grad
            out.append(float(y.sum().item()))
    return out


def test_two_threads_training_and_evaluating_match_sequential_runs() -> None:
    steps = 30
    seq = (_train(0, steps, None), _train(1, steps, None), _evaluate(steps, None))
    barrier = threading.Barrier(3)
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run(name: str, fn: Any) -> None:
        try:
            results[name] = fn()
        except BaseException as e:  # reported below
            errors.append(e)
            barrier.abort()

    threads = [
        threading.Thread(target=run, args=("a", lambda: _train(0, steps, barrier))),
        threading.Thread(target=run, args=("b", lambda: _train(1, steps, barrier))),
        threading.Thread(target=run, args=("e", lambda: _evaluate(steps, barrier))),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert (results["a"], results["b"], results["e"]) == seq
    assert seq[0][-1] < seq[0][0]


# bounded lazy graphs ------------------------------------------------------------------------------
def _live_unrealized() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is LazyBuffer and o.buf is None)


def test_micrograd_loop_without_item_stays_flat_and_trains() -> None:
    rng = np.random.default_rng(0)
    xs = idrak.tensor(rng.standard_normal((32, 3)))
    ys = idrak.tensor(rng.standard_normal((32, 3)) @ np.array([[1.0], [-2.0], [0.5]]))
    w1 = idrak.tensor(rng.standard_normal((3, 8)) * 0.5, requires_grad=True)
    w2 = idrak.tensor(rng.standard_normal((8, 1)) * 0.5, requires_grad=True)
    first = ((xs @ w1).tanh() @ w2 - ys).pow(2).mean().item()
    counts, depths = [], []
    for step in range(2000):
        loss = ((xs @ w1).tanh() @ w2 - ys).pow(2).mean()
        loss.backward()
        with idrak.no_grad():
            w1 -= 0.05 * w1.grad
            w2.data -= 0.05 * w2.grad  # the .data spelling of the same update
        w1.grad = None
        w2.grad = None
        if step in (200, 1999):
            counts.append(_live_unrealized())
            depths.append(max(w1.lazy.depth if w1.lazy.buf is None else 0, 0))
    last = ((xs @ w1).tanh() @ w2 - ys).pow(2).mean().item()
    assert w1.is_leaf and w1.requires_grad and w2.is_leaf
    assert counts[1] <= counts[0] + 2, counts  # no growth between step 200 and step 2000
    assert depths == [0, 0]  # the update was realized: nothing chains into the next step
    assert last < 0.5 * first


def test_a_long_unrealized_chain_is_realized_at_the_depth_bound() -> None:
    prev = lazy.set_max_depth(64)
    try:
        x = idrak.ones(4, dtype="float64")
        expect = np.ones(4)
        for _ in range(1000):
            x = x * 1.001 + 0.5
            expect = expect * 1.001 + 0.5
            assert x.lazy.depth <= 64 + 1
        np.testing.assert_allclose(x.numpy(), expect, rtol=1e-12)
        assert lazy.set_max_depth(0) == 64  # 0: unbounded
        y = idrak.ones(2)
        for _ in range(200):
            y = y + 1.0
        assert y.lazy.buf is None and y.lazy.depth == 201
    finally:
        lazy.set_max_depth(prev)
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        lazy.set_max_depth(-1)


def test_the_depth_bound_env_var() -> None:
    code = "from idrak.engine import lazy; print(lazy.max_depth())"
    env = {**os.environ, "IDRAK_MAX_LAZY_DEPTH": "17"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "17", out.stderr[-800:]
    env["IDRAK_MAX_LAZY_DEPTH"] = "lots"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (
        out.returncode != 0
        and "IDRAK_MAX_LAZY_DEPTH must be a non-negative integer, got 'lots'" in out.stderr
    )
