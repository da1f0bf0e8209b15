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
from .autograd import enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    bernoulli,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from .functions import (
    abs,
    argmax,
    argmin,
    broadcast_shapes,
    cat,
    clamp,
    concat,
    cos,
    exp,
    flatten,
    log,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    one_hot,
    realize,
    relu,
    sigmoid,
    sin,
    softmax,
    sqrt,
    stack,
    sum,
    tanh,
    where,
)
from .lazy import eager, is_eager
from .random import Generator, manual_seed
from .tensor import Tensor, tensor
