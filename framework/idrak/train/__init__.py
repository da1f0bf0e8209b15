"""Training workflow above the Tensor: experiment tracking (Config and Runner come later)."""

from __future__ import annotations

from .experiment import Experiment, compare_experiments

__all__ = ["Experiment", "compare_experiments"]
