"""Streaming metrics: ``update(preds, target)`` per batch, ``compute()`` at the end, ``reset()``;
and loss-style functions (``bce``, ``cross_entropy``, ``mse``, ``mae``, ``accuracy``) in
:mod:`idrak.metrics.functional`, as the Axon seed calls them.

Inputs are idrak Tensors or NumPy arrays; results match scikit-learn on the same predictions.
"""

from __future__ import annotations

from idrak.metrics import functional
from idrak.metrics.aggregation import MeanMetric
from idrak.metrics.base import Metric
from idrak.metrics.classification import Accuracy, ConfusionMatrix, F1Score, Precision, Recall
from idrak.metrics.functional import accuracy, bce, cross_entropy, mae, mse

__all__ = [
    "Accuracy",
    "ConfusionMatrix",
    "F1Score",
    "MeanMetric",
    "Metric",
    "Precision",
    "Recall",
    "accuracy",
    "bce",
    "cross_entropy",
    "functional",
    "mae",
    "mse",
]
