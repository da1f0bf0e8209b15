"""The inputs of the collectives test (shared by the mpirun script and the test)."""

from __future__ import annotations

import numpy as np

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
OPS = ("SUM", "PRODUCT", "MIN", "MAX", "AVG")


def make_input(dtype: str, rank: int) -> np.ndarray:
    """A (3, 4) array of ``dtype`` that differs by rank; small values so products fit int8."""
    rng = np.random.default_rng([rank, len(dtype)])
    if dtype == "bool":
        return rng.random((3, 4)) < 0.5
    if dtype.startswith("float"):
        return rng.uniform(-2, 2, (3, 4)).astype(dtype)
    low = 0 if dtype == "uint8" else -3
    return rng.integers(low, 4, (3, 4)).astype(dtype)
