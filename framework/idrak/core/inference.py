"""``idrak.inference_mode``: PyTorch's inference mode, which in idrak is :class:`no_grad`.

PyTorch's inference mode additionally marks the tensors made inside it as unusable in autograd
later, to skip version-counter bookkeeping; idrak has no version counters, so the only effect
that matters -- nothing is recorded -- is exactly ``no_grad``'s.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from idrak.core.autograd import no_grad

__all__ = ["inference_mode"]


class inference_mode(contextlib.ContextDecorator):
    """Context manager / decorator: with ``mode=True`` (the default) ops are not recorded,
    like :class:`idrak.no_grad`; ``mode=False`` changes nothing.

    Usable as ``with idrak.inference_mode():``, ``@idrak.inference_mode()`` and, as in
    PyTorch, bare ``@idrak.inference_mode``.

    Raises:
        TypeError: ``mode`` is neither a bool nor a function to decorate.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode
            func: Callable[..., Any] = mode

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with cls():
                    return func(*args, **kwargs)

            return wrapper
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode(mode=...) expects a bool, got {mode!r}")
        self.mode = mode
        self._inner: no_grad | None = None

    def __enter__(self) -> None:
        if self.mode:
            self._inner = no_grad()
            self._inner.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._inner is not None:
            self._inner.__exit__(*exc)
            self._inner = None
