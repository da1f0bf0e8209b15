"""Zero-copy exchange: DLPack and ``__array__`` against NumPy and torch."""

from __future__ import annotations

import numpy as np
import pytest

import idrak


def test_numpy_reads_a_tensor_without_copying() -> None:
    t = idrak.arange(6).reshape(2, 3).float().realize()
    a = np.from_dlpack(t)
    np.testing.assert_array_equal(a, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert t.__dlpack_device__() == (1, 0)
    assert np.shares_memory(a, np.from_dlpack(t))  # both views of the one buffer
    np.testing.assert_array_equal(np.asarray(t), a)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_from_dlpack_shares_numpy_memory() -> None:
    a = np.arange(4, dtype=np.float32)
    t = idrak.from_dlpack(a)
    assert t.device == idrak.device("cpu") and t.dtype == idrak.float32 and t.shape == (4,)
    a[0] = 42.0
    assert t.numpy()[0] == 42.0  # shared, not copied
    np.testing.assert_array_equal((t * 2).numpy(), a * 2)
    strided = np.arange(8, dtype=np.int64)[::2]
    np.testing.assert_array_equal(idrak.from_dlpack(strided).numpy(), [0, 2, 4, 6])
    with pytest.raises(TypeError, match="list"):
        idrak.from_dlpack([1, 2])


def test_torch_round_trip() -> None:
    torch = pytest.importorskip("torch")
    t = idrak.randn(3, 4).realize()
    pt = torch.from_dlpack(t)
    np.testing.assert_array_equal(pt.numpy(), t.numpy())
    pt[0, 0] = 7.0
    assert t.numpy()[0, 0] == 7.0  # torch wrote into idrak's buffer
    back = idrak.from_dlpack(torch.arange(5, dtype=torch.int32))
    assert back.dtype == idrak.int32 and back.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(torch.as_tensor(np.asarray(t)).numpy(), t.numpy())
