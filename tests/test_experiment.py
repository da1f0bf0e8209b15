"""idrak.train.Experiment: round trips, crash safety, plots, comparison tables."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from idrak.train import Experiment, compare_experiments

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run_dir_files(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def test_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("a copied file")
    with Experiment(id="r1", name="mlp", root=tmp_path / "runs") as exp:
        exp.log_hyperparameters({"lr": np.float32(0.5), "layers": (64, 32), "opt": "adam"})
        exp.log_hyperparameter("data", tmp_path)
        for step in range(3):
            exp.log_metric("loss", 1.0 / (step + 1), step=step * 10)
        exp.log_metric("acc", np.float64(0.9))
        exp.log_metric("acc", 0.95)  # step defaults to previous + 1
        exp.log_artifact(src)
        exp.log_artifact("model/config.json", data='{"x": 1}')
        exp.log_artifact("weights.bin", data=b"\x00\x01")
    assert exp.path == tmp_path / "runs" / "mlp-r1"
    assert _run_dir_files(exp.path) == [
        "artifacts/model/config.json",
        "artifacts/notes.txt",
        "artifacts/weights.bin",
        "meta.json",
        "metrics.jsonl",
        "params.json",
    ]  # no temporary files left behind
    back = Experiment.load(exp.path)
    assert (back.id, back.name) == ("r1", "mlp")
    assert back.hyperparameters == {
        "lr": 0.5,
        "layers": [64, 32],
        "opt": "adam",
        "data": str(tmp_path),
    }
    assert back.history("loss") == [(0, 1.0), (10, 0.5), (20, 1 / 3)]
    assert back.history("acc") == [(0, 0.9), (1, 0.95)]
    assert back.artifacts == ["notes.txt", "model/config.json", "weights.bin"]
    assert (back.path / "artifacts" / "weights.bin").read_bytes() == b"\x00\x01"
    assert json.loads((back.path / "meta.json").read_text())["status"] == "finished"
    assert back.best("loss") == (20, 1 / 3) and back.best("acc") == (1, 0.95)


def test_resume_appends(tmp_path: Path) -> None:
    first = Experiment(id="a", root=tmp_path)
    first.log_metric("loss", 2.0)
    first.close()
    again = Experiment(id="a", root=tmp_path)
    again.log_metric("loss", 1.0)
    again.close()
    again.log_metric("loss", 0.5)  # logging after close() reopens the file and appends
    again.close()
    assert Experiment.load(again.path).history("loss") == [(0, 2.0), (1, 1.0), (2, 0.5)]


def test_truncated_last_line_is_tolerated_and_cut_before_appending(tmp_path: Path) -> None:
    exp = Experiment(id="t", root=tmp_path)
    exp.log_metric("loss", 3.0)
    exp.log_metric("loss", 2.0)
    exp.close()
    with open(exp.path / "metrics.jsonl", "ab") as f:
        f.write(b'{"name": "loss", "step": 2, "val')  # a write cut short by a crash
    back = Experiment.load(exp.path)
    assert back.history("loss") == [(0, 3.0), (1, 2.0)]
    back.log_metric("loss", 1.0)
    back.close()
    lines = (exp.path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["name"] == "loss" for line in lines)
    assert Experiment.load(exp.path).history("loss")[-1] == (2, 1.0)


def test_corrupt_middle_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    # issue 14: one corrupt line no longer makes the whole run unreadable
    exp = Experiment(id="c", root=tmp_path)
    exp.close()
    (exp.path / "metrics.jsonl").write_text('garbage\n{"name": "l", "step": 0, "value": 1}\n')
    with pytest.warns(RuntimeWarning, match=r"metrics\.jsonl: line 1 is not a metric record"):
        back = Experiment.load(exp.path)
    assert back.metrics == {"l": [(0, 1.0)]}


_CHILD = textwrap.dedent("""
    import os, sys, time
    from idrak.train import Experiment
    exp = Experiment(id="crash", name="child", root=sys.argv[1])
    exp.log_hyperparameters({"lr": 0.1})
    for step in range(int(sys.argv[2])):
        exp.log_metric("loss", 1.0 / (step + 1), step=step)
        time.sleep(float(sys.argv[3]))
    os._exit(1)  # no cleanup, no close(), no atexit
