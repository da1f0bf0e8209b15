"""The backend contract: everything a backend implements against, and nothing else.

A backend package imports only this package (and ``idrak.errors``):

* :mod:`~idrak.contract.ops`: the closed op set, one :class:`~idrak.contract.ops.OpDef` record per
  op, and :class:`~idrak.contract.ops.Capabilities`;
* :mod:`~idrak.contract.dtypes`: the element types and their groups;
* :mod:`~idrak.contract.backend`: the :class:`~idrak.contract.backend.Backend` base class;
* :mod:`~idrak.contract.hookspecs`: the pluggy hook a backend plugin implements;
* :mod:`~idrak.contract.fused`: the fused-kernel IR a backend that fuses compiles.

See ``docs/write-a-backend.md``.
"""

from __future__ import annotations

from idrak.contract import backend, dtypes, fused, hookspecs, ops
from idrak.contract.backend import *
from idrak.contract.dtypes import *
from idrak.contract.dtypes import ALL, ALL_DTYPES, FLOATING, INTEGER, NUMERIC, to_dtype
from idrak.contract.fused import *
from idrak.contract.hookspecs import *
from idrak.contract.ops import *

__all__ = [
    *ops.__all__,
    *dtypes.__all__,
    "ALL",
    "ALL_DTYPES",
    "FLOATING",
    "INTEGER",
    "NUMERIC",
    "to_dtype",
    *backend.__all__,
    *hookspecs.__all__,
    *fused.__all__,
]
