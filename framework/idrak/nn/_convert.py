"""The one place where ``nn`` turns NumPy arrays, lists and Python numbers into Tensors.

``nn.functional`` functions and losses accept them wherever they take a Tensor (converted with
:func:`idrak.as_tensor` on the device of the call's first Tensor argument, so a NumPy array
keeps its dtype, as ``torch.as_tensor`` would), and ``Module.__call__`` does the same for NumPy
array inputs. Anything else in a Tensor slot raises a TypeError naming the argument.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from idrak.core.dlpack import as_tensor
from idrak.core.tensor import Tensor

__all__ = ["accepts_arrays", "to_tensor"]

F = TypeVar("F", bound=Callable[..., Any])
_CONVERTIBLE = (np.ndarray, np.generic, list, tuple, bool, int, float)


def to_tensor(value: Any, name: str, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor (on ``like``'s device when given).

    Raises:
        TypeError: ``value`` is not a Tensor, NumPy array, list, tuple or number; the message
            names the argument ``name`` and the type found.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, _CONVERTIBLE):
        return as_tensor(value, device=None if like is None else like.device)
    raise TypeError(
        f"{name} must be a Tensor (or a NumPy array, list or number), got {type(value).__name__}"
    )


def accepts_arrays(fn: F) -> F:
    """Wrap ``fn`` so its parameters annotated ``Tensor`` accept NumPy arrays, lists and numbers
    (None stays None). Tensors pass through untouched, at the cost of one isinstance check each.
    """
    params = list(inspect.signature(fn).parameters.values())
    slots = [
        (i, p.name)
        for i, p in enumerate(params)
        if str(p.annotation).startswith("Tensor") and p.kind is not p.VAR_POSITIONAL
    ]
    if not slots:
        return fn
    names = {n for _, n in slots}
    where = f"{fn.__name__}()"

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if all(isinstance(a, Tensor) or a is None for a in args) and not any(
            k in names and not (isinstance(v, Tensor) or v is None) for k, v in kwargs.items()
        ):
            return fn(*args, **kwargs)
        like = next((a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)), None)
        args_l = list(args)
        for i, n in slots:
            if i < len(args_l) and args_l[i] is not None:
                args_l[i] = to_tensor(args_l[i], f"{where} argument '{n}'", like)
            elif n in kwargs and kwargs[n] is not None:
                kwargs[n] = to_tensor(kwargs[n], f"{where} argument '{n}'", like)
        return fn(*args_l, **kwargs)

    return wrapper  # type: ignore[return-value]
