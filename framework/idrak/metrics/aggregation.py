"""Streaming aggregates of plain values (losses, timings)."""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.metrics.base import Metric, to_numpy

__all__ = ["MeanMetric"]


class MeanMetric(Metric):
    """A running weighted mean: ``sum(value * weight) / sum(weight)``.

    ``update(value, weight=1)``: ``value`` is a number, array or Tensor (every element counts);
    ``weight`` broadcasts against it (e.g. the batch size, to average a per-batch mean loss
    over samples). ``compute()`` returns a Python float.

    Raises:
        ValueError: a negative weight, non-broadcastable shapes, a non-numeric value.
        RuntimeError: ``compute()`` before any ``update()``, or all weights zero.
    """

    name = "mean"

    def reset(self) -> None:
        self.total = 0.0
        self.weight = 0.0
        self.count = 0

    def update(self, value: Any, weight: Any = 1.0) -> None:
        v = to_numpy(value)
        w = to_numpy(weight)
        if v.dtype.kind not in "biuf" or w.dtype.kind not in "biuf":
            raise ValueError(
                f"MeanMetric needs numeric values and weights, got dtypes {v.dtype} and {w.dtype}"
            )
        try:
            v, w = np.broadcast_arrays(v.astype(np.float64), w.astype(np.float64))
        except ValueError as exc:
            raise ValueError(
                f"MeanMetric weight of shape {w.shape} does not broadcast to value shape {v.shape}"
            ) from exc
        if np.any(w < 0):
            raise ValueError(f"MeanMetric weights must be >= 0, got {w[w < 0][:5].tolist()}")
        self.total += float((v * w).sum())
        self.weight += float(w.sum())
        self.count += int(v.size)

    def compute(self) -> float:
        if self.count == 0:
            raise self._empty()
        if self.weight == 0:
            raise RuntimeError("MeanMetric.compute(): all weights seen so far are zero")
        return self.total / self.weight
