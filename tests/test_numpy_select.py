"""The NumPy backend's WHERE: a bitwise select, bit-identical to ``np.where``."""

from __future__ import annotations

import numpy as np
import pytest

from idrak_numpy import _select


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view(f"u{x.dtype.itemsize}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "bool", "float16"])
@pytest.mark.parametrize(
    ("cs", "as_", "bs"),
    [
        ((64, 128), (64, 128), (64, 128)),
        ((64, 128), (128,), ()),  # broadcast value and scalar
        ((64, 1), (64, 128), (1, 128)),  # broadcast condition
        ((10,), (10,), (10,)),  # below MIN_SIZE: np.where itself
    ],
)
def test_where_is_np_where_bit_for_bit(dtype: str, cs: tuple, as_: tuple, bs: tuple) -> None:
    rng = np.random.default_rng(0)
    c = rng.random(cs) > 0.5

    def values(shape: tuple) -> np.ndarray:
        v = (rng.standard_normal(shape) * 100).astype(dtype)
        if v.dtype.kind == "f" and v.size > 3:
            flat = v.reshape(-1)
            flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
        return v

    a, b = values(as_), values(bs)
    got, want = _select.where(c, a, b), np.where(c, a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_nan_payload_and_signed_zero_kept() -> None:
    n = _select.MIN_SIZE
    a = np.full(n, -0.0, np.float32)
    b = np.full(n, 0.0, np.float32)
    b.view(np.uint32)[:] = 0x7FC00123  # a NaN with a payload
    c = np.arange(n) % 2 == 0
    got = _select.where(c, a, b)
    assert _bits(got)[0] == 0x80000000 and _bits(got)[1] == 0x7FC00123


def test_backend_where_through_idrak() -> None:
    import idrak

    x = idrak.tensor(np.linspace(-1, 1, 8192, dtype=np.float32))
    got = idrak.where(x > 0, x, idrak.zeros_like(x)).numpy()
    np.testing.assert_array_equal(got, np.where(x.numpy() > 0, x.numpy(), 0))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
def test_select_over_its_own_b(dtype: str) -> None:
    """The fused engine writes a select over its dying input ``b``: still exact."""
    rng = np.random.default_rng(1)
    c = rng.random((64, 128)) > 0.5
    a = np.asarray(rng.standard_normal(128) * 50).astype(dtype)
    b = np.asarray(rng.standard_normal((64, 128)) * 50).astype(dtype)
    want = np.where(c, a, b)
    got = _select.select(np, c, a, b, b)
    assert got is b
    np.testing.assert_array_equal(_bits(b), _bits(want))


def test_select_with_partial_overlap_falls_back() -> None:
    base = np.arange(20, dtype=np.float64)
    b, out = base[:-1], base[1:]  # overlapping, shifted by one element
    c = np.arange(19) % 3 == 0
    want = np.where(c, -1.0, b.copy())
    np.testing.assert_array_equal(_select.select(np, c, np.float64(-1.0), b, out), want)
