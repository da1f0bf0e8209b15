"""Zero-copy exchange with NumPy, PyTorch, CuPy and JAX: DLPack both ways, and ``__array__``.

* ``np.from_dlpack(t)``, ``torch.from_dlpack(t)``, ``cupy.from_dlpack(t)``,
  ``jax.dlpack.from_dlpack(t)`` read an idrak Tensor's realized buffer without copying it
  (``Tensor.__dlpack__`` / ``__dlpack_device__``); ``np.asarray(t)`` goes through
  ``Tensor.__array__`` (a host copy when the tensor lives on a GPU).
* :func:`from_dlpack` makes an idrak Tensor that shares the memory of any DLPack producer
  (a NumPy array, a torch tensor, a CuPy array, ...): host memory becomes a ``cpu`` tensor,
  CUDA memory a ``cuda:N`` tensor (the CuPy backend must be installed).

Shared means shared: writing through either side is visible on the other, as with
``torch.from_dlpack``. A backend whose buffers are not NumPy or CuPy arrays gets a copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idrak.contract.dtypes import to_dtype
from idrak.core.tensor import Tensor
from idrak.engine import lazy as _lazy
from idrak.errors import IdrakError
from idrak.runtime.devices import DeviceLike
from idrak.runtime.devices import device as _device

__all__ = ["as_tensor", "from_dlpack", "from_numpy"]

_CPU, _CUDA = 1, 2  # DLDeviceType codes (kDLCPU, kDLCUDA)


def _array_of(obj: Any) -> tuple[Any, str]:
    """``obj`` as a NumPy or CuPy array sharing its memory, and the idrak device to put it on."""
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack needs an object with __dlpack__, got {type(obj).__name__}")
    kind, index = obj.__dlpack_device__() if hasattr(obj, "__dlpack_device__") else (_CPU, 0)
    if int(kind) == _CPU:
        return np.from_dlpack(obj), "cpu"
    if int(kind) == _CUDA:
        try:
            import cupy
        except ImportError:
            raise IdrakError(
                "from_dlpack: the data is on a CUDA device but CuPy is not installed: "
                "pip install 'idrak[cuda12]' or 'idrak[cuda13]'"
            ) from None
        with cupy.cuda.Device(int(index)):
            return cupy.from_dlpack(obj), f"cuda:{int(index)}"
    raise IdrakError(f"from_dlpack: DLPack device type {int(kind)} is not supported (CPU, CUDA)")


def from_dlpack(obj: Any, device: DeviceLike | None = None) -> Any:
    """A Tensor sharing the memory of DLPack producer ``obj`` (no copy where the backend keeps
    NumPy or CuPy arrays; a contiguous copy otherwise).

    Args:
        obj: anything with ``__dlpack__`` (NumPy, torch, CuPy, JAX arrays, idrak Tensors).
        device: the idrak device; default ``cpu`` for host memory, ``cuda:N`` for GPU memory.

    Raises:
        TypeError: ``obj`` is not a DLPack producer.
        IdrakError: an unsupported device type, or CUDA data without CuPy.
    """
    arr, where = _array_of(obj)
    dev = _device(device if device is not None else where)
    dt = to_dtype(str(arr.dtype))
    module = type(arr).__module__.split(".")[0]
    native = {"numpy": "numpy", "cupy": "cuda"}.get(module) == dev.backend.name
    if native and arr.flags.c_contiguous:
        buf = arr
    else:  # another backend, or strided memory: a private copy on the device
        host = arr if module == "numpy" else arr.get()
        buf = dev.backend.from_numpy(np.ascontiguousarray(host), dev.index)
    return Tensor._from_lazy(_lazy.LazyBuffer(None, (), None, tuple(arr.shape), dt, dev, buf))


def from_numpy(array: np.ndarray) -> Any:
    """A ``cpu`` Tensor sharing the memory of NumPy ``array``, like ``torch.from_numpy``.

    The array's dtype and shape are kept. Memory is shared when the array is C-contiguous and
    the ``cpu`` backend keeps NumPy arrays (the in-tree one does): writing into the array is then
    visible in the tensor's realized value. A strided array, or a backend with its own buffers,
    gets a private copy. Note that idrak ops never write into their inputs, so results computed
    from the tensor are new arrays.

    Raises:
        TypeError: ``array`` is not a NumPy array, or its dtype is not one idrak knows.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    to_dtype(str(array.dtype))  # an unknown dtype (object, complex, ...) raises, naming it
    return from_dlpack(array if array.flags.writeable else array.copy(), "cpu")


def as_tensor(data: Any, dtype: Any = None, device: DeviceLike | None = None) -> Any:
    """``data`` as a Tensor, copying only when needed (``torch.as_tensor``).

    A Tensor of the requested dtype and device is returned as is (else cast / moved); a NumPy
    array that needs no conversion shares its memory (see :func:`from_numpy`); anything else
    (lists, numbers, arrays of another dtype) is copied by :func:`idrak.tensor`.

    Raises:
        TypeError: data idrak cannot hold, or an unknown dtype.
    """
    from idrak.core.tensor import Tensor, tensor

    if isinstance(data, Tensor):
        out = data
        if device is not None and _device(device) != out.device:
            out = out.to(device)
        return out if dtype is None else out.cast(dtype)
    if (
        isinstance(data, np.ndarray)
        and data.dtype.kind in "biuf"
        and (dtype is None or to_dtype(dtype).name == str(data.dtype))
        and (device is None or _device(device).backend.name == "numpy")
        and data.flags.c_contiguous
    ):
        out = from_numpy(data)
        return out if device is None else out.to(device)
    return tensor(data, dtype=dtype, device=device)
