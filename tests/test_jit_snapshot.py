"""idrak.jit's cheap state check (compile/snapshot.py) against the full walk it replaces.

Every change the full walk's signature sees must make the check give up (return None) or give
exactly the full walk's key and tensors; the changes a replay can absorb (a new tensor of the
same kind, a new learning rate, new input batches) must keep the cheap path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import idrak
from idrak.compile.snapshot import Snapshot
from idrak.compile.state import State

nn = pytest.importorskip("idrak.nn")
optim = pytest.importorskip("idrak.optim")
F = pytest.importorskip("idrak.nn.functional")


class _Sub(nn.Linear):  # type: ignore[misc]
    """A Linear of another type (a class change must be seen)."""


def _setup() -> tuple[Any, Any, list[Any], idrak.Tensor]:
    idrak.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = idrak.tensor(np.ones((4, 3), np.float32))
    F.mse_loss(model(x), idrak.zeros(4, 2)).backward()
    opt.step()
    extra: list[Any] = [1, "a"]
    return model, opt, extra, x


def _roots(x: idrak.Tensor, state: list[Any], **kw: Any) -> tuple[Any, Any, Any]:
    return ((x,), kw, state)


def _snap(roots: tuple[Any, Any, Any]) -> Snapshot:
    return Snapshot(State(roots, record=frozenset({id(roots[1])})), roots, False)


def _agrees(snap: Snapshot, roots: tuple[Any, Any, Any]) -> State | None:
    """The check's result, after asserting it is what a full walk says whenever it answers."""
    got = snap.check(roots)
    full = State(roots)
    if got is not None:
        assert got.key() == full.key()
        assert [id(t) for t in got.tensors] == [id(t) for t in full.tensors]
    return got


def _first_state(opt: Any) -> dict[str, Any]:
    return next(iter(opt.state.values()))  # type: ignore[no-any-return]


MUST_CATCH: dict[str, Callable[[Any, Any, list[Any], idrak.Tensor], Any]] = {
    "new attribute": lambda m, o, e, x: setattr(m, "scale", 2),
    "removed attribute": lambda m, o, e, x: delattr(m, "training"),
    "changed flag": lambda m, o, e, x: setattr(m, "training", False),
    "new dict key": lambda m, o, e, x: _first_state(o).__setitem__("extra", 1),
    "removed dict key": lambda m, o, e, x: _first_state(o).pop("step"),
    "python number in the signature": lambda m, o, e, x: o.param_groups[0].__setitem__(
        "weight_decay", 0.5
    ),
    "list item changed": lambda m, o, e, x: e.__setitem__(0, 2),
    "list grown": lambda m, o, e, x: e.append(3),
    "tensor of another shape": lambda m, o, e, x: _first_state(o).__setitem__(
        "exp_avg", idrak.zeros(5)
    ),
    "tensor of another dtype": lambda m, o, e, x: _first_state(o).__setitem__(
        "exp_avg", idrak.zeros(*_first_state(o)["exp_avg"].shape, dtype=idrak.float64)
    ),
    "tensor aliased to another": lambda m, o, e, x: _first_state(o).__setitem__(
        "exp_avg", _first_state(o)["exp_avg_sq"]
    ),
    "requires_grad changed": lambda m, o, e, x: m.bias.requires_grad_(False),
    "shape changed in place": lambda m, o, e, x: setattr(m.bias, "lazy", idrak.zeros(3).lazy),
    "class changed": lambda m, o, e, x: setattr(m, "__class__", _Sub),
    "attribute dict replaced": lambda m, o, e, x: setattr(m, "__dict__", dict(vars(m))),
    "betas of another length": lambda m, o, e, x: o.param_groups[0].__setitem__(
        "betas", (0.9, 0.99, 0.1)
    ),
    "learning rate of another type": lambda m, o, e, x: o.param_groups[0].__setitem__("lr", 1),
}


@pytest.mark.parametrize("name", sorted(MUST_CATCH))
def test_a_change_the_walk_sees_is_caught(name: str) -> None:
    model, opt, extra, x = _setup()
    roots = _roots(x, [model, opt, extra])
    snap = _snap(roots)
    before = State(roots).key()
    assert _agrees(snap, roots) is not None  # unchanged: the cheap path
    MUST_CATCH[name](model, opt, extra, x)
    assert _agrees(snap, roots) is None
    assert State(roots).key() != before or name == "attribute dict replaced"


