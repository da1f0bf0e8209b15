"""The mixins' interface (idrak.core.methods.base.TensorBase): declared for the type checker
only, implemented by Tensor."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import idrak
from idrak.core.methods import base
from idrak.core.methods.base import TensorBase
from idrak.core.tensor import Tensor


def _declared() -> dict[str, ast.AST]:
    """The members TensorBase declares in its ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(Path(base.__file__).read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TensorBase")
    out: dict[str, ast.AST] = {}
    for node in cls.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for m in node.body:
                if isinstance(m, ast.FunctionDef):
                    out[m.name] = m
                elif isinstance(m, ast.AnnAssign) and isinstance(m.target, ast.Name):
                    out[m.target.id] = m
    return out


def test_base_is_empty_at_run_time() -> None:
    # nothing but the class plumbing: no member can shadow or stand in for an implementation
    plumbing = {"__module__", "__qualname__", "__doc__", "__slots__", "__annotations__"}
    assert set(vars(TensorBase)) <= plumbing
    assert not vars(TensorBase).get("__annotations__")  # created empty: annotations are guarded
    assert TensorBase.__slots__ == ()
    assert not hasattr(idrak.tensor([1.0]), "__dict__")  # every class in the MRO has slots


def test_every_mixin_subclasses_the_base() -> None:
    mixins = [c for c in Tensor.__mro__ if c.__module__.startswith("idrak.core.methods.")]
    assert len(mixins) >= 8 and TensorBase in mixins
    for c in mixins:
        assert issubclass(c, TensorBase), c


def test_tensor_implements_every_declaration() -> None:
    decl = _declared()
    assert {"_prim", "_from_lazy", "_optional", "reshape", "sum", "lazy"} <= set(decl)
    t = idrak.tensor([[1.0, 2.0]], requires_grad=True)
    for name, node in decl.items():
        impl = next(
            (c for c in Tensor.__mro__ if name in vars(c) or name in getattr(c, "__slots__", ())),
            None,
        )
        assert impl is not None and impl is not TensorBase, f"{name} is declared, not implemented"
        if isinstance(node, ast.FunctionDef) and not any(
            ast.unparse(d) == "property" for d in node.decorator_list
        ):
            want = [a.arg for a in node.args.args[1:]] + [a.arg for a in node.args.kwonlyargs]
            got = [
                p.name
                for p in inspect.signature(getattr(t, name)).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            assert got == want, f"{name}: declared {want}, implemented {got}"