""")


def test_hard_exit_keeps_every_logged_value(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path), "25", "0"], timeout=60)
    assert proc.returncode == 1
    exp = Experiment.load(tmp_path / "child-crash")
    assert [s for s, _ in exp.history("loss")] == list(range(25))
    assert exp.hyperparameters == {"lr": 0.1}


def test_killed_process_leaves_a_loadable_run(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), "100000", "0.001"])
    metrics = tmp_path / "child-crash" / "metrics.jsonl"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if metrics.is_file() and metrics.read_bytes().count(b"\n") >= 20:
                break
            time.sleep(0.01)
    finally:
        proc.kill()  # SIGKILL, mid-run
        proc.wait(timeout=30)
    steps = [s for s, _ in Experiment.load(tmp_path / "child-crash").history("loss")]
    assert len(steps) >= 20 and steps == list(range(len(steps)))


def test_plots_are_png_files(tmp_path: Path) -> None:
    exp = Experiment(id="p", root=tmp_path)
    for step in range(100):
        exp.log_metric("train/loss", 1 / (step + 1), step=step)
    exp.log_metric("acc", 0.5)
    paths = exp.plot()
    assert sorted(p.name for p in paths) == ["acc.png", "train_loss.png"]
    for p in paths:
        assert p.parent == exp.path / "plots" and p.stat().st_size > 1000
        assert p.read_bytes()[:8] == PNG_MAGIC
    only = exp.plot(tmp_path / "elsewhere", metrics=["acc"])
    assert [p.name for p in only] == ["acc.png"] and only[0].read_bytes()[:8] == PNG_MAGIC
    assert not list((tmp_path / "elsewhere").glob("*.tmp"))
    with pytest.raises(KeyError, match=r"no metric 'nope'.*logged: \['acc', 'train/loss'\]"):
        exp.plot(metrics=["nope"])


def test_plot_without_matplotlib_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = Experiment(id="m", root=tmp_path)
    exp.log_metric("loss", 1.0)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'idrak\[plot\]'"):
        exp.plot()


def test_compare_experiments_table(tmp_path: Path) -> None:
    runs = []
    for i, lr in enumerate([0.1, 0.01]):
        exp = Experiment(id=str(i), name="cmp", root=tmp_path)
        exp.log_hyperparameters({"lr": lr, "epochs": 3})
        for step, loss in enumerate([1.0, 0.2 + i, 0.5]):
            exp.log_metric("val_loss", loss, step=step)
            exp.log_metric("val_acc", 1 - loss, step=step)
        exp.close()
        runs.append(exp)
    table = compare_experiments([runs[0], runs[1].path])
    lines = table.splitlines()
    assert lines[0].split("|")[1:-1] == [
        " run   ",
        " lr   ",
        " val_acc best ",
        " val_acc last ",
        " val_loss best ",
        " val_loss last ",
    ]
    assert "epochs" not in table  # only hyperparameters that differ are shown
    assert "0.2 @1" in lines[2] and "0.8 @1" in lines[2]  # loss: min, acc: max
    assert "0.5 @2" in lines[3] and "0.5 @2" in lines[3]
    assert "0.8 @1" in compare_experiments(runs, metrics=["val_acc"], modes={"val_acc": "max"})
    assert compare_experiments([]) == "(no experiments)"


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda e: e.log_metric("loss", "high"), TypeError, "value must be a number, got str"),
        (lambda e: e.log_metric("", 1.0), TypeError, "non-empty string"),
        (
            lambda e: e.log_metric("acc", np.zeros(2)),
            TypeError,
            r"'acc' value must be a single number, got ndarray of shape \(2,\)",
        ),
        (lambda e: e.log_metric("loss", 1.0, step=1.5), TypeError, "step must be an int, got 1.5"),
        (lambda e: e.log_hyperparameter("fn", print), TypeError, "'fn' has a value of type"),
        (lambda e: e.log_artifact("../escape.txt", data="x"), ValueError, "relative inside"),
        (lambda e: e.log_artifact("/nonexistent/file"), FileNotFoundError, "does not exist"),
        (lambda e: e.history("nope"), KeyError, "no metric 'nope'"),
    ],
)
def test_bad_input_names_the_problem(
    tmp_path: Path, call: Callable[[Experiment], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call(Experiment(id="bad", root=tmp_path))


def test_bad_names_and_missing_dirs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"experiment name must be .*got 'a/b'"):
        Experiment(name="a/b", root=tmp_path)
    with pytest.raises(ValueError, match="experiment id must be"):
        Experiment(id="..", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="not an experiment directory"):
        Experiment.load(tmp_path)
    auto = Experiment(root=tmp_path)
    assert auto.path.name.startswith("experiment-") and len(auto.id) > 10


def test_dashboard_and_compared_runs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    from idrak.train import compare_experiments

    runs = []
    for lr in (0.1, 0.01):
        exp = Experiment(name="dash", root=tmp_path, fsync=False)
        exp.log_hyperparameter("lr", lr)
        for epoch in range(3):
            exp.log_metrics(
                {"train_loss": 1.0 / (epoch + 1), "eval_loss": 1.2 / (epoch + 1), "lr": lr},
                step=epoch,
            )
        runs.append(exp)
    path = runs[0].dashboard()
    assert path == runs[0].path / "plots" / "dashboard.png"
    height, width = imread(path).shape[:2]
    assert width > height > 100  # one figure: a loss panel (train and eval) and an lr panel
    from idrak.train import plots

    assert list(plots._panels(runs[0].metrics)) == ["loss", "lr"]
    assert plots._panels(runs[0].metrics)["loss"] == ["eval_loss", "train_loss"]
    table = compare_experiments(runs, plot=tmp_path / "both.png")
    assert "lr" in table and (tmp_path / "both.png").stat().st_size > 1000
    with pytest.raises(KeyError, match="'nope'"):
        runs[0].dashboard(metrics=["nope"])
