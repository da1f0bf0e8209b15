"""Conversions between devices and dtypes, and host data in (:func:`host_buffer`, the data path of
:func:`idrak.tensor`)."""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from idrak.contract.dtypes import DType, bool_, get_default_dtype, int64, to_dtype
from idrak.core.methods.base import TensorBase
from idrak.engine import lazy as _lazy
from idrak.errors import NotSupportedError
from idrak.runtime.devices import Device
from idrak.runtime.devices import device as _device

__all__ = ["ConvertMixin", "host_buffer"]


class ConvertMixin(TensorBase):
    """``to``, ``cpu``/``cuda``, ``float``/``long``/..., ``clone``."""

    __slots__ = ()

    # zero-copy exchange (see idrak.core.dlpack) ----------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``: the value as a NumPy array (a host copy; realizes it)."""
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __dlpack__(self, **kwargs: Any) -> Any:
        """Export the realized buffer through DLPack without copying (a NumPy or CuPy buffer;
        ``stream``, ``max_version``, ``dl_device`` and ``copy`` are passed on)."""
        buf = self.realize().lazy.buf
        if not hasattr(buf, "__dlpack__"):
            buf = self.numpy()  # a backend with opaque buffers: a host copy
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            return buf.__dlpack__(**kwargs)
        except TypeError:  # an older producer without the newer keywords
            return buf.__dlpack__(**{k: v for k, v in kwargs.items() if k == "stream"})

    def __dlpack_device__(self) -> tuple[Any, int]:
        """``(device type, index)`` of the buffer, as DLPack defines them."""
        buf = self.realize().lazy.buf
        if hasattr(buf, "__dlpack_device__"):
            return tuple(buf.__dlpack_device__())
        return (1, 0)

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """``to(dtype)``, ``to(device)`` or ``to(device, dtype)`` as in PyTorch.

        A transfer between backends goes through host memory and returns a leaf.
        """
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        for a in args:
            if (
                isinstance(a, DType)
                or (isinstance(a, str) and _is_dtype_name(a))
                or a in (float, int, bool)
            ):
                dtype = a
            else:
                dev = a
        out = self
        if dev is not None:
            target = _device(dev)
            if target != self.device:
                arr = self.numpy()
                lb = _lazy.LazyBuffer(
                    None,
                    (),
                    None,
                    self.shape,
                    self.dtype,
                    target,
                    target.backend.from_numpy(arr, target.index),
                )
                out = self._from_lazy(lb, self.requires_grad and self.is_leaf)
        if dtype is not None:
            out = out.cast(dtype)
        return out

    def cpu(self) -> Self:
        return self.to("cpu")

    def cuda(self, index: int = 0) -> Self:
        return self.to(f"cuda:{index}")

    def type(self, dtype: DType | str) -> Self:
        return self.cast(dtype)

    def float(self) -> Self:
        return self.cast("float32")

    def double(self) -> Self:
        return self.cast("float64")

    def half(self) -> Self:
        return self.cast("float16")

    def long(self) -> Self:
        return self.cast("int64")

    def int(self) -> Self:
        return self.cast("int32")

    def bool(self) -> Self:
        return self.cast("bool")

    def _from_host(self, data: Any, dtype: DType | str | None = None) -> Self:
        """A new leaf holding a copy of host ``data`` on ``self``'s device (see
        :func:`host_buffer`)."""
        return self._from_lazy(host_buffer(data, dtype, self.device))

    def clone(self) -> Self:
        """A copy that stays in the graph (gradients flow back)."""
        return self.contiguous() if self.requires_grad else self._from_lazy(self.lazy)


def _is_dtype_name(s: str) -> bool:
    try:
        to_dtype(s)
        return True
    except TypeError:
        return False


def _infer_dtype(arr: np.ndarray, data: Any) -> DType:
    if isinstance(data, np.ndarray | np.generic):
        return to_dtype(arr.dtype)
    kind = arr.dtype.kind
    if kind == "b":
        return bool_
    if kind in "iu":
        return int64
    if kind == "f":
        return get_default_dtype()
    if kind == "O":
        big = _first_big_int(data)
        if big is not None:
            raise OverflowError(
                f"cannot make a tensor from the integer {big}: it overflows int64 "
                f"([-2**63, 2**63)); pass dtype=idrak.float64 to store it as a float"
            )
    raise TypeError(f"cannot make a tensor from {type(data).__name__} with numpy dtype {arr.dtype}")


def _first_big_int(data: Any) -> int | None:
    """The first Python int in (nested) ``data`` outside int64, or None."""
    if isinstance(data, (list, tuple)):
        for d in data:
            big = _first_big_int(d)
            if big is not None:
                return big
        return None
    if isinstance(data, int) and not isinstance(data, bool) and not -(2**63) <= data < 2**63:
        return data
    return None


def _host(data: Any) -> Any:
    if isinstance(data, TensorBase):
        return data.numpy()
    if isinstance(data, (list, tuple)):
        return [_host(d) for d in data]
    return data


def host_buffer(data: Any, dtype: DType | str | None, dev: Device) -> _lazy.LazyBuffer:
    """A realized buffer on ``dev`` holding a copy of host ``data`` (nested lists, numbers, NumPy
    arrays, lists of Tensors): the host-data path of :func:`idrak.tensor`.

    Python floats give the default float dtype, ints int64, bools bool; NumPy arrays keep their
    dtype.

    Raises:
        TypeError: unknown dtype or data type, or bfloat16 (NumPy has none).
        NotSupportedError: the backend of ``dev`` does not declare the dtype.
    """
    try:
        arr = np.asarray(data)
    except ValueError:
        raise ValueError(
            "tensor: data is ragged (nested sequences of unequal lengths); every row of a "
            f"nested list must have the same length, got {data!r:.80}"
        ) from None
    big = _first_big_int(data) if arr.dtype == object else None
    if big is not None and dtype is None:
        raise OverflowError(
            f"cannot make a tensor from the integer {big}: it overflows int64 "
            f"([-2**63, 2**63)); pass dtype=idrak.float64 to store it as a float"
        )
    if arr.dtype == object and isinstance(data, (list, tuple)):
        # a (nested) list of tensors, like torch.tensor([t0, t1]); they keep their dtype
        data = np.asarray(_host(data))
        arr = data
    dt = to_dtype(dtype) if dtype is not None else _infer_dtype(arr, data)
    if dt.name == "bfloat16":
        raise TypeError(
            "bfloat16 tensors cannot be made from NumPy data on this backend; "
            "create float32 and .to(idrak.bfloat16) on a backend declaring it"
        )
    arr = np.asarray(arr, dtype=np.dtype(dt.name), order="C")
    caps = dev.backend.caps
    if dt not in caps.dtypes:
        raise NotSupportedError(
            dev.backend.name,
            "tensor creation",
            dt.name,
            f"declared dtypes: {sorted(d.name for d in caps.dtypes)}",
        )
    buf = dev.backend.from_numpy(arr, dev.index)
    return _lazy.LazyBuffer(None, (), None, arr.shape, dt, dev, buf)
