"""Ops that return new memory in torch never hand back their input, even when they change
nothing (a roll by 0, a sum over no dimension, floor of an integer...): an in-place op on the
result must leave the input as it was. (Views are the exception, and write through, as in
torch: tests/test_inplace.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import idrak

F32 = lambda: idrak.tensor([[1.5, -2.0, 3.0]])  # noqa: E731
CASES: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
    "roll by 0": (F32, lambda x: x.roll(0, 1)),
    "roll by the size": (F32, lambda x: x.roll(3, 1)),
    "roll flat by 0": (F32, lambda x: x.roll(0)),
    "sum of a 0-d": (lambda: idrak.tensor(2.0), lambda x: x.sum(0)),
    "amax of a 0-d": (lambda: idrak.tensor(2.0), lambda x: x.amax(0)),
    "logsumexp of a 0-d": (lambda: idrak.tensor(2.0), lambda x: x.logsumexp(0)),
    "abs of uint8": (lambda: idrak.tensor([1, 2], dtype="uint8"), lambda x: x.abs()),
    "sign of bool": (lambda: idrak.tensor([True]), lambda x: x.sign()),
    "floor of int": (lambda: idrak.tensor([1, 2]), lambda x: x.floor()),
    "ceil of int": (lambda: idrak.tensor([1, 2]), lambda x: x.ceil()),
    "round of int": (lambda: idrak.tensor([1, 2]), lambda x: x.round()),
    "trunc of int": (lambda: idrak.tensor([1, 2]), lambda x: x.trunc()),
    "softmax of an empty dim": (lambda: idrak.ones(2, 0), lambda x: x.softmax(1)),
    "cumprod of length 1": (lambda: idrak.tensor([3.0]), lambda x: x.cumprod(0)),
    "cumsum of length 1": (lambda: idrak.tensor([3.0]), lambda x: x.cumsum(0)),
    "cummax of length 1": (lambda: idrak.tensor([3.0]), lambda x: x.cummax(0).values),
    "logcumsumexp of length 1": (lambda: idrak.tensor([3.0]), lambda x: x.logcumsumexp(0)),
    "sort of length 1": (lambda: idrak.tensor([3.0]), lambda x: x.sort().values),
    "topk of everything": (F32, lambda x: x.topk(3).values),
    "tril keeping all": (F32, lambda x: x.tril(5)),
    "triu keeping all": (F32, lambda x: x.triu(-5)),
    "clone": (F32, lambda x: x.clone()),
    "contiguous": (F32, lambda x: x.contiguous()),
    "flip": (F32, lambda x: x.flip(0)),
    "clamp that clamps nothing": (F32, lambda x: x.clamp(-10.0, 10.0)),
    "masked_fill with no True": (F32, lambda x: x.masked_fill(x > 100, 0.0)),
    "where on all True": (F32, lambda x: idrak.where(x == x, x, 0.0)),
    "times one": (F32, lambda x: x * 1),
    "plus zero": (F32, lambda x: x + 0),
    "cat of one": (F32, lambda x: idrak.cat([x])),
    "stack then select": (F32, lambda x: idrak.stack([x])[0]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_inplace_op_on_the_result_leaves_the_input(name: str) -> None:
    make, op = CASES[name]
    x = make()
    before = x.numpy().copy()
    y = op(x)
    assert y is not x
    y.zero_()
    assert np.array_equal(x.numpy(), before), f"{name}: the input changed to {x.numpy()}"
