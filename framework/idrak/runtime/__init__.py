"""The runtime: plugin discovery with failure isolation (:mod:`~idrak.runtime.plugins`) and
devices (:mod:`~idrak.runtime.devices`). Depends only on :mod:`idrak.contract`."""

from __future__ import annotations

from idrak.runtime import devices, plugins
from idrak.runtime.devices import *
from idrak.runtime.plugins import *

__all__ = [*devices.__all__, *plugins.__all__]
