"""``idrak.nn``: Module, the Net and Pipeline containers, layers, losses, init.

* :class:`Module` keeps parameters, buffers and children in plain dicts; ``.params`` and
  ``.buffers`` flatten a whole tree by dotted name; ``m["fn"]`` is a layer's replaceable
  computation.
* :class:`MLP` ``(in_features, sizes)`` stacks Linear layers with ReLU between them.
* :class:`Net` is a dict-like registry of named layers; :class:`Pipeline` (alias
  :class:`Sequential`) composes layers and any Python callables with ``>>``.
* :mod:`idrak.nn.functional` holds the stateless functions and losses, :mod:`idrak.nn.init` the
  initialisers, :mod:`idrak.nn.utils` gradient clipping.
"""

from __future__ import annotations

from idrak.nn import functional, init, losses, utils
from idrak.nn.containers import Net, Pipeline, Sequential
from idrak.nn.layers import (
    ELU,
    GELU,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    GroupNorm,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    Unflatten,
    adaptive_avg_pool2d,
    avg_pool2d,
    batch_norm1d,
    batch_norm2d,
    conv2d,
    dropout,
    embedding,
    flatten,
    group_norm,
    identity,
    layer_norm,
    linear,
    max_pool2d,
)
from idrak.nn.mlp import MLP
from idrak.nn.module import IncompatibleKeys, Module, RemovableHandle, StateDictError, TensorDict
from idrak.nn.parameter import Parameter

__all__ = [
    "ELU",
    "GELU",
    "MLP",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "GroupNorm",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "Module",
    "Net",
    "Parameter",
    "Pipeline",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "TensorDict",
    "Unflatten",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm1d",
    "batch_norm2d",
    "conv2d",
    "dropout",
    "embedding",
    "flatten",
    "functional",
    "group_norm",
    "identity",
    "init",
    "layer_norm",
    "linear",
    "losses",
    "max_pool2d",
    "utils",
]

# the activation modules added by issue 12
from idrak.nn.layers import (
    CELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Mish,
    Softmin,
    Softsign,
)

__all__ += ["CELU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "Mish", "Softmin", "Softsign"]
# the PyTorch module zoo (issue 16): layers, torch's list/dict containers, loss modules
from idrak.nn.layers import (
    GRU,
    LSTM,
    RNN,
    AvgPool1d,
    Conv1d,
    ConvTranspose1d,
    ConvTranspose2d,
    CosineSimilarity,
    GRUCell,
    LSTMCell,
    MaxPool1d,
    MaxUnpool1d,
    MaxUnpool2d,
    MultiheadAttention,
    PairwiseDistance,
    RNNBase,
    RNNCell,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    Upsample,
)
from idrak.nn.layers import ZOO as _ZOO
from idrak.nn.loss_modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from idrak.nn.loss_modules import __all__ as _LOSSES
from idrak.nn.torch_containers import ModuleDict, ModuleList, ParameterDict, ParameterList

__all__ += [*_ZOO, *_LOSSES, "ModuleDict", "ModuleList", "ParameterDict", "ParameterList"]
