"""The command lines a newcomer meets first: ``idrak``, the examples' ``--help`` and their
answers to user errors (one line, exit status 2), and the README's commands as CI runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import idrak
from idrak import cli
from idrak.examples import fashion_mnist, linear_regression, names

ROOT = Path(__file__).resolve().parents[1]


def test_version_and_bare_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"idrak {idrak.__version__}"
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: idrak") and "backends" in out and "conformance" in out


@pytest.mark.parametrize("example", [fashion_mnist, names, linear_regression])
def test_every_example_option_has_help(example: object, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        example.main(["--help"])  # type: ignore[attr-defined]
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "::" not in out and "Somegrad" not in out and "seed's" not in out
    lines = out.split("options:", 1)[1].splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  -"):
            flag = line.split()[0]
            inline = re.match(r"  -\S.*?\s{2,}\S", line)
            below = i + 1 < len(lines) and re.match(r"\s{10,}\S", lines[i + 1])
            assert inline or below, f"{flag} has no help text"
    if example is not linear_regression:
        assert "(default:" in out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("idrak.examples.fashion_mnist", "--epochs", "0"), "got 0"),
        (("idrak.examples.fashion_mnist", "--device", "nosuch:3"), "'nosuch:3'"),
        (("idrak.examples.names", "--path", "no/such/names.txt"), "no/such/names.txt"),
        (("idrak.examples.linear_regression", "--steps", "-1"), "got -1"),
    ],
)
def test_user_errors_are_one_line_exit_2(args: tuple[str, ...], says: str) -> None:
    proc = _run(*args)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "error:" in last and says in last, proc.stderr
    assert "Traceback" not in proc.stderr


def test_cuda_without_a_gpu_is_one_line() -> None:
    if "cuda" in {r["name"] for r in cli.backends_report()["backends"] if r["available"]}:
        pytest.skip("a CUDA device is available here")
    proc = _run("idrak.examples.fashion_mnist", "--device", "cuda")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'cuda' cannot be used here" in proc.stderr.strip().splitlines()[-1]


def _setup_block(readme: str) -> list[str]:
    block = readme.split("<!-- setup -->", 1)[1].split("<!-- /setup -->", 1)[0]
    return [ln for ln in block.splitlines() if ln and not ln.startswith("```")]


def test_ci_runs_exactly_the_readme() -> None:
    """.ci/run executes the README's set-up block (read from the README) and its test command."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    setup = _setup_block(readme)
    assert setup[0] == "python3 -m venv .venv"
    assert "python -m pip install -e '.[test,distributed]'" in setup  # mpi4py for the MPI tests
    assert "<!-- setup -->" in ci and 'eval "$setup"' in ci
    assert "```bash\npython -m pytest -n 2 -q\n```" in readme
    assert ci.rstrip().endswith("python -m pytest -n 2 -q")
    assert "export IDRAK_REQUIRE_DATA=1" in ci
    apt = "apt-get update && apt-get install -y git python3-venv dataset-fashion-mnist"
    assert apt in readme
    assert "apt-get update\napt-get install -y git python3-venv dataset-fashion-mnist" in ci
    assert "sudo apt-get" not in readme  # root containers have no sudo
    # OpenMPI, for the distributed extra's mpi4py, in both
    assert "dataset-fashion-mnist \\\n    openmpi-bin libopenmpi-dev\n" in readme
    assert "dataset-fashion-mnist openmpi-bin libopenmpi-dev\n" in ci
    # what .ci/run extracts is what this test read
    extract = subprocess.run(
        ["bash", "-c", ci.split("setup=", 1)[1].split("\n", 1)[0].join(["echo ", ""])],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert extract.stdout.split("\n")[0].startswith("python3 -m venv .venv")
