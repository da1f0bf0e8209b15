"""idrak.distributed over MPI: 2-rank runs under ``mpirun -np 2 --oversubscribe``.

Each test starts ``mpirun`` (skipped without OpenMPI/mpi4py, a failure on CI) and checks what
the ranks wrote: collectives against NumPy references, DDP against a one-process run, a dead or
hung rank, a Runner resumed from rank 0's checkpoint.
"""

from __future__ import annotations

import sys
import time
from functools import reduce
from pathlib import Path

import numpy as np
import pytest
from _dist_inputs import DTYPES, OPS, make_input
from _mpi import SCRIPTS, check, mpirun
from _realdata import FASHION_DIR, need

WORLD = 2


def _reference(op: str, arrays: list[np.ndarray], dtype: str) -> np.ndarray:
    """NumPy's reduction over ranks, in the dtype (bool: as uint8, then != 0)."""
    if dtype == "bool":
        arrays = [a.astype(np.uint8) for a in arrays]
    stack = np.stack(arrays)
    if op == "SUM":
        r = stack.sum(0, dtype=stack.dtype)
    elif op == "PRODUCT":
        r = reduce(np.multiply, arrays).astype(stack.dtype)
    elif op == "MIN":
        r = stack.min(0)
    elif op == "MAX":
        r = stack.max(0)
    else:
        r = (stack.astype(np.float32 if dtype == "float16" else dtype).sum(0) / WORLD).astype(dtype)
    return r != 0 if dtype == "bool" else r


def test_collectives_every_dtype_and_op(tmp_path: Path) -> None:
    check(mpirun(WORLD, ["collectives.py", str(tmp_path), str(Path(__file__).parent)]))
    got = [dict(np.load(tmp_path / f"{r}.npz")) for r in range(WORLD)]
    checked = 0
    for dtype in DTYPES:
        inputs = [make_input(dtype, r) for r in range(WORLD)]
        tol = {"float16": 2e-3, "float32": 1e-6}.get(dtype, 1e-12)
        for op in OPS:
            if op == "AVG" and not dtype.startswith("float"):
                continue
            want = _reference(op, inputs, dtype)
            for r in range(WORLD):
                a = got[r][f"all_reduce/{dtype}/{op}"]
                assert a.dtype == want.dtype, (dtype, op, a.dtype)
                np.testing.assert_allclose(
                    a.astype(float), want.astype(float), rtol=tol, atol=tol, err_msg=f"{dtype} {op}"
                )
                # rank r receives the reduction of every rank k's row r: make_input(k + 10 r)
                rs = _reference(op, [make_input(dtype, k + 10 * r) for k in range(WORLD)], dtype)
                np.testing.assert_allclose(
                    got[r][f"reduce_scatter/{dtype}/{op}"].astype(float),
                    rs.astype(float),
                    rtol=tol,
                    atol=tol,
                    err_msg=f"reduce_scatter {dtype} {op} rank {r}",
                )
                checked += 2
        for r in range(WORLD):
            np.testing.assert_array_equal(got[r][f"broadcast/{dtype}"], inputs[WORLD - 1])
            np.testing.assert_array_equal(got[r][f"all_gather/{dtype}"], np.stack(inputs))
            np.testing.assert_array_equal(
                got[r][f"all_gather_into_tensor/{dtype}"], np.concatenate(inputs)
            )
    assert checked == 2 * WORLD * (len(DTYPES) * 4 + 3)


@pytest.mark.parametrize(("batch", "steps"), [(4, 6)])
def test_two_ranks_match_one_rank_with_twice_the_batch(
    tmp_path: Path, batch: int, steps: int
) -> None:
    check(mpirun(WORLD, ["ddp_equivalence.py", str(tmp_path), str(batch), str(steps)]))
    sys.path.insert(0, str(SCRIPTS))
    try:
        from ddp_equivalence import train
    finally:
        sys.path.remove(str(SCRIPTS))
    want = train(0, 1, WORLD * batch, steps, distributed=False)
    initial = train(0, 1, WORLD * batch, 0, distributed=False)
    for r in range(WORLD):
        got = dict(np.load(tmp_path / f"{r}.npz"))
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)
            # the test can fail: the parameters did move away from their start
            assert np.abs(want[name] - initial[name]).max() > 1e-3


@pytest.mark.parametrize("mode", ["exit", "hang"])
def test_a_dead_rank_fails_the_others_instead_of_hanging(mode: str) -> None:
    t0 = time.monotonic()
    result = mpirun(WORLD, ["rank_failure.py", mode, "3"], timeout=60)
    elapsed = time.monotonic() - t0
    assert result.returncode != 0
    assert "finished, which it should not have" not in result.stdout
    assert elapsed < 30, f"took {elapsed:.1f}s"
    text = result.stdout + result.stderr
    if mode == "hang":  # rank 0's own error, within the 3 s timeout
        assert "DistributedTimeoutError" in text and "did not complete within 3 s" in text, text
    else:  # mpirun notices the exit and ends the job
        assert "exit" in text.lower(), text


def test_runner_resumes_a_two_rank_run_from_rank_0s_checkpoint(tmp_path: Path) -> None:
    full, first, second = (tmp_path / d for d in ("full", "first", "second"))
    for d in (full, first, second):
        d.mkdir()
    check(mpirun(WORLD, ["runner_resume.py", str(full), "2"]))
    check(mpirun(WORLD, ["runner_resume.py", str(first), "1"]))
    # only rank 0 writes checkpoints
    assert (first / "checkpoint.safetensors").exists()
    assert (first / "probe-0.safetensors").exists()
    assert not (first / "probe-1.safetensors").exists()
    ckpt = str(first / "checkpoint.safetensors")
    result = mpirun(WORLD, ["runner_resume.py", str(second), "2", ckpt])
    check(result)
    assert result.stdout.count("epoch 2 step 12") == WORLD, result.stdout  # 45 samples / 8
    one = dict(np.load(first / "params-0.npz"))
    for r in range(WORLD):
        want = dict(np.load(full / f"params-{r}.npz"))
        got = dict(np.load(second / f"params-{r}.npz"))
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)
            assert np.abs(want[name] - one[name]).max() > 1e-4  # epoch 2 changed them


@pytest.mark.realdata
@pytest.mark.slow
def test_fashion_mnist_example_runs_on_two_ranks(tmp_path: Path) -> None:
    need(FASHION_DIR, "Fashion-MNIST")
    args = ["-m", "idrak.examples.fashion_mnist", "--distributed", "--epochs", "1"]
    result = mpirun(WORLD, [*args, "--limit", "2000", "--out", str(tmp_path)], timeout=120)
    check(result)
    assert "2 ranks x 64 samples per step" in result.stdout
    assert result.stdout.count("test accuracy") == 1  # rank 0 reports, rank 1 is quiet
    assert len(list(tmp_path.iterdir())) == 1  # one experiment folder, rank 0's
