"""Running a script under ``mpirun`` from a test (skips cleanly without OpenMPI/mpi4py, except
on CI, where their absence is a failure: CI installs both)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import idrak
import idrak_numpy

SCRIPTS = Path(__file__).parent / "_dist_scripts"


def require_mpi() -> str:
    """The path of ``mpirun``; skips (fails on CI) when it or mpi4py is missing."""
    mpirun = shutil.which("mpirun")
    why = (
        "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
        if mpirun is None
        else "mpi4py not installed (pip install 'idrak[distributed]')"
        if importlib.util.find_spec("mpi4py") is None
        else ""
    )
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the distributed tests: {why}")
        pytest.skip(why)
    assert mpirun is not None
    return mpirun


def child_env() -> dict[str, str]:
    """The environment of a child process: this idrak on its path, OpenMPI allowed as root."""
    paths = [str(Path(m.__file__).resolve().parents[1]) for m in (idrak, idrak_numpy)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        IDRAK_JIT="0",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return env


def mpirun(
    np_: int, args: list[str], timeout: float = 60.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``mpirun -np N --oversubscribe python ARGS`` (a script of _dist_scripts or ``-m mod``)."""
    exe = require_mpi()
    if args and not args[0].startswith("-"):
        args = [str(SCRIPTS / args[0]), *args[1:]]
    cmd = [exe, "-np", str(np_), "--oversubscribe", "--bind-to", "none", sys.executable, *args]
    return subprocess.run(
        cmd, env=child_env(), capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def check(result: subprocess.CompletedProcess[str]) -> None:
    """Fail with the children's output when mpirun did not succeed."""
    if result.returncode != 0:
        pytest.fail(
            f"mpirun exited {result.returncode}\nstdout:\n{result.stdout[-4000:]}\n"
            f"stderr:\n{result.stderr[-4000:]}"
        )
