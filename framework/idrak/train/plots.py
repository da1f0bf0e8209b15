"""Figures of experiment runs (matplotlib, the ``plot`` extra): one dashboard per run, and
several runs on shared axes.

Metrics are grouped by what they measure: ``train_loss`` and ``eval_loss`` share the "loss"
panel (so over-fitting shows at a glance), ``train_accuracy`` / ``eval_accuracy`` the
"accuracy" panel, and so on; ``lr`` and ``epoch_time`` get panels of their own. The x axis is
the epoch, numbered from 1 as the console prints it (the Runner logs epoch ``k`` at step
``k - 1``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idrak.train.experiment import Experiment

__all__ = ["dashboard", "plot_runs"]

_FIRST = ("loss", "accuracy", "f1", "precision", "recall")
_LABELS = {"lr": "learning rate", "epoch_time": "epoch time (s)", "f1": "F1"}


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plots need matplotlib: pip install 'idrak[plot]' (or pip install matplotlib)"
        ) from None
    return Figure


def _panels(names: Iterable[str]) -> dict[str, list[str]]:
    """``{panel: [metric names]}``: ``train_x`` and ``eval_x`` (``val_``/``test_``) share ``x``."""
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        base = name
        for prefix in ("train_", "eval_", "val_", "test_"):
            if name.startswith(prefix):
                base = name[len(prefix) :]
                break
        groups.setdefault(base, []).append(name)
    order = [p for p in _FIRST if p in groups] + sorted(p for p in groups if p not in _FIRST)
    return {p: groups[p] for p in order}


def _draw(
    runs: Sequence[Experiment], names: Iterable[str] | None, title: str, path: Path, per_run: bool
) -> Path:
    all_names = {m for r in runs for m in r.metrics} if names is None else set(names)
    for m in all_names:
        if not any(m in r.metrics for r in runs):
            raise KeyError(f"no metric {m!r} in {[f'{r.name}-{r.id}' for r in runs]}")
    panels = _panels(all_names)
    if not panels:
        raise ValueError(f"nothing to plot: {[f'{r.name}-{r.id}' for r in runs]} logged no metrics")
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = _figure_class()(figsize=(4.6 * cols, 3.4 * rows), dpi=100, layout="constrained")
    for i, (panel, metrics) in enumerate(panels.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        for run in runs:
            for m in metrics:
                if m not in run.metrics:
                    continue
                hist = run.history(m)
                label = m if not per_run else f"{run.name}-{run.id} {m}"
                style = "--" if m.startswith("train_") else "-"
                ax.plot([s + 1 for s, _ in hist], [v for _, v in hist], style, marker=".",
                        label=label)  # fmt: skip
        ax.set_title(_LABELS.get(panel, panel))
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, alpha=0.3)
        if len(ax.get_lines()) > 1:
            ax.legend(fontsize="small")
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def dashboard(
    experiment: Experiment,
    path: str | os.PathLike[str] | None = None,
    metrics: Iterable[str] | None = None,
) -> Path:
    """One figure of a run: loss, accuracy, F1 ... with train and eval on shared axes, then lr
    and epoch time; written to ``path`` (default ``<run>/plots/dashboard.png``).

    Raises:
        ImportError: matplotlib is missing (says how to install it).
        KeyError: an unknown metric name. ValueError: the run logged no metrics.
    """
    out = Path(path) if path is not None else experiment.path / "plots" / "dashboard.png"
    return _draw([experiment], metrics, f"{experiment.name}-{experiment.id}", out, per_run=False)


def plot_runs(
    runs: Sequence[Experiment], path: str | os.PathLike[str], metrics: Iterable[str] | None = None
) -> Path:
    """Several runs on the same axes, one panel per kind of metric; written to ``path``.

    Raises:
        ImportError: matplotlib is missing. KeyError: a metric no run has.
    """
    return _draw(list(runs), metrics, f"{len(runs)} runs", Path(path), per_run=True)
