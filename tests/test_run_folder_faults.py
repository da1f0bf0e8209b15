"""Run folders against symlinks, corrupt files and full disks (issue 14): nothing is written
outside the run, every error names the file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from idrak.train import Experiment


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    v = tmp_path / "victim.txt"
    v.write_text("precious data\n")
    return v


def test_symlinked_metrics_file_is_never_written_through(tmp_path: Path, victim: Path) -> None:
    exp = Experiment(id="a", root=tmp_path / "runs")
    exp.close()
    link = exp.path / "metrics.jsonl"
    link.symlink_to(victim)
    with pytest.raises(ValueError, match=r"metrics\.jsonl.*symlink"):
        Experiment(id="a", root=tmp_path / "runs").log_metric("loss", 1.0)
    assert victim.read_text() == "precious data\n"


@pytest.mark.parametrize("name", ["meta.json", "params.json"])
def test_symlinked_json_files_are_refused(tmp_path: Path, victim: Path, name: str) -> None:
    exp = Experiment(id="b", root=tmp_path / "runs")
    exp.close()
    (exp.path / name).unlink()
    (exp.path / name).symlink_to(victim)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        Experiment(id="b", root=tmp_path / "runs").log_hyperparameter("lr", 0.1)
    assert victim.read_text() == "precious data\n"


def test_artifact_paths_through_symlinks_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    exp = Experiment(id="c", root=tmp_path / "runs")
    (exp.path / "artifacts" / "sub").parent.mkdir(exist_ok=True)
    (exp.path / "artifacts" / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="symlink"):
        exp.log_artifact("sub/x.txt", "data")
    with pytest.raises(ValueError, match="symlink"):
        exp.log_artifact("sub/deeper/x.txt", "data")
    assert list(outside.iterdir()) == []
    exp2 = Experiment(id="d", root=tmp_path / "runs")
    (exp2.path / "artifacts").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="symlink"):
        exp2.log_artifact("x.txt", "data")
    assert list(outside.iterdir()) == []


def test_copied_folders_keep_links_as_links(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    src = tmp_path / "model"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "w.txt").write_text("weights")
    (src / "key").symlink_to(secret)
    (src / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    exp = Experiment(id="e", root=tmp_path / "runs")
    exp.log_artifact(src)
    dest = exp.path / "artifacts" / "model"
    assert (dest / "inner" / "w.txt").read_text() == "weights"
    assert (dest / "key").is_symlink() and os.readlink(dest / "key") == str(secret)
    assert (dest / "dirlink").is_symlink()
    found = [p for p in exp.path.rglob("*") if not p.is_symlink() and p.is_file()]
    assert not any("PRIVATE KEY" in p.read_text(errors="replace") for p in found)


@pytest.mark.parametrize("name", ["meta.json", "params.json"])
def test_truncated_json_names_the_file(tmp_path: Path, name: str) -> None:
    exp = Experiment(id="f", root=tmp_path)
    exp.log_hyperparameter("lr", 0.1)
    exp.close()
    path = exp.path / name
    path.write_bytes(path.read_bytes()[:7])
    with pytest.raises(ValueError, match=rf"{name.replace('.', '[.]')}: not a valid JSON file"):
        Experiment.load(exp.path)


def test_file_size_limit_names_the_file(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import resource, signal
        import idrak
        from idrak.train import Experiment
        exp = Experiment(id="g", root={str(tmp_path)!r}, fsync=False)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        for what, fn in [("metric", lambda: [exp.log_metric("loss", 0.5) for _ in range(200)]),
                         ("save", lambda: idrak.save({{"w": idrak.zeros(4096)}},
                                                      exp.path / "big.safetensors"))]:
            try:
                fn()
            except OSError as e:
                print(what, "|", e)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    lines = dict(line.split(" | ", 1) for line in out.stdout.splitlines())
    assert "metrics.jsonl" in lines["metric"] and "bytes" in lines["metric"], out
    assert "big.safetensors" in lines["save"] and "bytes written" in lines["save"], out
    assert not list((tmp_path / "experiment-g").glob(".*.tmp"))
