"""idrak: a hackable deep-learning framework on a small, closed primitive-op contract."""

from __future__ import annotations

from .dtypes import (
    DType,
    bfloat16,
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from .device import Device, device, get_default_device, set_default_device
from .errors import (
    BackendUnavailableError,
    DeviceError,
    IdrakError,
    NotSupportedError,
    PluginError,
)

__version__ = "0.1.0"
