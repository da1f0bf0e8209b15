"""``idrak.optim``: optimizers and (in :mod:`idrak.optim.lr_scheduler`) learning-rate schedules.

Every optimizer follows PyTorch's algorithm and arguments, takes tensors, a ``module.params``
dict or parameter-group dicts, and realizes all new parameters and state in one schedule per
``step()``.
"""

from __future__ import annotations

from idrak.optim import lr_scheduler
from idrak.optim.adadelta import Adadelta
from idrak.optim.adagrad import Adagrad
from idrak.optim.adam import Adam, AdamW, WAdam
from idrak.optim.adamax import Adamax
from idrak.optim.lion import Lion
from idrak.optim.nadam import NAdam
from idrak.optim.optimizer import Optimizer
from idrak.optim.radam import RAdam
from idrak.optim.rmsprop import RMSprop
from idrak.optim.rprop_asgd import ASGD, Rprop
from idrak.optim.sgd import SGD

__all__ = [
    "ASGD",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "WAdam",
    "lr_scheduler",
]
