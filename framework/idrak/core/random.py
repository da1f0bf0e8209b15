"""Counter-based random numbers: Threefry-2x32 with 20 rounds.

Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC'11 (the Random123
library). A stream is a pure function of (key, counter), so one seed gives bit-identical numbers
on every backend: a backend that declares RANDOM_BITS computes them natively, any other gets them
from :func:`threefry2x32` on the host, copied in.

The global generator holds a 64-bit key (from :func:`manual_seed`) and a counter that advances by
the number of 2-word blocks each draw consumed.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = [
    "Generator",
    "default_generator",
    "initial_seed",
    "manual_seed",
    "seed",
    "threefry2x32",
    "threefry2x32_block",
]

_ROT = (13, 15, 26, 6, 17, 29, 16, 24)
_PARITY = np.uint32(0x1BD11BDA)
_M32 = 0xFFFFFFFF


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32_block(
    x0: np.ndarray, x1: np.ndarray, k0: int, k1: int, rounds: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 on counter words ``(x0, x1)`` (uint32 arrays) with key ``(k0, k1)``."""
    ks = (np.uint32(k0), np.uint32(k1), np.uint32(k0) ^ np.uint32(k1) ^ _PARITY)
    x0 = (x0.astype(np.uint32) + ks[0]).astype(np.uint32)
    x1 = (x1.astype(np.uint32) + ks[1]).astype(np.uint32)
    with np.errstate(over="ignore"):
        for r in range(rounds):
            x0 = x0 + x1
            x1 = _rotl(x1, _ROT[r % 8]) ^ x0
            if r % 4 == 3:
                i = r // 4 + 1
                x0 = x0 + ks[i % 3]
                x1 = x1 + ks[(i + 1) % 3] + np.uint32(i)
    return x0, x1


def threefry2x32(n: int, key0: int, key1: int, counter0: int) -> np.ndarray:
    """``n`` random 32-bit words as int64 in [0, 2**32): the RANDOM_BITS reference.

    Block ``i`` (``i < ceil(n/2)``) encrypts the 64-bit counter ``counter0 + i`` split into
    (low word, high word) and yields words ``2i`` and ``2i+1``.
    """
    blocks = (n + 1) // 2
    ctr = np.arange(blocks, dtype=np.uint64) + np.uint64(counter0)
    y0, y1 = threefry2x32_block(
        (ctr & np.uint64(_M32)).astype(np.uint32),
        (ctr >> np.uint64(32)).astype(np.uint32),
        key0,
        key1,
    )
    out = np.empty(blocks * 2, dtype=np.int64)
    out[0::2], out[1::2] = y0, y1
    return out[:n]


class Generator:
    """A Threefry key plus a block counter. ``manual_seed(s)`` resets both."""

    def __init__(self, seed: int = 0) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {seed!r}")
        s = int(seed)
        if not -(2**63) <= s < 2**64:
            raise ValueError(f"seed must fit in 64 bits, got {seed}")
        s &= (1 << 64) - 1
        self.seed_value, self.key = s, (s & _M32, s >> 32)
        self.counter = 0
        return self

    def take(self, n: int) -> tuple[int, int, int]:
        """Reserve ``n`` words; returns (key0, key1, counter0) for RANDOM_BITS."""
        c = self.counter
        self.counter += (n + 1) // 2
        return self.key[0], self.key[1], c

    def get_state(self) -> tuple[int, int]:
        return self.seed_value, self.counter

    def set_state(self, state: tuple[int, int]) -> None:
        self.manual_seed(state[0])
        self.counter = int(state[1])


default_generator = Generator(0)

#: set by :func:`idrak.jit` while it traces: called as ``hook(generator, n, words)`` for every
#: draw of ``n`` Threefry words (``words`` the LazyBuffer holding them), so a replay can draw
#: fresh ones (per thread, as tracing is)
_draws = threading.local()


def draw_hook() -> Any:
    """The current thread's draw hook, or None (see :data:`_draws`)."""
    return getattr(_draws, "hook", None)


def set_draw_hook(hook: Any) -> Any:
    """Install ``hook`` (or None) for this thread; returns the previous one."""
    prev = getattr(_draws, "hook", None)
    _draws.hook = hook
    return prev


def manual_seed(seed: int) -> Generator:
    """Seed the global generator: the same seed gives the same numbers on every backend."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from the OS entropy pool; returns the seed."""
    import secrets

    s = secrets.randbits(63)
    default_generator.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.seed_value
