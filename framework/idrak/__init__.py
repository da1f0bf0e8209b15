"""idrak: a hackable deep-learning framework on a small, closed primitive-op contract.

The package is layered (arrows point down; ``docs/design-notes.md`` has the picture)::

    examples, cli                      programs
    train, factories                   Config / Runner / Experiment, ready-made blocks
    nn, optim, data, metrics           the layers above the Tensor
    compile, io                        idrak.jit; checkpoints and atomic writes
    core                               Tensor, autograd, decompositions, creation, RNG
    engine                             lazy graph, realization, fusion pass (no Tensor)
    runtime                            plugins, devices
    contract, errors                   what a backend implements (its only import)

``import idrak`` itself imports nothing: the top-level namespace (``idrak.Tensor``,
``idrak.zeros``, ``idrak.float32``, ...) is assembled from the ``__all__`` of the modules in
:data:`_NAMESPACE` on first use, and the subpackages load when first named. So a backend package
that imports :mod:`idrak.contract` does not load the frontend.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: the modules whose ``__all__`` together make up the top-level namespace
_NAMESPACE = (
    "idrak.errors",
    "idrak.contract.dtypes",
    "idrak.contract.dtype_aliases",
    "idrak.runtime.devices",
    "idrak.runtime.threads",
    "idrak.core.tensor",
    "idrak.core.creation",
    "idrak.core.toplevel",
    "idrak.core.functions",
    "idrak.core.functions_more",
    "idrak.core.blas",
    "idrak.core.interop",
    "idrak.core.autograd",
    "idrak.core.random",
    "idrak.core.dlpack",
    "idrak.compile.tracing",
    "idrak.io.serialization",
)
#: names that are modules: subpackages, and the public modules spelled as PyTorch users expect
#: (``idrak.functional`` is ``idrak.nn.functional``, as the seeds write ``nw.functional``)
_MODULES = {
    "accelerator": "idrak.accelerator",
    "autograd": "idrak.core.autograd",
    "backends": "idrak.backends",
    "cli": "idrak.cli",
    "compile": "idrak.compile",
    "contract": "idrak.contract",
    "core": "idrak.core",
    "cuda": "idrak.cuda",
    "data": "idrak.data",
    "debug": "idrak.engine.debug",
    "distributed": "idrak.distributed",
    "engine": "idrak.engine",
    "errors": "idrak.errors",
    "examples": "idrak.examples",
    "experiment": "idrak.experiment",
    "factories": "idrak.factories",
    "functional": "idrak.nn.functional",
    "func": "idrak.core.autograd_functional",
    "fusion": "idrak.engine.fusion",
    "io": "idrak.io",
    "metrics": "idrak.metrics",
    "nn": "idrak.nn",
    "optim": "idrak.optim",
    "random": "idrak.core.random",
    "runtime": "idrak.runtime",
    "testing": "idrak.testing",
    "train": "idrak.train",
    "utils": "idrak.utils",
}
#: the training workflow's classes, at the top as the seeds use them (``nw.Runner``)
_TRAIN = ("Config", "Experiment", "History", "Runner")
#: the abdou_torch seed's top-level names (``from abdou_torch import Tensor, MLP, WAdam``)
_SEEDS = {"MLP": "idrak.nn", "WAdam": "idrak.optim"}
_names: list[str] = []


def _load_namespace() -> list[str]:
    """Import the :data:`_NAMESPACE` modules and copy their public names here (once)."""
    if not _names:
        found: list[str] = []
        for path in _NAMESPACE:
            module = importlib.import_module(path)
            for name in module.__all__:
                globals()[name] = getattr(module, name)
                found.append(name)
        _names.extend(found)
    return _names


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value: Any = importlib.import_module(_MODULES[name])
    elif name in _TRAIN:
        value = getattr(importlib.import_module("idrak.train"), name)
    elif name in _SEEDS:
        value = getattr(importlib.import_module(_SEEDS[name]), name)
    elif name == "__all__":
        return sorted({*_load_namespace(), *_MODULES, *_TRAIN, *_SEEDS})
    elif name.startswith("__"):
        raise AttributeError(f"module 'idrak' has no attribute {name!r}")
    else:
        if name not in _load_namespace():
            raise AttributeError(f"module 'idrak' has no attribute {name!r}")
        return globals()[name]
    globals()[name] = value
    return value


#: import paths that name a module living elsewhere (``import idrak.autograd``,
#: ``from idrak.autograd.functional import jacobian``, as torch's paths are spelled)
_ALIASES = {
    f"idrak.{k}": v for k, v in _MODULES.items() if v != f"idrak.{k}" and "." in v[len("idrak.") :]
} | {"idrak.autograd.functional": "idrak.core.autograd_functional"}


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves the :data:`_ALIASES` import paths to the modules they name (the same module
    objects, so ``idrak.autograd is idrak.core.autograd``)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _ALIASES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        module = importlib.import_module(_ALIASES[spec.name])
        parent = builtins.any(a.startswith(spec.name + ".") for a in _ALIASES)
        if parent and not hasattr(module, "__path__"):
            module.__path__ = []  # children of the alias (``.functional``) resolve through here
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: Any) -> None:
        """The target module ran when it was imported; undo the import system's rebinding of
        its ``__spec__`` to the alias's."""
        module.__spec__ = self._specs.pop(module.__spec__.name, module.__spec__)

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}


if not builtins.any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.append(_AliasFinder())


def __dir__() -> list[str]:
    return sorted({*globals(), *_load_namespace(), *_MODULES, *_TRAIN, *_SEEDS})


if TYPE_CHECKING:  # what the lazy namespace holds, for type checkers
    from idrak import (
        accelerator,
        backends,
        cli,
        compile,
        contract,
        core,
        cuda,
        data,
        distributed,
        engine,
        errors,
        examples,
        experiment,
        factories,
        io,
        metrics,
        nn,
        optim,
        runtime,
        testing,
        train,
        utils,
    )
    from idrak.compile.tracing import *
    from idrak.contract.dtype_aliases import *
    from idrak.contract.dtypes import *
    from idrak.core import autograd, random
    from idrak.core import autograd_functional as func
    from idrak.core.autograd import *
    from idrak.core.blas import *
    from idrak.core.creation import *
    from idrak.core.dlpack import *
    from idrak.core.functions import *
    from idrak.core.functions_more import *
    from idrak.core.interop import *
    from idrak.core.random import *
    from idrak.core.tensor import *
    from idrak.core.toplevel import *
    from idrak.engine import debug, fusion
    from idrak.errors import *
    from idrak.io.serialization import *
    from idrak.nn import MLP, functional
    from idrak.optim import WAdam
    from idrak.runtime.devices import *
    from idrak.runtime.threads import *
    from idrak.train import Config, Experiment, History, Runner
