"""The programs in tests/ports/ (in the style of pytorch/examples MNIST, makemore and nanoGPT)
run under torch and, with only their ``import torch`` line changed, under idrak; both runs
start from the same weights and batches and must agree (losses, evaluations, greedy samples).

Names that other parts of issue 16 add (tril, roll, topk, multinomial, ModuleList, ModuleDict,
scaled_dot_product_attention) may be missing on this branch: a port that needs a missing one is
marked xfail (not strict), naming them.
"""

from __future__ import annotations

import importlib
import math
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
# torch warns that pin_memory=True does nothing without an accelerator
pytestmark = pytest.mark.filterwarnings("ignore:.*pin_memory.*:UserWarning")

PORTS = Path(__file__).parent / "ports"
IMPORT = "\nimport torch\n"


def _program(name: str, lib: str) -> Callable[[list[str]], dict[str, Any]]:
    """The ``main`` of ``tests/ports/<name>.py``, run on ``lib`` ("torch" or "idrak")."""
    source = (PORTS / f"{name}.py").read_text()
    assert source.count(IMPORT) == 1 and "import idrak" not in source
    if lib == "idrak":
        source = source.replace(IMPORT, "\nimport idrak as torch\n")
    module = types.ModuleType(f"port_{name}_{lib}")
    sys.modules[module.__name__] = module  # dataclasses look their module up while defined
    try:
        exec(compile(source, str(PORTS / f"{name}.py"), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.main  # type: ignore[no-any-return]


def _missing(names: list[str]) -> list[str]:
    out = []
    for dotted in names:
        mod, _, attr = dotted.rpartition(".")
        if not hasattr(importlib.import_module(mod), attr):
            out.append(dotted)
    return out


def _needs(names: list[str]) -> Callable[[Any], Any]:
    """xfail (not strict) when one of ``names`` is missing here; otherwise no mark."""
    missing = _missing(names)
    if not missing:
        return lambda f: f
    return pytest.mark.xfail(strict=False, reason=f"needs part D/F: missing {missing}")


MAKEMORE_NEEDS = ["idrak.tril", "idrak.roll", "idrak.topk", "idrak.multinomial",
                  "idrak.nn.ModuleDict", "idrak.nn.ModuleList"]  # fmt: skip
NANOGPT_NEEDS = ["idrak.topk", "idrak.multinomial", "idrak.nn.ModuleDict", "idrak.nn.ModuleList"]
if _missing(["idrak.nn.functional.scaled_dot_product_attention"]):
    NANOGPT_NEEDS.append("idrak.tril")  # the port's slow path masks with tril


def _close(a: Any, b: Any, rtol: float, what: str) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol, err_msg=what)


def test_mnist_port_matches_torch() -> None:
    args = ["--dropout", "0", "0"]
    want = _program("mnist_port", "torch")(args)
    got = _program("mnist_port", "idrak")(args)
    _close(got["losses"], want["losses"], 1e-4, "training losses")
    assert [c for _, c in got["tests"]] == [c for _, c in want["tests"]]
    _close(
        [loss for loss, _ in got["tests"]], [loss for loss, _ in want["tests"]], 1e-4, "test loss"
    )
    assert got["before"][1] == want["before"][1]
    _close(got["lrs"], want["lrs"], 1e-12, "StepLR")
    assert got["tests"][-1][1] > got["before"][1]  # it learned


def test_mnist_port_with_shuffle_dropout_and_workers_on_idrak() -> None:
    got = _program("mnist_port", "idrak")(["--shuffle", "--num-workers", "2", "--epochs", "1"])
    assert len(got["losses"]) == 6 and all(math.isfinite(v) for v in got["losses"])


@pytest.mark.parametrize("model", ["transformer", "mlp"])
@_needs(MAKEMORE_NEEDS)
def test_makemore_port_matches_torch(model: str) -> None:
    args = ["--type", model, "--sequential", "--top-k", "5"]
    want = _program("makemore_port", "torch")(args)
    got = _program("makemore_port", "idrak")(args)
    _close(got["losses"], want["losses"], 2e-4, "training losses")
    _close(got["test_loss"], want["test_loss"], 2e-4, "test loss")
    assert got["greedy"] == want["greedy"]
    assert all(0 <= t < got["vocab_size"] for row in got["sampled"] for t in row)
    rand = _program("makemore_port", "idrak")(["--type", model, "--num-workers", "2"])
    assert all(math.isfinite(v) for v in rand["losses"])


@_needs(NANOGPT_NEEDS)
def test_nanogpt_port_matches_torch() -> None:
    args = ["--fixed-batches"]
    want = _program("nanogpt_port", "torch")(args)
    got = _program("nanogpt_port", "idrak")(args)
    _close(got["losses"], want["losses"], 2e-4, "training losses")
    _close(got["lrs"], want["lrs"], 1e-12, "cosine schedule")
    _close(got["estimate"]["val"], want["estimate"]["val"], 2e-4, "estimate_loss")
    assert got["num_params"] == want["num_params"]  # weight tying counted once
    assert all(0 <= t < got["vocab_size"] for row in got["sample"] for t in row)
