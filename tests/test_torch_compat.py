"""PyTorch's spellings on idrak: errors that are RuntimeErrors, dtype aliases, the Tensor
``new_*`` / ``type_as`` methods, the mm/bmm/addmm family (values and gradients against torch in
float64, and finite differences), inference_mode, device queries and backends flags."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from tests._gradcheck import numerical_grad

import idrak
from idrak.errors import IdrakError, NotSupportedError, ShapeError

torch = pytest.importorskip("torch")


# errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        lambda: idrak.ones(2, 3) @ idrak.ones(2, 3),
        lambda: idrak.ones(2, 3) + idrak.ones(4, 3),
        lambda: idrak.ones(6).reshape(4, 2),
        lambda: idrak.cat([idrak.ones(2, 3), idrak.ones(2, 4)]),
        lambda: idrak.ones(2, 3).expand(3, 3),
        lambda: idrak.ones(3).item(),
        lambda: idrak.mm(idrak.ones(2, 3), idrak.ones(2, 3)),
    ],
    ids=["matmul", "broadcast", "reshape", "cat", "expand", "item", "mm"],
)
def test_shape_errors_are_runtime_and_value_errors(bad: Any) -> None:
    with pytest.raises(RuntimeError):
        bad()
    with pytest.raises(ValueError):
        bad()
    with pytest.raises(ShapeError):
        bad()


def test_torch_raises_runtime_error_for_the_same_cases() -> None:
    with pytest.raises(RuntimeError):
        torch.ones(2, 3) @ torch.ones(2, 3)
    with pytest.raises(RuntimeError):
        torch.ones(6).reshape(4, 2)


def test_every_idrak_error_is_a_runtime_error_and_keeps_its_old_base() -> None:
    from idrak.data.download import ChecksumError, DatasetNotFoundError
    from idrak.io.serialization import CheckpointError

    assert issubclass(IdrakError, RuntimeError)
    assert issubclass(NotSupportedError, NotImplementedError)
    assert issubclass(ChecksumError, ValueError) and issubclass(ChecksumError, RuntimeError)
    assert issubclass(DatasetNotFoundError, FileNotFoundError)
    assert issubclass(CheckpointError, ValueError) and issubclass(CheckpointError, RuntimeError)
    x = idrak.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):  # backward of a non-scalar without a gradient
        (x * 2).backward()


# dtypes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("float", "float32"),
        ("double", "float64"),
        ("half", "float16"),
        ("int", "int32"),
        ("long", "int64"),
        ("short", "int16"),
        ("bool", "bool"),
        ("uint8", "uint8"),
        ("int8", "int8"),
        ("bfloat16", "bfloat16"),
    ],
)
def test_dtype_aliases_match_torch(name: str, want: str) -> None:
    ours = getattr(idrak, name)
    assert isinstance(ours, idrak.dtype) and ours.name == want
    assert str(getattr(torch, name)) == f"torch.{want}"
    assert ours.itemsize == getattr(torch, name).itemsize


def test_aliases_do_not_shadow_builtins_inside_idrak() -> None:
    import idrak.contract.dtypes as d

    assert d.__dict__.get("float") is None and d.__dict__.get("int") is None
    assert idrak.zeros(2, dtype=idrak.long).dtype == idrak.int64


# new_* / type_as ---------------------------------------------------------------------------
def test_new_factories_follow_torch() -> None:
    a = idrak.ones(2, 3, dtype=idrak.float64)
    t = torch.ones(2, 3, dtype=torch.float64)
    cases: list[tuple[Any, Any]] = [
        (a.new_zeros(4, 2), t.new_zeros(4, 2)),
        (a.new_zeros((4, 2)), t.new_zeros((4, 2))),
        (a.new_ones(3), t.new_ones(3)),
        (a.new_full((2, 2), 7), t.new_full((2, 2), 7)),
        (a.new_empty(0, 3), t.new_empty(0, 3)),
        (a.new_tensor([1, 2, 3]), t.new_tensor([1, 2, 3])),
        (a.new_zeros(2, dtype=idrak.long), t.new_zeros(2, dtype=torch.long)),
        (idrak.arange(3).type_as(a), torch.arange(3).type_as(t)),
    ]
    for ours, theirs in cases:
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        if ours.numel():
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert a.new_ones(2, requires_grad=True).requires_grad
    assert not a.new_ones(2).requires_grad
    assert a.type_as(a) is a
    with pytest.raises(TypeError, match="type_as expects a Tensor, got int"):
        a.type_as(3)


def test_view_expand_reshape_as_exist() -> None:
    a, b = idrak.arange(6).reshape(2, 3), idrak.zeros(3, 2)
    assert tuple(a.view_as(b).shape) == (3, 2)
    assert tuple(a.reshape_as(b).shape) == (3, 2)
    assert tuple(idrak.ones(1, 3).expand_as(a).shape) == (2, 3)


# mm family -----------------------------------------------------------------------------------
R = np.random.default_rng(0)
BLAS: list[tuple[str, list[tuple[int, ...]], dict[str, float]]] = [
    ("mm", [(3, 4), (4, 2)], {}),
    ("mv", [(3, 4), (4,)], {}),
    ("bmm", [(2, 3, 4), (2, 4, 5)], {}),
    ("addmm", [(3, 2), (3, 4), (4, 2)], {}),
    ("addmm", [(2,), (3, 4), (4, 2)], {"beta": 0.5, "alpha": -2.0}),
    ("addmv", [(3,), (3, 4), (4,)], {"beta": 2.0, "alpha": 0.25}),
    ("baddbmm", [(2, 3, 5), (2, 3, 4), (2, 4, 5)], {}),
    ("baddbmm", [(1, 5), (2, 3, 4), (2, 4, 5)], {"beta": 0.0, "alpha": 3.0}),
]


@pytest.mark.parametrize(
    ("name", "shapes", "kw"), BLAS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BLAS)]
)
def test_blas_functions_match_torch_and_finite_differences(
    name: str, shapes: list[tuple[int, ...]], kw: dict[str, float]
) -> None:
    xs = [R.standard_normal(s) for s in shapes]
    ours = [idrak.tensor(x, requires_grad=True) for x in xs]
    theirs = [torch.tensor(x, requires_grad=True) for x in xs]
    out = getattr(idrak, name)(*ours, **kw)
    ref = getattr(torch, name)(*theirs, **kw)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    cot = R.standard_normal(tuple(ref.shape))
    (out * idrak.tensor(cot)).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()

    def f(arrays: list[np.ndarray]) -> np.ndarray:
        return getattr(idrak, name)(*[idrak.tensor(a) for a in arrays], **kw).numpy()

    fd = numerical_grad(f, xs, [cot])
    for k, (o, t) in enumerate(zip(ours, theirs)):
        if o.grad is None:  # beta=0: idrak leaves input out of the graph, torch gives zeros
            assert kw.get("beta") == 0 and k == 0 and not np.any(t.grad.numpy())
            continue
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(o.grad.numpy(), fd[k], rtol=1e-6, atol=1e-7)


def test_blas_beta_zero_ignores_nan_input_as_torch() -> None:
    nan = np.full((2, 2), np.nan)
    a, b = np.eye(2), np.ones((2, 2))
    ours = idrak.addmm(idrak.tensor(nan), idrak.tensor(a), idrak.tensor(b), beta=0)
    theirs = torch.addmm(torch.tensor(nan), torch.tensor(a), torch.tensor(b), beta=0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: idrak.mm(idrak.ones(2, 3, 4), idrak.ones(4, 2)),
            r"mm: input must be 2-D, got shape \(2, 3, 4\)",
        ),
        (
            lambda: idrak.bmm(idrak.ones(2, 3, 4), idrak.ones(3, 4, 5)),
            r"bmm: shapes \(2, 3, 4\) and \(3, 4, 5\)",
        ),
        (lambda: idrak.mv(idrak.ones(2, 3), idrak.ones(2)), r"mv: shapes \(2, 3\) and \(2,\)"),
        (
            lambda: idrak.addmm(idrak.ones(3), idrak.ones(2, 2), idrak.ones(2, 2)),
            r"addmm: input of shape \(3,\)",
        ),
        (
            lambda: idrak.addmm(idrak.ones(2, 2, 2), idrak.ones(2, 2), idrak.ones(2, 2)),
            r"addmm: input of shape \(2, 2, 2\)",
        ),
    ],
)
def test_blas_errors_name_the_shapes(call: Any, match: str) -> None:
    with pytest.raises(RuntimeError, match=match):
        call()
    with pytest.raises(TypeError, match="mm: mat2 must be a Tensor, got list"):
        idrak.mm(idrak.ones(2, 2), [[1.0]])


# inference_mode ------------------------------------------------------------------------------
def test_inference_mode_forms() -> None:
    x = idrak.ones(2, requires_grad=True)
    with idrak.inference_mode():
        assert not (x * 2).requires_grad
    with idrak.inference_mode(False):
        assert (x * 2).requires_grad

    @idrak.inference_mode()
    def called(t: idrak.Tensor) -> bool:
        return (t * 2).requires_grad

    @idrak.inference_mode
    def bare(t: idrak.Tensor) -> bool:
        return (t * 2).requires_grad

    assert not called(x) and not bare(x) and bare.__name__ == "bare"
    assert idrak.is_grad_enabled()
    with pytest.raises(TypeError, match="mode must be a bool, got 'yes'"):
        idrak.inference_mode("yes")


# device queries ------------------------------------------------------------------------------
def test_cuda_queries_agree_with_the_registry() -> None:
    from idrak.runtime.plugins import available_backends

    has = "cuda" in available_backends()
    assert idrak.cuda.is_available() is has
    assert (idrak.cuda.device_count() > 0) is has
    assert idrak.accelerator.is_available() is any(b != "numpy" for b in available_backends())
    idrak.cuda.manual_seed_all(5)
    a = idrak.rand(3).numpy()
    idrak.manual_seed(5)
    np.testing.assert_array_equal(a, idrak.rand(3).numpy())
    if not has:
        assert idrak.accelerator.current_accelerator() is None or idrak.accelerator.device_count()
        with pytest.raises(RuntimeError, match="cuda device 0 does not exist"):
            idrak.cuda.current_device()


def test_cuda_queries_do_not_import_cupy_when_absent() -> None:
    code = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('cupy', 'cupyx'):\n"
        "            raise ModuleNotFoundError(\"No module named 'cupy'\", name='cupy')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import idrak\n"
        "print(idrak.cuda.is_available(), idrak.cuda.device_count(),\n"
        "      idrak.accelerator.is_available(), 'cupy' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "0", "False", "False"]


def test_device_two_argument_form() -> None:
    assert idrak.device("cpu", 0) == idrak.device("cpu:0")
    with pytest.raises(RuntimeError, match="give the index once"):
        idrak.device("cpu:0", 0)
    with pytest.raises(RuntimeError, match="non-negative int, got -1"):
        idrak.device("cpu", -1)


def test_backends_flags() -> None:
    cudnn = idrak.backends.cudnn
    before = cudnn.deterministic
    try:
        cudnn.deterministic = True
        cudnn.benchmark = False
        assert cudnn.deterministic is True
        idrak.backends.cuda.matmul.allow_tf32 = False
    finally:
        cudnn.deterministic = before
    assert idrak.backends.cudnn.is_available() is False
    assert idrak.backends.mps.is_available() is False
    with pytest.raises(AttributeError, match="no flag 'determinstic'"):
        cudnn.determinstic = True
    with pytest.raises(TypeError, match="must be a bool, got 1"):
        cudnn.benchmark = 1


def test_interop_helpers() -> None:
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = idrak.from_numpy(a)
    assert t.dtype == idrak.int32 and t.numpy().tolist() == a.tolist()
    a[0, 0] = 99  # shared memory, as torch.from_numpy's
    assert t.numpy()[0, 0] == 99
    assert idrak.as_tensor(t) is t
    assert idrak.as_tensor([1.0, 2.0], dtype=idrak.float64).dtype == idrak.float64
    assert idrak.is_tensor(t) and not idrak.is_tensor(a)
    assert idrak.numel(t) == 6 and not idrak.is_floating_point(t)
    with pytest.raises(TypeError, match=r"from_numpy expects a numpy\.ndarray, got list"):
        idrak.from_numpy([1, 2])
    with pytest.raises(TypeError, match="numel expects a Tensor, got int"):
        idrak.numel(3)


def test_torch_module_paths_import() -> None:
    """``import idrak.autograd`` and ``from idrak.autograd.functional import jacobian`` work as
    torch's paths do, and name the same module objects as their real homes."""
    import importlib

    import idrak.autograd
    import idrak.core.autograd
    import idrak.core.autograd_functional
    import idrak.nn.functional
    from idrak.autograd.functional import jacobian

    assert idrak.autograd is idrak.core.autograd
    assert jacobian is idrak.core.autograd_functional.jacobian
    assert importlib.import_module("idrak.functional") is idrak.nn.functional
    assert idrak.core.autograd_functional.__spec__.name == "idrak.core.autograd_functional"
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("idrak.autograd.nonexistent")
