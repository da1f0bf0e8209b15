"""The host thread policy: idrak.set_num_threads / IDRAK_NUM_THREADS reach BLAS (through
threadpoolctl), the fused-kernel engine and numexpr; bad values are refused by name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import idrak

CODE = """
import idrak, threadpoolctl
from idrak_numpy import _fused
idrak.zeros(2).numpy()                                   # builds the numpy backend
blas = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
print(idrak.get_num_threads(), _fused._THREADS, sorted(set(blas)))
"""


def _run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "IDRAK_NUM_THREADS"}
    full.update(env)
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, check=False
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip()


def test_the_env_var_sets_every_pool() -> None:
    n, fused, blas = _run(CODE, IDRAK_NUM_THREADS="1").split(" ", 2)
    assert (n, fused) == ("1", "1")
    assert blas in ("[]", "[1]"), blas  # [] where NumPy's BLAS is not visible to threadpoolctl


def test_the_default_is_the_cores_this_process_may_use() -> None:
    cores = len(os.sched_getaffinity(0))
    n, fused, _ = _run(CODE).split(" ", 2)
    assert (int(n), int(fused)) == (cores, cores)


def test_set_num_threads_applies_to_built_backends() -> None:
    code = CODE.replace(
        "idrak.zeros(2).numpy()", "idrak.zeros(2).numpy(); idrak.set_num_threads(1)"
    )
    n, fused, blas = _run(code, IDRAK_NUM_THREADS="2").split(" ", 2)
    assert (n, fused) == ("1", "1") and blas in ("[]", "[1]")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, None])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        idrak.set_num_threads(bad)  # type: ignore[arg-type]


def test_a_bad_env_value_names_the_variable() -> None:
    res = subprocess.run(
        [sys.executable, "-c", "import idrak; idrak.get_num_threads()"],
        capture_output=True,
        text=True,
        env={**os.environ, "IDRAK_NUM_THREADS": "lots"},
    )
    assert res.returncode != 0 and "IDRAK_NUM_THREADS" in res.stderr and "lots" in res.stderr
