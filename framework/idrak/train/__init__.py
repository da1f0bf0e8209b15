"""The training workflow above the Tensor: ``Config`` (what to run), ``Runner`` (the loops around
your step function) and ``Experiment`` (what happened), plus callbacks and config-driven nets.

See ``docs/training.md``.
"""

from __future__ import annotations

from idrak.train import registry
from idrak.train.callbacks import (
    Callback,
    EarlyStopping,
    ExperimentLogger,
    LambdaCallback,
    ModelCheckpoint,
    ProgressLogger,
)
from idrak.train.config import Config, ConfigError
from idrak.train.experiment import Experiment, compare_experiments
from idrak.train.history import History
from idrak.train.registry import build_net, register_block, register_layer
from idrak.train.runner import Runner
from idrak.train.sinks import MLflowLogger, TensorBoardLogger
from idrak.train.state import RunnerState

__all__ = [
    "Callback",
    "Config",
    "ConfigError",
    "EarlyStopping",
    "Experiment",
    "ExperimentLogger",
    "History",
    "LambdaCallback",
    "MLflowLogger",
    "ModelCheckpoint",
    "ProgressLogger",
    "Runner",
    "RunnerState",
    "TensorBoardLogger",
    "build_net",
    "compare_experiments",
    "register_block",
    "register_layer",
    "registry",
]
