"""Experiment tracking on plain files: hyperparameters, metric histories, artifacts, plots.

A run lives in ``<root>/<name>-<id>/``::

    params.json      hyperparameters (rewritten atomically: temp file + os.replace)
    metrics.jsonl    one JSON object per logged value, appended, flushed and fsynced per line
    meta.json        id, name, times, status, artifact names (rewritten atomically)
    artifacts/       files copied or written by log_artifact
    plots/           learning curves written by plot()

A process killed mid-run loses at most the line being written; :meth:`Experiment.load` skips a
truncated last line (and the next append first cuts it off), skips a corrupt line elsewhere with
a warning naming the file and line, and removes temporary files an interrupted write left.

Every file written or truncated inside the run is opened without following symlinks
(``O_NOFOLLOW``) and checked to resolve inside the run folder; artifacts are copied without
following links (a link inside a copied folder is recorded as a link, its target is not read).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
import uuid
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from idrak.io.atomic import atomic_path, atomic_write
from idrak.io.safe_files import (
    inside,
    make_dirs,
    open_nofollow,
    remove_stale_temps,
    write_error,
)
from idrak.train.run_files import _jsonable
from idrak.train.run_files import read_json as _read_json
from idrak.train.run_files import read_metrics as _read_metrics

__all__ = ["Experiment", "compare_experiments"]

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LOWER_IS_BETTER = ("loss", "error", "err", "perplexity", "mse", "mae", "time", "nll")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _atomic_write(path: Path, data: bytes) -> None:
    atomic_write(path, data)


class Experiment:
    """One tracked run: hyperparameters, metric histories and artifacts, saved under ``root``.

    Args:
        id: the run id (letters, digits, ``._-``); default: a timestamp plus a random suffix.
        name: the experiment name (same characters); the directory is ``<root>/<name>-<id>``.
        root: the parent directory of all runs (created).
        fsync: fsync ``metrics.jsonl`` after every logged value (crash safety; ~ms per call).

    If the run directory already exists, the run is resumed: its hyperparameters and metrics
    are read back and new values are appended.

    Attributes:
        id, name: as given; ``path``: the run directory.

    Raises:
        ValueError: an ``id`` or ``name`` with characters unsafe in a directory name.
    """

    def __init__(
        self,
        id: str | None = None,
        name: str = "experiment",
        root: str | os.PathLike[str] = "runs",
        *,
        fsync: bool = True,
    ) -> None:
        if id is None:
            id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        for what, value in (("id", id), ("name", name)):
            if not isinstance(value, str) or not _SAFE.match(value):
                raise ValueError(
                    f"experiment {what} must be letters, digits, '.', '_' or '-' (starting with "
                    f"a letter or digit), got {value!r}"
                )
        path = Path(root) / f"{name}-{id}"
        path.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            raise ValueError(f"run folder {str(path)!r} is a symlink; idrak does not follow it")
        self._open(path, id, name, fsync)
        self._status = "running"
        self._write_meta()

    def _open(self, path: Path, id: str, name: str, fsync: bool) -> None:
        """Read whatever the run directory already holds; writes nothing."""
        self.id, self.name, self.path, self.fsync = id, name, path, fsync
        remove_stale_temps(path)  # left by a write a crash interrupted
        meta = _read_json(path / "meta.json", {})
        self._created: str = str(meta.get("created", _now()))
        self._status = str(meta.get("status", "running"))
        self._artifacts: list[str] = [str(a) for a in meta.get("artifacts", [])]
        self._params: dict[str, Any] = _read_json(path / "params.json", {})
        records, good_length = _read_metrics(path / "metrics.jsonl")
        self._trim_to: int | None = good_length  # cut a crash-truncated line before appending
        self._metrics: dict[str, list[tuple[int, float]]] = {}
        for rec in records:
            self._metrics.setdefault(rec["name"], []).append(
                (int(rec["step"]), float(rec["value"]))
            )
        self._file: IO[str] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Experiment:
        """Open an existing run directory (to read, compare, plot, or keep logging).

        Raises:
            FileNotFoundError: ``path`` has no ``meta.json``.
            ValueError: ``meta.json`` or ``params.json`` is not valid JSON, or a file of the run
                is a symlink (the file is named). Corrupt lines of ``metrics.jsonl`` are
                skipped with a warning.
        """
        p = Path(path)
        meta_file = p / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{str(p)!r} is not an experiment directory (no meta.json)")
        meta = _read_json(meta_file, {})
        if "id" not in meta or "name" not in meta:
            raise ValueError(f"{meta_file}: no 'id' / 'name' (not an experiment's meta.json)")
        exp = cls.__new__(cls)
        exp._open(p, str(meta["id"]), str(meta["name"]), fsync=True)
        return exp

    # hyperparameters ----------------------------------------------------------------------
    @property
    def hyperparameters(self) -> dict[str, Any]:
        """A copy of the logged hyperparameters."""
        return json.loads(json.dumps(self._params))

    def log_hyperparameter(self, key: str, value: Any) -> None:
        """Record one hyperparameter (JSON-serializable; NumPy values and paths are converted).

        Raises:
            TypeError: a non-string key or a value JSON cannot hold (key and type named).
        """
        self.log_hyperparameters({key: value})

    def log_hyperparameters(self, params: Mapping[str, Any]) -> None:
        """Record several hyperparameters at once; ``params.json`` is rewritten atomically."""
        if not isinstance(params, Mapping):
            raise TypeError(f"log_hyperparameters takes a mapping, got {type(params).__name__}")
        converted = {}
        for key, value in params.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"hyperparameter names must be non-empty strings, got {key!r}")
            converted[key] = _jsonable(key, value)
        self._params.update(converted)
        self._write_params()

    # metrics ------------------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, list[tuple[int, float]]]:
        """Every metric's history: ``{name: [(step, value), ...]}`` in logging order (a copy)."""
        return {k: list(v) for k, v in self._metrics.items()}

    def history(self, name: str) -> list[tuple[int, float]]:
        """``[(step, value), ...]`` of one metric, in logging order.

        Raises:
            KeyError: no metric ``name`` was logged (the logged names are listed).
        """
        if name not in self._metrics:
            raise KeyError(
                f"no metric {name!r} in experiment {self.name}-{self.id}; "
                f"logged: {sorted(self._metrics)}"
            )
        return list(self._metrics[name])

    def log_metric(self, name: str, value: Any, step: int | None = None) -> None:
        """Append one value of metric ``name`` to ``metrics.jsonl`` (flushed, fsynced).

        Args:
            name: a non-empty string.
            value: a number, a one-element Tensor / array (``.item()`` is taken).
            step: an int; default: the metric's previous step + 1 (0 for the first value).

        Raises:
            TypeError / ValueError: a bad name, a non-numeric value or a non-int step.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"metric name must be a non-empty string, got {name!r}")
        try:
            raw = value.item() if hasattr(value, "item") else value
        except (ValueError, RuntimeError) as exc:  # e.g. a Tensor / array of several elements
            raise TypeError(
                f"metric {name!r} value must be a single number, got {type(value).__name__} of "
                f"shape {tuple(getattr(value, 'shape', ()))}"
            ) from exc
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise TypeError(f"metric {name!r} value must be a number, got {type(value).__name__}")
        if step is None:
            hist = self._metrics.get(name)
            step = hist[-1][0] + 1 if hist else 0
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"metric {name!r} step must be an int, got {step!r}")
        record = {"name": name, "step": step, "value": float(raw), "time": round(time.time(), 3)}
        f = self._metrics_file()
        line = json.dumps(record) + "\n"
        try:
            f.write(line)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        except OSError as exc:  # a full disk or a file-size limit: say which file
            raise write_error(exc, self.path / "metrics.jsonl", len(line)) from exc
        self._metrics.setdefault(name, []).append((step, float(raw)))

    def log_metrics(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """:meth:`log_metric` for every ``name: value`` in ``values``, at the same ``step``."""
        for name, value in values.items():
            self.log_metric(name, value, step)

    def _metrics_file(self) -> IO[str]:
        if self._file is None or self._file.closed:
            path = inside(self.path, self.path / "metrics.jsonl")
            fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            if self._trim_to is not None and os.fstat(fd).st_size > self._trim_to:
                os.ftruncate(fd, self._trim_to)  # cut off a line truncated by an earlier crash
            self._trim_to = None
            self._file = os.fdopen(fd, "a", encoding="utf-8")
            self._finalizer = weakref.finalize(self, self._file.close)
        return self._file

    # artifacts ----------------------------------------------------------------------------
    @property
    def artifacts(self) -> list[str]:
        """Names of the logged artifacts, relative to ``path / "artifacts"``."""
        return list(self._artifacts)

    def log_artifact(
        self, path_or_name: str | os.PathLike[str], data: str | bytes | None = None
    ) -> Path:
        """Copy a file or directory into ``artifacts/``, or write ``data`` there under a name.

        Args:
            path_or_name: with ``data=None``, an existing file or directory to copy (its base
                name is kept); otherwise the artifact's relative name (``"model/config.json"``).
            data: text (written as UTF-8) or bytes.

        Returns:
            The artifact's path in the run directory.

        Raises:
            FileNotFoundError: the file to copy does not exist.
            ValueError: a name that is absolute or leaves ``artifacts/`` (``..``), or a path
                through a symlink inside the run folder (named).
            TypeError: ``data`` is neither str nor bytes.
        """
        art = make_dirs(self.path, Path("artifacts"))
        if data is None:
            src = Path(path_or_name)
            if not src.exists():
                raise FileNotFoundError(f"artifact to copy {str(src)!r} does not exist")
            rel = src.name
            dest = inside(self.path, art / rel)
            if src.is_dir():
                self._copy_tree(src, art, Path(rel))
            else:
                _atomic_write(dest, src.read_bytes())
                shutil.copystat(src, dest)
        else:
            rel_path = Path(path_or_name)
            if rel_path.is_absolute() or ".." in rel_path.parts or not rel_path.parts:
                raise ValueError(
                    f"artifact name must be relative inside artifacts/, got {str(path_or_name)!r}"
                )
            if not isinstance(data, str | bytes):
                raise TypeError(f"artifact data must be str or bytes, got {type(data).__name__}")
            rel = rel_path.as_posix()
            make_dirs(art, rel_path.parent)
            dest = inside(self.path, art / rel_path)
            _atomic_write(dest, data.encode("utf-8") if isinstance(data, str) else data)
        if rel not in self._artifacts:
            self._artifacts.append(rel)
        self._write_meta()
        return dest

    def _copy_tree(self, src: Path, art: Path, rel: Path) -> None:
        """Copy folder ``src`` to ``art/rel`` without following links: a symlink inside it is
        recreated as the same link (its target is neither read nor copied)."""
        make_dirs(art, rel)
        for entry in sorted(os.scandir(src), key=lambda e: e.name):
            sub = rel / entry.name
            dest = inside(self.path, art / sub) if not (art / sub).is_symlink() else art / sub
            if entry.is_symlink():
                if dest.is_symlink() or dest.exists():
                    if dest.is_dir() and not dest.is_symlink():
                        raise ValueError(f"{str(dest)!r} is a folder; cannot record a link there")
                    dest.unlink()
                os.symlink(os.readlink(entry.path), dest)
            elif entry.is_dir(follow_symlinks=False):
                self._copy_tree(Path(entry.path), art, sub)
            elif entry.is_file(follow_symlinks=False):
                inside(self.path, dest)
                with os.fdopen(open_nofollow(Path(entry.path), os.O_RDONLY), "rb") as f:
                    _atomic_write(dest, f.read())
                shutil.copystat(entry.path, dest, follow_symlinks=False)

    # persistence --------------------------------------------------------------------------
    def _write_params(self) -> None:
        _atomic_write(
            inside(self.path, self.path / "params.json"),
            json.dumps(self._params, indent=2, sort_keys=True).encode(),
        )

    def _write_meta(self) -> None:
        meta = {
            "id": self.id,
            "name": self.name,
            "created": self._created,
            "updated": _now(),
            "status": self._status,
            "artifacts": self._artifacts,
            "format": 1,
        }
        _atomic_write(
            inside(self.path, self.path / "meta.json"), json.dumps(meta, indent=2).encode()
        )

    def save(self, status: Literal["finished", "running", "failed"] = "finished") -> Path:
        """Write ``params.json`` and ``meta.json`` and flush the metrics; returns ``path``.

        The run is marked ``status`` in meta.json: ``"finished"`` by default, as the Axon seed's
        ``exp.save()`` at the end of training expects; pass ``"running"`` for a checkpoint save
        mid-run. Logging after a finished save marks the run running again on the next save.
        """
        if status not in ("finished", "running", "failed"):
            raise ValueError(
                f"Experiment.save status must be 'finished', 'running' or 'failed', got {status!r}"
            )
        self._status = status
        if self._file is not None and not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._write_params()
        self._write_meta()
        return self.path

    def close(self, status: Literal["finished", "failed"] = "finished") -> None:
        """Save with ``status`` in meta.json and close the metrics file (logging reopens it)."""
        self.save(status)
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close("failed" if exc_type is not None else "finished")

    def __repr__(self) -> str:
        return (
            f"Experiment(id={self.id!r}, name={self.name!r}, path={str(self.path)!r}, "
            f"metrics={sorted(self._metrics)})"
        )

    # summaries ----------------------------------------------------------------------------
    def best(self, name: str, mode: Literal["min", "max"] | None = None) -> tuple[int, float]:
        """``(step, value)`` of the best value of ``name``: min for names that look like a loss
        or error (``loss``, ``error``, ``mse``, ...), else max, unless ``mode`` says.

        Raises:
            KeyError: unknown metric.
        """
        hist = [(s, v) for s, v in self.history(name) if not math.isnan(v)]
        if not hist:
            return self.history(name)[-1]
        lower = mode == "min" if mode else any(k in name.lower() for k in _LOWER_IS_BETTER)
        return (min if lower else max)(hist, key=lambda sv: sv[1])

    def dashboard(
        self, path: str | os.PathLike[str] | None = None, metrics: Iterable[str] | None = None
    ) -> Path:
        """One figure of the run (``<run>/plots/dashboard.png`` by default): train and eval
        loss, accuracy and F1 on shared axes, lr and epoch time, x numbered in epochs from 1.
        See :func:`idrak.train.plots.dashboard`."""
        from idrak.train.plots import dashboard

        return dashboard(self, path, metrics)

    def plot(
        self, path: str | os.PathLike[str] | None = None, metrics: Iterable[str] | None = None
    ) -> list[Path]:
        """Write one learning-curve PNG (value against step) per metric.

        Args:
            path: the output directory (default ``<run>/plots``).
            metrics: the metric names to plot (default: all).

        Returns:
            The PNG paths.

        Raises:
            ImportError: matplotlib is not installed (``pip install 'idrak[plot]'``).
            KeyError: an unknown metric name.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError(
                "Experiment.plot needs matplotlib: pip install 'idrak[plot]' "
                "(or pip install matplotlib)"
            ) from exc
        out_dir = Path(path) if path is not None else self.path / "plots"
        out_dir.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name in list(metrics) if metrics is not None else sorted(self._metrics):
            hist = self.history(name)
            fig = Figure(figsize=(6.4, 4.0), dpi=100)  # no pyplot: no global backend state
            ax = fig.add_subplot()
            ax.plot(
                [s for s, _ in hist], [v for _, v in hist], marker="o" if len(hist) <= 50 else None
            )
            ax.set(title=f"{self.name}-{self.id}: {name}", xlabel="step", ylabel=name)
            ax.grid(True, alpha=0.3)
            fig.tight_layout()
            dest = out_dir / (re.sub(r"[^A-Za-z0-9._-]+", "_", name) + ".png")
            with atomic_path(dest) as tmp:
                fig.savefig(tmp, format="png")
            written.append(dest)
        return written


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def compare_experiments(
    experiments: Iterable[Experiment | str | os.PathLike[str]],
    metrics: Iterable[str] | None = None,
    modes: Mapping[str, Literal["min", "max"]] | None = None,
    plot: str | os.PathLike[str] | None = None,
) -> str:
    """A Markdown table comparing runs: hyperparameters that differ, best and last metric values.

    With ``plot=PATH`` it also draws the runs on the same axes (one panel per kind of metric,
    train and eval together) into that image file; see :func:`idrak.train.plots.plot_runs`.

    Args:
        experiments: :class:`Experiment` objects or run directories.
        metrics: the metrics to show (default: every metric of any run).
        modes: ``{"metric": "min" | "max"}`` overriding the best-value guess of
            :meth:`Experiment.best`.

    Returns:
        The table as a string; ``-`` marks a value a run does not have.
    """
    runs = [e if isinstance(e, Experiment) else Experiment.load(e) for e in experiments]
    if not runs:
        return "(no experiments)"
    metrics = None if metrics is None else list(metrics)
    if plot is not None:
        from idrak.train.plots import plot_runs

        plot_runs(runs, plot, metrics)
    names = list(metrics) if metrics is not None else sorted({m for r in runs for m in r.metrics})
    keys = sorted({k for r in runs for k in r.hyperparameters})
    params = [r.hyperparameters for r in runs]
    differing = [k for k in keys if len({json.dumps(p.get(k)) for p in params}) > 1]
    header = ["run", *differing]
    for m in names:
        header += [f"{m} best", f"{m} last"]
    rows = []
    for r, p in zip(runs, params):
        row = [f"{r.name}-{r.id}", *(json.dumps(p[k]) if k in p else "-" for k in differing)]
        for m in names:
            if hist := r._metrics.get(m):
                step, best = r.best(m, (modes or {}).get(m))
                row += [f"{_fmt(best)} @{step}", _fmt(hist[-1][1])]
            else:
                row += ["-", "-"]
        rows.append(row)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |"
        for line in (header, *rows)
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
