"""Run an idrak module and its torch twin (torch's weights loaded into idrak through
``load_state_dict`` of the torch ``state_dict`` converted to NumPy) on the same float64 inputs;
compare every output, the input gradients and every parameter gradient by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _gradcheck import assert_close

import idrak

Build = Callable[[Any], Any]  # lib (torch or idrak) -> module
Call = Callable[[Any, list[Any], Any], Any]  # (module, inputs, lib) -> outputs


def flat(out: Any) -> list[Any]:
    """Nested tuples/lists of tensors (None skipped) as one flat list."""
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def to_lib(a: np.ndarray, lib: Any, dev: str) -> Any:
    grad = a.dtype.kind == "f"
    if lib is idrak:
        return idrak.tensor(a, device=dev, requires_grad=grad)
    return lib.tensor(a, requires_grad=grad)


def check_twin(
    build: Build,
    inputs: list[np.ndarray],
    call: Call,
    dev: str,
    what: str,
    tol: float = 1e-10,
    train: bool = True,
) -> Any:
    """Build both modules, load torch's weights into idrak, compare forward and backward.

    Returns the idrak module (for further checks)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = build(torch).double()
    im = build(idrak).to(device=dev, dtype=idrak.float64)
    state = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    result = im.load_state_dict({k: idrak.tensor(v, device=dev) for k, v in state.items()})
    assert not list(getattr(result, "missing_keys", [])), f"{what}: missing {result}"
    assert sorted(im.state_dict()) == sorted(state), f"{what}: state_dict keys differ"
    tm.train(train)
    im.train(train)
    ti = [to_lib(a, torch, dev) for a in inputs]
    ii = [to_lib(a, idrak, dev) for a in inputs]
    to, io = flat(call(tm, ti, torch)), flat(call(im, ii, idrak))
    assert len(to) == len(io), f"{what}: {len(io)} outputs, torch gives {len(to)}"
    rng = np.random.default_rng(7)
    tloss, iloss = 0.0, 0.0
    for k, (t, i) in enumerate(zip(to, io)):
        assert_close(i.numpy(), t.detach().numpy(), tol, tol, f"{what}: output {k}")
        if t.dtype.is_floating_point and t.requires_grad:
            r = rng.standard_normal(tuple(t.shape))
            tloss = tloss + (t * torch.tensor(r)).sum()
            iloss = iloss + (i * idrak.tensor(r, device=dev)).sum()
    if isinstance(tloss, float):
        return im
    tloss.backward()
    iloss.backward()
    for k, (t, i) in enumerate(zip(ti, ii)):
        if t.grad is not None:
            assert i.grad is not None, f"{what}: input {k} got no gradient"
            assert_close(i.grad.numpy(), t.grad.numpy(), tol, tol, f"{what}: grad of input {k}")
    tparams = dict(tm.named_parameters())
    for name, p in im.named_parameters():
        tg = tparams[name].grad
        if tg is None:
            assert p.grad is None or not np.any(p.grad.numpy()), f"{what}: {name} grad"
            continue
        assert p.grad is not None, f"{what}: parameter {name} got no gradient"
        assert_close(p.grad.numpy(), tg.numpy(), tol, tol, f"{what}: grad of {name}")
    return im
