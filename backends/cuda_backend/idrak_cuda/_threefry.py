"""Threefry-2x32-20: a NumPy host implementation (the test oracle) and the CUDA kernel source.

Algorithm: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers: as easy
as 1, 2, 3", SC'11 -- Random123's ``threefry2x32`` with 20 rounds. Rotation constants
``R = [13, 15, 26, 6, 17, 29, 16, 24]``, key-schedule parity ``0x1BD11BDA``, a key injection
after every 4 rounds (injection ``s`` adds ``ks[s % 3]``, ``ks[(s + 1) % 3] + s``).

Counter mapping of the RANDOM_BITS op (``idrak.contract.ops.SEMANTICS[Op.RANDOM_BITS]``): block
``i``
(``0 <= i < ceil(n / 2)``) encrypts the 64-bit counter ``c = (counter0 + i) mod 2**64`` split as
``x0 = c mod 2**32`` (low word), ``x1 = c >> 32`` (high word); its two output words are
``out[2i] = y0`` and ``out[2i + 1] = y1``; the result is truncated to ``n`` and returned as int64
values in ``[0, 2**32)``.

This module imports only NumPy: the kernel is kept as source text (:data:`KERNEL_SOURCE`) and
compiled by :mod:`idrak_cuda._backend` with ``cupy.RawKernel`` on first use.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "KERNEL_NAME",
    "KERNEL_SOURCE",
    "PARITY",
    "ROTATIONS",
    "check_args",
    "threefry2x32",
    "threefry2x32_block",
]

#: Random123's rotation constants for Threefry-2x32 (R_32x2_0_0 .. R_32x2_7_0).
ROTATIONS: tuple[int, ...] = (13, 15, 26, 6, 17, 29, 16, 24)
#: Skein key-schedule parity constant (SKEIN_KS_PARITY32).
PARITY = 0x1BD11BDA
_ROUNDS = 20
_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF


def threefry2x32_block(
    x0: np.ndarray, x1: np.ndarray, key0: int, key1: int
) -> tuple[np.ndarray, np.ndarray]:
    """Encrypt counter blocks ``(x0[j], x1[j])`` with the key ``(key0, key1)``.

    Args:
        x0, x1: uint32 arrays of one shape (the two counter words of each block).
        key0, key1: the key words, ints in ``[0, 2**32)``.

    Returns:
        ``(y0, y1)``: uint32 arrays of the input shape. Bit-exact with Random123's
        ``threefry2x32_R(20, ctr, key)``.
    """
    x0 = np.asarray(x0, dtype=np.uint32).copy()
    x1 = np.asarray(x1, dtype=np.uint32).copy()
    ks = (np.uint32(key0), np.uint32(key1), np.uint32(PARITY ^ key0 ^ key1))
    x0 += ks[0]
    x1 += ks[1]
    for r in range(_ROUNDS):
        rot = ROTATIONS[r % 8]
        x0 += x1
        x1 = (x1 << np.uint32(rot)) | (x1 >> np.uint32(32 - rot))
        x1 ^= x0
        if r % 4 == 3:
            s = r // 4 + 1
            x0 += ks[s % 3]
            x1 += ks[(s + 1) % 3]
            x1 += np.uint32(s)
    return x0, x1


def check_args(n: int, key0: int, key1: int, counter0: int) -> None:
    """Validate RANDOM_BITS arguments.

    Raises:
        ValueError: ``n`` negative, a key outside ``[0, 2**32)`` or ``counter0`` outside
            ``[0, 2**64)``; the message names the value.
    """
    if n < 0:
        raise ValueError(f"random_bits: n must be >= 0, got {n}")
    for name, v in (("key0", key0), ("key1", key1)):
        if not 0 <= v <= _M32:
            raise ValueError(f"random_bits: {name} must be in [0, 2**32), got {v}")
    if not 0 <= counter0 <= _M64:
        raise ValueError(f"random_bits: counter0 must be in [0, 2**64), got {counter0}")


def threefry2x32(n: int, key0: int, key1: int, counter0: int) -> np.ndarray:
    """``n`` Threefry-2x32-20 words for the counters ``counter0 .. counter0 + ceil(n/2) - 1``.

    See the module docstring for the exact counter-to-block mapping.

    Returns:
        int64 array of shape ``(n,)`` with values in ``[0, 2**32)``.

    Raises:
        ValueError: see :func:`check_args`.
    """
    n, key0, key1, counter0 = int(n), int(key0), int(key1), int(counter0)
    check_args(n, key0, key1, counter0)
    blocks = (n + 1) // 2
    # 64-bit counters, wrapping modulo 2**64 (uint64 addition wraps)
    c = np.arange(blocks, dtype=np.uint64) + np.uint64(counter0)
    y0, y1 = threefry2x32_block(
        (c & np.uint64(_M32)).astype(np.uint32), (c >> np.uint64(32)).astype(np.uint32), key0, key1
    )
    out = np.empty(2 * blocks, dtype=np.int64)
    out[0::2] = y0
    out[1::2] = y1
    return out[:n]


#: the ``__global__`` function in :data:`KERNEL_SOURCE`
KERNEL_NAME = "idrak_threefry2x32_20"

#: CUDA C++ source: one thread per counter block; writes int64 words, truncated to ``n``.
#: Launch: ``grid = ceil(ceil(n/2) / block)``; args ``(out int64*, n u64, key0 u32, key1 u32,
#: counter0 u64)``. Plain C++ apart from the CUDA qualifiers, so the tests also build it on the
#: host with a C++ compiler (qualifiers defined away) and compare it with :func:`threefry2x32`.
KERNEL_SOURCE = r"""
__device__ __forceinline__ unsigned int idrak_rotl32(unsigned int x, unsigned int r) {
    return (x << r) | (x >> (32u - r));
}

extern "C" __global__ void idrak_threefry2x32_20(
        long long* out, unsigned long long n, unsigned int key0, unsigned int key1,
        unsigned long long counter0) {
    const unsigned long long i =
        (unsigned long long)blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    const unsigned long long blocks = (n + 1ull) / 2ull;
    if (i >= blocks) return;
    const unsigned int R[8] = {13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u};
    const unsigned long long c = counter0 + i;  /* wraps modulo 2**64 */
    unsigned int ks[3];
    ks[0] = key0;
    ks[1] = key1;
    ks[2] = 0x1BD11BDAu ^ key0 ^ key1;
    unsigned int x0 = (unsigned int)(c & 0xFFFFFFFFull) + ks[0];
    unsigned int x1 = (unsigned int)(c >> 32) + ks[1];
#pragma unroll
    for (int r = 0; r < 20; ++r) {
        x0 += x1;
        x1 = idrak_rotl32(x1, R[r & 7]);
        x1 ^= x0;
        if ((r & 3) == 3) {
            const unsigned int s = (unsigned int)(r >> 2) + 1u;
            x0 += ks[s % 3u];
            x1 += ks[(s + 1u) % 3u] + s;
        }
    }
    out[2ull * i] = (long long)x0;
    if (2ull * i + 1ull < n) out[2ull * i + 1ull] = (long long)x1;
}
"""
