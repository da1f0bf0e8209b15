"""``idrak.backends``: the harmless part of PyTorch's ``torch.backends`` -- flags ported code
sets, and availability queries.

``idrak.backends.cudnn.deterministic = True``, ``.benchmark = False``,
``idrak.backends.cuda.matmul.allow_tf32 = False`` and the like are accepted and remembered
but change nothing: idrak does not use cuDNN, its kernels are deterministic already (the same
inputs give the same bits on every run), and it never lowers float32 matmuls to TF32. Setting a
flag PyTorch does not have, or a non-bool value, raises, so a typo is not silently ignored.
``mps.is_available()`` / ``cudnn.is_available()`` answer ``False`` unless a backend of that name
is registered and available.
"""

from __future__ import annotations

from typing import Any

from idrak.runtime import plugins as _plugins

__all__ = ["cuda", "cudnn", "mps"]


class _Flags:
    """A namespace of bool flags with fixed names (an unknown name raises AttributeError)."""

    def __init__(self, path: str, **flags: Any) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_values", dict(flags))

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"{self._path} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise AttributeError(
                f"{self._path} has no flag {name!r}; known: {sorted(self._values)}"
            )
        if isinstance(self._values[name], bool) and not isinstance(value, bool):
            raise TypeError(f"{self._path}.{name} must be a bool, got {value!r}")
        self._values[name] = value

    def __repr__(self) -> str:
        return f"<{self._path} {self._values}>"


def _available(name: str) -> bool:
    return name in _plugins.available_backends()


class _Cudnn(_Flags):
    def is_available(self) -> bool:
        """Always ``False``: idrak has no cuDNN path."""
        return False

    def version(self) -> None:
        """``None``: no cuDNN (PyTorch answers ``None`` without it too)."""
        return None


class _Mps(_Flags):
    def is_available(self) -> bool:
        """Whether a backend registered as ``"mps"`` is available."""
        return _available("mps")

    def is_built(self) -> bool:
        return "mps" in _plugins.backend_entries()


class _Cuda(_Flags):
    def is_built(self) -> bool:
        """Whether a backend registered as ``"cuda"`` exists (available or not)."""
        return "cuda" in _plugins.backend_entries()


cudnn = _Cudnn(
    "idrak.backends.cudnn", enabled=True, deterministic=False, benchmark=False, allow_tf32=True
)
mps = _Mps("idrak.backends.mps")
cuda = _Cuda(
    "idrak.backends.cuda",
    matmul=_Flags(
        "idrak.backends.cuda.matmul",
        allow_tf32=False,
        allow_fp16_reduced_precision_reduction=True,
        allow_bf16_reduced_precision_reduction=True,
    ),
)
