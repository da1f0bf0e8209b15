"""The runtime: plugin discovery with failure isolation (:mod:`~idrak.runtime.plugins`), the
host thread policy (:mod:`~idrak.runtime.threads`) and
devices (:mod:`~idrak.runtime.devices`). Depends only on :mod:`idrak.contract`."""

from __future__ import annotations

from idrak.runtime import devices, plugins, threads
from idrak.runtime.devices import *
from idrak.runtime.plugins import *
from idrak.runtime.threads import *

__all__ = [*devices.__all__, *plugins.__all__, *threads.__all__]
