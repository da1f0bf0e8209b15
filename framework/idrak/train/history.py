"""``History``: every metric of a training run, one value per epoch."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Literal

__all__ = ["History"]

_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "nll", "perplexity")


class History(Mapping[str, list[float]]):
    """Per-epoch metric values: ``history["train_loss"][e]`` is the value after epoch ``e``.

    A read-only mapping from metric name to a list with one float per recorded epoch (``nan``
    where an epoch has no value for that metric, e.g. no evaluation that epoch). Names are
    ``train_<metric>`` / ``eval_<metric>`` (``train_loss``, ``eval_accuracy``, ``eval_f1``, ...)
    plus ``lr`` and ``epoch_time`` (seconds) as the :class:`~idrak.train.Runner` records them.

    Attributes:
        epochs: the epoch numbers (0-based) recorded, in order.
    """

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self._values: dict[str, list[float]] = {}

    def record(self, epoch: int, values: Mapping[str, Any]) -> None:
        """Append one epoch's values (numbers; other values are skipped).

        Raises:
            ValueError: ``epoch`` is not larger than the last recorded epoch.
        """
        if self.epochs and epoch <= self.epochs[-1]:
            raise ValueError(f"epoch {epoch} recorded after epoch {self.epochs[-1]}")
        n = len(self.epochs)
        self.epochs.append(int(epoch))
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            column = self._values.setdefault(name, [math.nan] * n)
            column.append(float(value))
        for column in self._values.values():
            if len(column) == n:
                column.append(math.nan)

    def __getitem__(self, name: str) -> list[float]:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(
                f"no metric {name!r} in history; recorded: {sorted(self._values)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def num_epochs(self) -> int:
        """How many epochs are recorded."""
        return len(self.epochs)

    def last(self) -> dict[str, float]:
        """The values of the last recorded epoch (empty if none)."""
        return {k: v[-1] for k, v in self._values.items()} if self.epochs else {}

    def best(self, name: str, mode: Literal["min", "max"] | None = None) -> tuple[int, float]:
        """``(epoch, value)`` of the best value of ``name``: the minimum for names containing
        ``loss``, ``error``, ``mse``, ... (or ``mode="min"``), else the maximum. NaNs are skipped.

        Raises:
            KeyError: unknown name. ValueError: only NaN values recorded.
        """
        values = self[name]
        pairs = [(e, v) for e, v in zip(self.epochs, values) if not math.isnan(v)]
        if not pairs:
            raise ValueError(f"metric {name!r} has no recorded (non-NaN) value")
        lower = mode == "min" if mode else any(k in name.lower() for k in _LOWER_IS_BETTER)
        return (min if lower else max)(pairs, key=lambda p: p[1])

    def to_dict(self) -> dict[str, Any]:
        """``{"epochs": [...], "values": {name: [...]}}`` (JSON-serializable; NaN stays NaN)."""
        return {"epochs": list(self.epochs), "values": {k: list(v) for k, v in self.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: a column whose length differs from the number of epochs.
        """
        h = cls()
        h.epochs = [int(e) for e in data.get("epochs", [])]
        for name, column in dict(data.get("values", {})).items():
            if len(column) != len(h.epochs):
                raise ValueError(
                    f"history column {name!r} has {len(column)} values for {len(h.epochs)} epochs"
                )
            h._values[str(name)] = [float(v) for v in column]
        return h

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self.to_dict().__repr__() == other.to_dict().__repr__()  # NaN == NaN here

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History({self.num_epochs} epochs: {last})"