def test_a_new_tensor_of_the_same_kind_keeps_the_cheap_path() -> None:
    model, opt, extra, x = _setup()
    state = [model, opt, extra]
    snap = _snap(_roots(x, state))
    st = _first_state(opt)
    new = idrak.zeros(*st["exp_avg"].shape)
    st["exp_avg"] = new
    x2 = idrak.tensor(np.zeros((4, 3), np.float32))
    got = _agrees(snap, _roots(x2, state))
    assert got is not None
    assert any(t is new for t in got.tensors) and any(t is x2 for t in got.tensors)
    assert _agrees(snap, _roots(x2, state)) is not None  # and stays on it
    assert _agrees(snap, _roots(x2, [model, opt, extra])) is None  # another state list


def test_a_new_batch_of_another_shape_is_caught() -> None:
    model, opt, extra, x = _setup()
    snap = _snap(_roots(x, [model, opt, extra]))
    x2 = idrak.tensor(np.zeros((5, 3), np.float32))
    assert _agrees(snap, _roots(x2, [model, opt, extra])) is None


def test_other_keyword_arguments_are_caught() -> None:
    model, opt, _, x = _setup()
    state = [model, opt]
    snap = _snap(_roots(x, state, k=1))
    assert _agrees(snap, _roots(x, state, k=1)) is not None
    assert _agrees(snap, _roots(x, state, j=1)) is None
    assert _agrees(snap, _roots(x, state, k=2)) is None


def test_a_gradient_change_changes_the_key() -> None:
    """Gradients are not in the walk: State.key reads them on every call."""
    model, opt, _, x = _setup()
    roots = _roots(x, [model, opt])
    snap = _snap(roots)
    k0 = _agrees(snap, roots)
    assert k0 is not None
    key0 = k0.key()
    model.bias.grad = None
    got = _agrees(snap, roots)
    assert got is not None and got.key() != key0
    model.bias.grad = idrak.zeros(2, dtype=idrak.float64)
    got = _agrees(snap, roots)
    assert got is not None and got.key() != key0


def test_a_new_learning_rate_is_a_replay_input() -> None:
    """A scheduled learning rate keeps the signature and the cheap path; the optimizer's
    mirror tensor is made current by the check, as by the walk."""
    model, opt, _, x = _setup()
    roots = _roots(x, [model, opt])
    snap = _snap(roots)
    opt.param_groups[0]["lr"] = 0.05
    got = _agrees(snap, roots)
    assert got is not None
    mirror = opt._mirrors["0.lr@numpy:0"]
    assert float(mirror.item()) == 0.05 and any(t is mirror for t in got.tensors)


def test_jit_retraces_on_a_changed_hyperparameter_and_matches_plain() -> None:
    """End to end: weight decay changed between jitted calls is seen (a retrace), and the
    parameters equal those of the same calls without jit."""

    def run(jit: bool) -> list[np.ndarray]:
        idrak.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.Adam(model.parameters(), lr=0.1)
        rng = np.random.default_rng(0)

        def step(x: idrak.Tensor) -> idrak.Tensor:
            opt.zero_grad()
            loss = F.mse_loss(model(x), idrak.zeros(4, 2))
            loss.backward()
            opt.step()
            return loss

        fn = idrak.jit(step, state=[model, opt]) if jit else step
        for i in range(8):
            if i == 5:
                opt.param_groups[0]["weight_decay"] = 0.1
            fn(idrak.tensor(rng.standard_normal((4, 3)).astype(np.float32)))
        if jit:
            assert fn.stats["traces"] >= 3 and fn.stats["replays"] >= 3, fn.stats
        return [p.numpy() for p in model.parameters()]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def test_the_snapshot_keeps_no_replaced_tensor_alive() -> None:
    """Tensors the replays replaced (the optimizer's state of earlier steps, earlier batches)
    are freed: the snapshot holds only the current ones."""
    import gc
    import weakref

    idrak.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)

    def step(x: idrak.Tensor) -> idrak.Tensor:
        opt.zero_grad()
        loss = F.mse_loss(model(x), idrak.zeros(4, 2))
        loss.backward()
        opt.step()
        return loss

    fn = idrak.jit(step, state=[model, opt])
    olds, batches = [], []
    for i in range(8):
        x = idrak.tensor(np.full((4, 3), 0.1 * i, np.float32))
        fn(x)
        olds.append(weakref.ref(_first_state(opt)["exp_avg"]))
        batches.append(weakref.ref(x))
        del x
    assert fn.stats["replays"] >= 5 and fn._snap is not None
    gc.collect()
    alive = [i for i, r in enumerate(olds[:-1]) if r() is not None]
    assert alive == [] and olds[-1]() is not None
    assert [i for i, r in enumerate(batches[:-1]) if r() is not None] == []
