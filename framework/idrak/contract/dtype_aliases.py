"""PyTorch's other spellings of the dtypes: ``idrak.long`` is ``idrak.int64``, and so on.

Kept out of :mod:`idrak.contract.dtypes` because these names (``float``, ``int``, ``bool``)
shadow Python's builtins in the module that defines them; this module defines nothing else.
The top-level namespace takes them from ``__all__``, so ``import idrak as torch`` then
``torch.long`` works.

=============  ===========  =============================
PyTorch name   idrak dtype  note
=============  ===========  =============================
``float``      float32      not the *default* float: fixed
``double``     float64
``half``       float16
``int``        int32
``long``       int64
``short``      int16
``bool``       ``bool_``
``dtype``      DType        the class, for ``isinstance``
=============  ===========  =============================
"""

from __future__ import annotations

from idrak.contract.dtypes import DType, bool_, float16, float32, float64, int16, int32, int64

__all__ = ["bool", "double", "dtype", "float", "half", "int", "long", "short"]

float = float32
double = float64
half = float16
int = int32
long = int64
short = int16
bool = bool_
dtype = DType
