"""Layer 7, transfer: tensors move between the backend and the NumPy backend, and both work in
one process.

* ``roundtrip`` per dtype — ``t.to("numpy")`` and ``t.to(NAME)`` keep every bit;
* ``interleaved`` — lazy graphs pending on both backends at once realize to the same values,
  and an op mixing the two devices raises ``DeviceError`` naming both;
* ``devices`` — with several devices, tensors move between them (``NAME:0`` -> ``NAME:1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from idrak.contract.dtypes import bfloat16, bool_, float32, int64
from idrak.errors import DeviceError
from idrak.testing._compare import ConformanceFailure, compare, snippet
from idrak.testing._session import Check, Session, core_deps, parametrize, rng_for
from idrak.testing._values import literal, sample
from idrak.testing.tolerances import Tolerance


def _checks(s: Session) -> list[Check]:
    out = [
        Check(
            "transfer",
            "to",
            dt.name,
            "roundtrip",
            (f"runtime:roundtrip:{dt.name}:values",),
            {"dt": dt},
        )
        for dt in s.dtypes
        if dt is not bfloat16
    ]
    if float32 in s.caps.dtypes:
        deps = core_deps([float32, bool_, int64])
        out.append(Check("transfer", "two-backends", "float32", "interleaved", deps))
        if s.caps.device_count > 1:
            out.append(Check("transfer", "devices", "float32", "multi", deps))
    return out


TESTS = {"roundtrip": "test_roundtrip", "interleaved": "test_two_backends", "multi": "test_devices"}


def pytest_generate_tests(metafunc: Any) -> None:
    name = metafunc.function.__name__
    parametrize(
        metafunc,
        lambda s: [c for c in _checks(s) if TESTS[c.kind] == name],
        empty="one device (or no float32): nothing to move between devices",
    )


def _bits_equal(got: np.ndarray, want: np.ndarray) -> bool:
    return (
        got.dtype == want.dtype
        and got.shape == want.shape
        and np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes()
    )


def test_roundtrip(check: Check) -> None:
    """Tensors keep every bit moving to the NumPy backend and back."""
    import idrak

    s, dt = check.s, check.data["dt"]
    s.reference_backend()
    a = sample(dt, (3, 5), rng_for(check))
    check.repro = snippet(
        check.key,
        s.name,
        [
            f"a = {literal(a)}",
            f"print(idrak.tensor(a, device={s.name!r}).to('numpy').numpy())",
            f"print(idrak.tensor(a, device='numpy').to({s.name!r}).numpy())",
        ],
    )
    there = idrak.tensor(a, device="numpy").to(s.name)
    back = idrak.tensor(a, device=s.name).to("numpy")
    if there.device.type != s.name or back.device.type != "numpy":
        raise ConformanceFailure(
            f"to(): tensors ended on {there.device} and {back.device}", check.repro
        )
    for what, t in (
        ("numpy -> " + s.name, there),
        (s.name + " -> numpy", back),
        ("round trip", there.to("numpy").to(s.name)),
    ):
        if not _bits_equal(t.numpy(), a):
            raise ConformanceFailure(
                f"{what} changed the values of a {dt.name} tensor", check.repro
            )


def test_two_backends(check: Check) -> None:
    """Pending graphs on two backends realize together; mixing devices is an error."""
    import idrak

    s = check.s
    s.reference_backend()
    a = sample(float32, (4, 6), rng_for(check), np.array([0.5, -2.0, 3.0], dtype=np.float32))
    check.repro = snippet(
        check.key,
        s.name,
        [
            f"a = {literal(a)}",
            f"x, y = idrak.tensor(a, device={s.name!r}), idrak.tensor(a, device='numpy')",
            "fx, fy = (x * 2.0 + 1.0).exp().sum(0), (y * 2.0 + 1.0).exp().sum(0)",
            "idrak.realize(fx, fy)",
            "print(fx.numpy(), fy.numpy())",
        ],
    )
    x, y = idrak.tensor(a, device=s.name), idrak.tensor(a, device="numpy")
    fx = (x * 2.0 + 1.0).exp().sum(0)
    fy = (y * 2.0 + 1.0).exp().sum(0)
    gx = (fx.to("numpy") - fy).abs()  # a transfer in the middle of two pending graphs
    idrak.realize(fx, fy, gx)
    msg = compare(fx.numpy(), fy.numpy(), Tolerance(1e-5, 1e-30))
    if msg is not None:
        raise ConformanceFailure(f"the same program on {s.name} and numpy: {msg}", check.repro)
    if s.name == "numpy":
        return
    check.repro = snippet(
        check.key,
        s.name,
        [
            f"idrak.ones(2, device={s.name!r}) + idrak.ones(2, device='numpy')"
            "  # must raise idrak.DeviceError naming both devices"
        ],
    )
    try:
        (x + y).realize()
    except DeviceError as e:
        if s.name not in str(e) or "numpy" not in str(e):
            raise ConformanceFailure(
                f"DeviceError does not name both devices: {e}", check.repro
            ) from None
    else:
        raise ConformanceFailure(
            "an op on tensors of two devices did not raise DeviceError", check.repro
        )


def test_devices(check: Check) -> None:
    """Tensors move between the backend's devices and compute on each."""
    import idrak

    s = check.s
    n = s.caps.device_count
    if n < 2:
        pytest.skip("one device")
    a = sample(float32, (3, 4), rng_for(check), np.array([1.0, -1.0], dtype=np.float32))
    for i in range(1, n):
        check.repro = snippet(
            check.key,
            s.name,
            [
                f"a = {literal(a)}",
                f"t = idrak.tensor(a, device='{s.name}:0').to('{s.name}:{i}')",
                "print(t.device, t.numpy(), (t * 2.0).numpy())",
            ],
        )
        t = idrak.tensor(a, device=f"{s.name}:0").to(f"{s.name}:{i}")
        if (
            str(t.device) != f"{s.name}:{i}"
            or not _bits_equal(t.numpy(), a)
            or not _bits_equal((t * 2.0).numpy(), a * np.float32(2.0))
        ):
            raise ConformanceFailure(
                f"moving a tensor to {s.name}:{i} and computing there gave wrong values or device",
                check.repro,
            )
