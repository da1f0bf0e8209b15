"""Layer 8, random: one seed gives the same random numbers on every backend.

* ``kat`` (when RANDOM_BITS is declared) — ``Backend.run(RANDOM_BITS)`` is bit-exact against
  :func:`idrak.core.random.threefry2x32`, itself checked against the known-answer vectors of
  Random123 (Salmon et al., SC'11), over odd and even counts and a counter that carries into its
  high word;
* ``same-numbers`` — ``idrak.rand``/``randint`` give bit-identical values on the backend and on
  the NumPy backend after the same ``manual_seed``, and ``randn`` the same values within a few ulp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.dtypes import bool_, float32, int64
from idrak.contract.ops import Op
from idrak.core.random import threefry2x32, threefry2x32_block
from idrak.testing._compare import ConformanceFailure, compare, run_snippet, snippet
from idrak.testing._session import Check, Session, core_deps, parametrize
from idrak.testing.tolerances import Tolerance

#: Random123 known answers for threefry2x32_20: (counter words, key words) -> output words
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]
#: RANDOM_BITS arguments (n, key0, key1, counter0) checked against the reference
CASES = [
    (1, 0, 0, 0),
    (2, 0, 0, 0),
    (7, 0xDEADBEEF, 0x12345678, 5),
    (1001, 0xFFFFFFFF, 0xFFFFFFFF, 2**32 - 3),
    (4096, 42, 7, 2**40 + 1),
    (0, 1, 2, 3),
]


def _checks(s: Session) -> list[Check]:
    out = []
    kat: tuple[str, ...] = ()
    if s.supports(Op.RANDOM_BITS, int64):
        first = Check("random", "RANDOM_BITS", "int64", "kat", ("runtime:roundtrip:int64:*",))
        out.append(first)
        kat = (first.key,)
    if float32 in s.caps.dtypes:
        out.append(
            Check(
                "random",
                "rand",
                "float32",
                "same-numbers",
                core_deps([float32, bool_, int64]) + kat,
            )
        )
    return out


TESTS = {"kat": "test_random_bits", "same-numbers": "test_same_numbers"}


def pytest_generate_tests(metafunc: Any) -> None:
    name = metafunc.function.__name__
    parametrize(
        metafunc,
        lambda s: [c for c in _checks(s) if TESTS[c.kind] == name],
        empty="RANDOM_BITS is not declared (idrak computes random bits on the host)"
        if name == "test_random_bits"
        else "float32 is not declared",
    )


def test_random_bits(check: Check) -> None:
    """RANDOM_BITS is bit-exact Threefry-2x32-20."""
    for ctr, key, want in KAT:
        y0, y1 = threefry2x32_block(
            np.array([ctr[0]], np.uint32), np.array([ctr[1]], np.uint32), *key
        )
        if (int(y0[0]), int(y1[0])) != want:  # idrak's own reference is wrong: say so
            raise ConformanceFailure(
                f"idrak.core.random.threefry2x32_block{(ctr, key)} gives "
                f"{(hex(int(y0[0])), hex(int(y1[0])))}, Random123 says "
                f"{tuple(hex(w) for w in want)}"
            )
    s = check.s
    be = s.backend
    for arg in CASES:
        want_bits = threefry2x32(*arg)
        check.repro = run_snippet(
            f"{check.key} arg={arg}", s.name, Op.RANDOM_BITS, [], arg, int64, want_bits
        )
        got = be.to_numpy(be.run(Op.RANDOM_BITS, (), arg, int64, 0))
        msg = compare(got, want_bits, Tolerance(0.0, 0.0))
        if msg is not None:
            raise ConformanceFailure(f"RANDOM_BITS{arg}: {msg}", check.repro)


def test_same_numbers(check: Check) -> None:
    """rand, randint and randn agree with the NumPy backend for one seed."""
    import idrak

    s = check.s
    s.reference_backend()
    exact = Tolerance(0.0, 0.0)
    for seed in (0, 2**40 + 7):

        def draw(dev: str) -> list[np.ndarray]:
            idrak.manual_seed(seed)  # noqa: B023 - called right away
            return [
                idrak.rand(5, 7, device=dev).numpy(),
                idrak.randint(-3, 1000, (33,), device=dev).numpy(),
                idrak.rand(4, dtype="float64", device=dev).numpy()
                if idrak.float64 in s.caps.dtypes
                else np.zeros(0),
                idrak.randn(6, 5, device=dev).numpy(),
            ]

        check.repro = snippet(
            check.key,
            s.name,
            [
                f"for dev in ({s.name!r}, 'numpy'):",
                f"    idrak.manual_seed({seed})",
                "    print(dev, idrak.rand(5, 7, device=dev).numpy())",
            ],
        )
        got, want = draw(s.name), draw("numpy")
        for name, g, w, tol in zip(
            ("rand", "randint", "rand float64", "randn"),
            got,
            want,
            (exact, exact, exact, Tolerance(1e-5, 1e-6)),
        ):
            msg = compare(g, w, tol)
            if msg is not None:
                raise ConformanceFailure(
                    f"{name} after manual_seed({seed}) differs from the numpy backend: {msg}",
                    check.repro,
                )
