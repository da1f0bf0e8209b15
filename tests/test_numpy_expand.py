"""The NumPy backend's EXPAND: the read-only stride-0 view ``np.broadcast_to`` makes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import idrak


@pytest.fixture
def be() -> Any:
    return idrak.runtime.plugins.get_backend("numpy")


@pytest.mark.parametrize(
    ("src", "shape"),
    [((1,), (256,)), ((), ()), ((1, 1), (10, 128)), ((4, 1, 3), (4, 5, 3)), ((2, 3), (2, 3))],
)
def test_expand_is_broadcast_to(be: Any, src: tuple, shape: tuple) -> None:
    x = np.random.default_rng(0).standard_normal(src).astype(np.float32)
    got, want = be.expand(x, shape), np.broadcast_to(x, shape)
    assert got.shape == want.shape and got.dtype == want.dtype and got.strides == want.strides
    np.testing.assert_array_equal(got, want)
    assert not got.flags.writeable and np.shares_memory(got, x)
    x[...] = 7.0  # a view: writes to the source show through
    assert (np.asarray(got) == 7.0).all()


def test_expand_of_strided_or_read_only_inputs(be: Any) -> None:
    base = np.arange(12.0).reshape(3, 4)
    col = base[:, :1]  # not contiguous
    np.testing.assert_array_equal(be.expand(col, (3, 5)), np.broadcast_to(col, (3, 5)))
    ro = np.broadcast_to(np.float64(2.0), (1, 1))  # read-only input
    np.testing.assert_array_equal(be.expand(ro, (2, 2)), np.full((2, 2), 2.0))
    with pytest.raises(ValueError):
        be.expand(np.ones((2, 3)), (4, 3))  # not expandable: NumPy's own error
