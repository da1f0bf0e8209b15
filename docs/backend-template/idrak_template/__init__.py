"""idrak_template: the smallest complete idrak backend: NumPy on the CPU, required ops only.

To start a backend for your device, copy this package, rename it, and replace NumPy in ``OPS``
with your array library. Every optional op (MATMUL, CONV2D, ...) then runs through idrak's
decompositions into these primitives; ``idrak conformance template`` checks the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import idrak
from idrak.contract.backend import Backend
from idrak.contract.hookspecs import hookimpl
from idrak.contract.ops import Capabilities, Op

FLOATS = frozenset({idrak.float16, idrak.float32, idrak.float64})
NUMBERS = FLOATS | {idrak.uint8, idrak.int8, idrak.int16, idrak.int32, idrak.int64}

# method name -> implementation, one per required op (semantics: idrak.contract.ops.SEMANTICS)
OPS: dict[str, Callable[..., Any]] = {
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "sqrt": np.sqrt,
    "reciprocal": np.reciprocal,
    "maximum": np.maximum,
    "cmplt": np.less,
    "cmpeq": np.equal,
    "where": np.where,
    "expand": np.broadcast_to,
    "flip": np.flip,
    "add": lambda x, y: x | y if x.dtype == bool else x + y,  # bool: logical OR
    "mul": lambda x, y: x & y if x.dtype == bool else x * y,  # bool: logical AND
    "div": lambda x, y: x / y if x.dtype.kind == "f" else x // y,  # ints: floor division
    "cast": lambda x, dtype: x.astype(dtype.name),
    "sum": lambda x, axes: x.sum(axis=axes, keepdims=True, dtype=x.dtype),
    "max": lambda x, axes: x.max(axis=axes, keepdims=True),
    "reshape": lambda x, shape: x.reshape(shape),
    "permute": lambda x, order: x.transpose(order),
    # np.pad of a 0-d array is the array itself: copy, PAD returns new memory
    "pad": lambda x, widths, value: (
        np.pad(x, widths, constant_values=value) if x.ndim else x.copy()
    ),
    "shrink": lambda x, bounds: x[tuple(slice(a, b) for a, b in bounds)],
    "contiguous": lambda x: np.array(x, order="C"),
}


def _quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Backend, *args: Any) -> Any:
        with np.errstate(all="ignore"):  # IEEE results (inf, NaN) are the contract
            return fn(*args)

    return method


class TemplateBackend(Backend):
    """Required primitives over NumPy; one device."""

    name = "template"

    def capabilities(self) -> Capabilities:
        floats_only = dict.fromkeys([Op.EXP, Op.LOG, Op.SIN, Op.SQRT, Op.RECIPROCAL], FLOATS)
        no_bool = dict.fromkeys([Op.NEG, Op.DIV, Op.SUM], NUMBERS)
        return Capabilities(
            self.name,
            "0.1.0",
            device_count=1,
            dtypes=NUMBERS | {idrak.bool_},
            op_dtypes={**floats_only, **no_bool},
        )

    def from_numpy(self, array: np.ndarray, device_index: int = 0) -> Any:
        return np.array(array, copy=True)

    def to_numpy(self, buffer: Any) -> np.ndarray:
        return np.array(buffer, copy=True)

    def full(self, shape: tuple[int, ...], value: Any, dtype: Any, device_index: int) -> Any:
        return np.full(shape, value, dtype=dtype.name)


for _name, _fn in OPS.items():
    setattr(TemplateBackend, _name, _quiet(_fn))


@hookimpl
def idrak_register_backends(register: Callable[..., None]) -> None:
    register("template", TemplateBackend, description="NumPy, required ops only (the template)")
