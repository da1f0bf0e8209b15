"""The runnable examples (``python -m idrak.examples.NAME``), in-process and as commands."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _realdata import FASHION_DIR, NAMES_FILE, need

from idrak.examples import fashion_mnist, linear_regression, names

FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # fmt: skip


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run matmuls on one BLAS thread. With ``pytest -n 2`` on two cores, OpenBLAS's spinning
    worker threads oversubscribe the CPU and a matmul gets ~40x slower; one thread per test
    process is the fast setting there (and costs little elsewhere)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn (the test extra)
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_linear_regression_recovers_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = linear_regression.main(["--quiet"])
    assert result["weight"] == pytest.approx(3.0, abs=0.05)
    assert result["bias"] == pytest.approx(2.0, abs=0.05)
    assert "learned y = " in capsys.readouterr().out


def test_examples_run_as_modules() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "idrak.examples.linear_regression", "--steps", "3"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "step    0" in out.stdout
    help_text = subprocess.run(
        [sys.executable, "-m", "idrak.examples.fashion_mnist", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for option in ("--model", "--epochs", "--device", "--quiet", "--limit", "--out"):
        assert option in help_text


def test_names_example_on_a_small_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn",
             "abigail", "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery", "mila",
             "aria", "scarlett"] * 10  # fmt: skip
    path = tmp_path / "names.txt"
    path.write_text("\n".join(words) + "\n")
    result = names.main(["--path", str(path), "--epochs", "1", "--samples", "3", "--quiet"])
    assert len(result["samples"]) == 3
    assert all(set(s) <= set("".join(words)) for s in result["samples"])
    assert result["bigram_nll"] > 0 and result["mlp_nll"] > 0
    again = names.main(["--path", str(path), "--epochs", "1", "--samples", "3", "--quiet"])
    assert again["samples"] == result["samples"]  # seeded
    assert "bigram model: dev NLL" in capsys.readouterr().out


def test_names_example_needs_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDRAK_DATA", raising=False)
    with pytest.raises(SystemExit, match="pass --path"):
        names.main([])


@pytest.mark.realdata
def test_fashion_mnist_example_writes_the_run(tmp_path: Path) -> None:
    need(FASHION_DIR, "Fashion-MNIST", *FASHION_FILES)
    with one_blas_thread():
        result = fashion_mnist.main(["--limit", "3000", "--epochs", "1", "--out", str(tmp_path),
                                     "--quiet"])  # fmt: skip
    run = result["path"]
    assert run.parent == tmp_path and run.name.startswith("fashion-mnist-mlp-")
    for rel in ("artifacts/checkpoint.safetensors", "artifacts/config.toml", "metrics.jsonl",
                "params.json", "plots/dashboard.png"):  # fmt: skip
        assert (run / rel).is_file(), rel
    assert result["test_accuracy"] > 0.5  # 10% is chance; this checks the workflow


@pytest.mark.realdata
@pytest.mark.slow
def test_fashion_mnist_mlp_reaches_85_percent_in_two_epochs(tmp_path: Path) -> None:
    need(FASHION_DIR, "Fashion-MNIST", *FASHION_FILES)
    t0 = time.perf_counter()
    with one_blas_thread():
        result = fashion_mnist.main(["--epochs", "2", "--out", str(tmp_path), "--quiet"])
    assert result["test_accuracy"] >= 0.85, result["history"]["eval_accuracy"]
    assert time.perf_counter() - t0 < 60


@pytest.mark.realdata
@pytest.mark.slow
def test_names_mlp_beats_the_bigram_model() -> None:
    need(NAMES_FILE, "the names file")
    t0 = time.perf_counter()
    with one_blas_thread():
        result = names.main(["--path", str(NAMES_FILE), "--epochs", "1", "--batch-size", "256",
                             "--samples", "5", "--quiet"])  # fmt: skip
    assert result["bigram_nll"] == pytest.approx(2.45, abs=0.05)
    assert result["mlp_nll"] < result["bigram_nll"]
    assert len(result["samples"]) == 5
    assert time.perf_counter() - t0 < 30
