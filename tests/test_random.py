"""The counter-based RNG: Threefry-2x32-20 known answers, reproducibility, distributions.

Known-answer vectors are Random123's (``kat_vectors``, threefry2x32_20). A scalar Python
transcription of the algorithm checks the vectorized host implementation over many counters,
including the carry from the low into the high counter word. Every test runs on every available
backend: one seed gives the same numbers everywhere (RANDOM_BITS natively, else the host).
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak.core.random import threefry2x32, threefry2x32_block

M32 = 0xFFFFFFFF

#: Random123 kat_vectors, threefry2x32_20: (counter, key) -> output
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.fixture(params=idrak.runtime.plugins.available_backends())
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def reference_block(c0: int, c1: int, k0: int, k1: int) -> tuple[int, int]:
    """Threefry-2x32 with 20 rounds on one block, in plain Python integers (Salmon et al.,
    SC'11, and Random123's threefry.h): key schedule with parity 0x1BD11BDA, rotations
    13 15 26 6 17 29 16 24, a key injection after every 4 rounds."""
    rot = (13, 15, 26, 6, 17, 29, 16, 24)
    ks = (k0, k1, k0 ^ k1 ^ 0x1BD11BDA)
    x0, x1 = (c0 + ks[0]) & M32, (c1 + ks[1]) & M32
    for r in range(20):
        x0 = (x0 + x1) & M32
        x1 = ((x1 << rot[r % 8]) | (x1 >> (32 - rot[r % 8]))) & M32
        x1 ^= x0
        if r % 4 == 3:
            i = r // 4 + 1
            x0 = (x0 + ks[i % 3]) & M32
            x1 = (x1 + ks[(i + 1) % 3] + i) & M32
    return x0, x1


@pytest.mark.parametrize(("ctr", "key", "out"), KAT)
def test_known_answer_vectors(
    ctr: tuple[int, int], key: tuple[int, int], out: tuple[int, int]
) -> None:
    y0, y1 = threefry2x32_block(np.array([ctr[0]], np.uint32), np.array([ctr[1]], np.uint32), *key)
    assert (int(y0[0]), int(y1[0])) == out
    assert reference_block(*ctr, *key) == out


@pytest.mark.parametrize(
    ("key0", "key1", "counter0"), [(0, 0, 0), (123, 456, 7), (M32, 1, 2**32 - 3), (5, M32, 2**40)]
)
def test_vectorized_matches_scalar_reference(key0: int, key1: int, counter0: int) -> None:
    n = 13  # odd: the last block contributes one word
    words = threefry2x32(n, key0, key1, counter0)
    assert words.dtype == np.int64 and words.shape == (n,)
    expect = []
    for i in range((n + 1) // 2):
        c = counter0 + i  # a 64-bit counter: (low word, high word)
        expect += reference_block(c & M32, c >> 32, key0, key1)
    assert words.tolist() == expect[:n]


def test_bits_on_device_match_the_host(device: str) -> None:
    """RANDOM_BITS (native or host fallback) gives exactly the reference words."""
    seed = 0x0123456789ABCDEF
    idrak.manual_seed(seed)
    got = idrak.randint(0, 2**32, (101,), device=device).numpy()
    np.testing.assert_array_equal(got, threefry2x32(101, seed & M32, seed >> 32, 0))
    got2 = idrak.randint(0, 2**32, (4,), device=device).numpy()  # the counter moved on
    np.testing.assert_array_equal(got2, threefry2x32(4, seed & M32, seed >> 32, 51))


def _draw(device: str, seed: int) -> list[np.ndarray]:
    idrak.manual_seed(seed)
    return [
        idrak.rand(5, device=device).numpy(),
        idrak.randn(2, 3, dtype="float64", device=device).numpy(),
        idrak.randint(-5, 5, (7,), device=device).numpy(),
        idrak.randperm(9, device=device).numpy(),
        idrak.bernoulli(0.3, (6,), device=device).numpy(),
    ]


def test_same_seed_same_numbers(device: str) -> None:
    a, b = _draw(device, 42), _draw(device, 42)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = _draw(device, 43)
    assert not np.array_equal(a[0], c[0])
    for name in idrak.runtime.plugins.available_backends():  # the same on every backend
        for x, y in zip(a, _draw(name, 42)):
            np.testing.assert_array_equal(x, y)


def test_same_numbers_across_runs(device: str) -> None:
    code = (
        f"import idrak; idrak.manual_seed(42); "
        f"print(idrak.rand(5, device={device!r}).numpy().tobytes().hex())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _draw(device, 42)[0].tobytes().hex()


def test_generator_objects_and_state(device: str) -> None:
    g = idrak.Generator(7)
    a = idrak.rand(4, generator=g, device=device).numpy()
    b = idrak.rand(4, generator=g, device=device).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(
        a, idrak.rand(4, generator=idrak.Generator(7), device=device).numpy()
    )
    idrak.manual_seed(7)
    state = idrak.core.random.default_generator.get_state()
    x = idrak.rand(3, device=device).numpy()
    idrak.core.random.default_generator.set_state(state)
    np.testing.assert_array_equal(x, idrak.rand(3, device=device).numpy())
    assert idrak.core.random.initial_seed() == 7
    with pytest.raises(ValueError, match="64 bits"):
        idrak.manual_seed(2**64)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_rand_range_and_moments(dtype: str, device: str) -> None:
    idrak.manual_seed(0)
    u = idrak.rand(100_000, dtype=dtype, device=device)
    assert u.dtype.name == dtype
    a = u.numpy().astype(np.float64)
    assert a.min() >= 0.0 and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.005 and abs(a.var() - 1 / 12) < 0.002
    hist = np.histogram(a, bins=10, range=(0, 1))[0]
    chi2 = ((hist - 10_000) ** 2 / 10_000).sum()
    assert chi2 < 30  # 9 degrees of freedom: p < 0.001 beyond 27.9


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_moments(dtype: str, device: str) -> None:
    idrak.manual_seed(1)
    z = idrak.randn(200_000, dtype=dtype, device=device).numpy().astype(np.float64)
    assert np.isfinite(z).all()
    m, s = z.mean(), z.std()
    assert abs(m) < 0.01 and abs(s - 1) < 0.01
    assert abs(((z - m) ** 3).mean() / s**3) < 0.03  # skewness 0
    assert abs(((z - m) ** 4).mean() / s**4 - 3) < 0.06  # kurtosis 3
    assert abs((np.abs(z) < 1).mean() - math.erf(1 / math.sqrt(2))) < 0.005


def test_randint_range(device: str) -> None:
    idrak.manual_seed(2)
    r = idrak.randint(-3, 4, (70_000,), device=device).numpy()
    assert r.min() == -3 and r.max() == 3
    counts = np.bincount(r + 3, minlength=7)
    assert ((counts - 10_000) ** 2 / 10_000).sum() < 25  # 6 d.o.f.
    assert set(idrak.randint(5, size=(200,), device=device).tolist()) == set(range(5))
    with pytest.raises(ValueError, match="greater than low"):
        idrak.randint(3, 3, (2,))


@pytest.mark.parametrize("n", [0, 1, 2, 17, 1000])
def test_randperm_is_a_permutation(n: int, device: str) -> None:
    idrak.manual_seed(3)
    p = idrak.randperm(n, device=device)
    assert p.dtype == idrak.int64 and p.shape == (n,)
    assert sorted(p.tolist()) == list(range(n))
    if n >= 17:
        assert p.tolist() != list(range(n))
        assert p.tolist() != idrak.randperm(n, device=device).tolist()


def test_bernoulli_mean(device: str) -> None:
    idrak.manual_seed(4)
    b = idrak.bernoulli(0.3, (100_000,), device=device).numpy()
    assert set(np.unique(b).tolist()) <= {0.0, 1.0}
    assert abs(b.mean() - 0.3) < 0.005
    p = idrak.tensor([0.0, 0.25, 1.0], dtype="float64", device=device).expand(50_000, 3)
    draws = idrak.bernoulli(p).numpy()
    assert draws.dtype == np.float64
    np.testing.assert_allclose(draws.mean(0), [0.0, 0.25, 1.0], atol=0.01)
    assert draws[:, 0].max() == 0.0 and draws[:, 2].min() == 1.0
