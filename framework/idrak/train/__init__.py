"""The training workflow above the Tensor: ``Config`` (what to run), ``Runner`` (the loops around
your step function) and ``Experiment`` (what happened), plus callbacks and config-driven nets.

See ``docs/training.md``.
"""

from __future__ import annotations

from . import registry
from .callbacks import (
    Callback,
    EarlyStopping,
    ExperimentLogger,
    LambdaCallback,
    ModelCheckpoint,
    ProgressLogger,
)
from .config import Config, ConfigError
from .experiment import Experiment, compare_experiments
from .history import History
from .registry import build_net, register_block, register_layer
from .runner import Runner
from .state import RunnerState

__all__ = [
    "Callback",
    "Config",
    "ConfigError",
    "EarlyStopping",
    "Experiment",
    "ExperimentLogger",
    "History",
    "LambdaCallback",
    "ModelCheckpoint",
    "ProgressLogger",
    "Runner",
    "RunnerState",
    "build_net",
    "compare_experiments",
    "register_block",
    "register_layer",
    "registry",
]
