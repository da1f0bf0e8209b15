"""``idrak.optim``: optimizers and (in :mod:`idrak.optim.lr_scheduler`) learning-rate schedules.

Every optimizer follows PyTorch's algorithm and arguments, takes tensors, a ``module.params``
dict or parameter-group dicts, and realizes all new parameters and state in one schedule per
``step()``.
"""

from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lion import Lion
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Lion", "Optimizer", "RMSprop", "lr_scheduler"]
