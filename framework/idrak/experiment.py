"""``idrak.experiment``: experiment tracking, where the Axon seed imports it from.

``from idrak.experiment import Experiment`` is :class:`idrak.train.Experiment` (also
``idrak.Experiment``); this module only re-exports :mod:`idrak.train.experiment`.
"""

from __future__ import annotations

from idrak.train.experiment import Experiment, compare_experiments

__all__ = ["Experiment", "compare_experiments"]
