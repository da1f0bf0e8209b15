"""Streaming metrics: ``update(preds, target)`` per batch, ``compute()`` at the end, ``reset()``.

Inputs are idrak Tensors or NumPy arrays; results match scikit-learn on the same predictions.
"""

from __future__ import annotations

from idrak.metrics.aggregation import MeanMetric
from idrak.metrics.base import Metric
from idrak.metrics.classification import Accuracy, ConfusionMatrix, F1Score, Precision, Recall

__all__ = ["Accuracy", "ConfusionMatrix", "F1Score", "MeanMetric", "Metric", "Precision", "Recall"]
