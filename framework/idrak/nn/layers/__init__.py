"""The layer zoo, split by concern. Lower-case spellings (``nn.linear(4, 3)``) build the same
layer objects as the class names (``nn.Linear(4, 3)``)."""

from __future__ import annotations

from idrak.nn.layers.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from idrak.nn.layers.conv import Conv2d
from idrak.nn.layers.dropout import Dropout
from idrak.nn.layers.embedding import Embedding
from idrak.nn.layers.linear import Flatten, Identity, Linear, Unflatten
from idrak.nn.layers.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from idrak.nn.layers.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "ELU",
    "GELU",
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
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Unflatten",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm1d",
    "batch_norm2d",
    "conv2d",
    "dropout",
    "embedding",
    "flatten",
    "group_norm",
    "identity",
    "layer_norm",
    "linear",
    "max_pool2d",
]

# the Idrak seed's spellings: factories returning layer objects
linear = Linear
conv2d = Conv2d
max_pool2d = MaxPool2d
avg_pool2d = AvgPool2d
adaptive_avg_pool2d = AdaptiveAvgPool2d
batch_norm1d = BatchNorm1d
batch_norm2d = BatchNorm2d
layer_norm = LayerNorm
group_norm = GroupNorm
dropout = Dropout
embedding = Embedding
flatten = Flatten
identity = Identity

# the activation modules added by issue 12
from idrak.nn.layers.activation import (  # noqa: E402
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
# the PyTorch module zoo (issue 16): 1-D / transposed convolution, pooling, resampling,
# recurrent, attention and transformer layers
from idrak.nn.layers.attention import MultiheadAttention  # noqa: E402
from idrak.nn.layers.conv_more import Conv1d, ConvTranspose1d, ConvTranspose2d  # noqa: E402
from idrak.nn.layers.pooling1d import AvgPool1d, MaxPool1d, MaxUnpool1d, MaxUnpool2d  # noqa: E402
from idrak.nn.layers.rnn import GRU, LSTM, RNN, RNNBase  # noqa: E402
from idrak.nn.layers.rnn_cells import GRUCell, LSTMCell, RNNCell  # noqa: E402
from idrak.nn.layers.transformer import (  # noqa: E402
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from idrak.nn.layers.upsampling import CosineSimilarity, PairwiseDistance, Upsample  # noqa: E402

ZOO = [
    "GRU",
    "LSTM",
    "RNN",
    "AvgPool1d",
    "Conv1d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "CosineSimilarity",
    "GRUCell",
    "LSTMCell",
    "MaxPool1d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MultiheadAttention",
    "PairwiseDistance",
    "RNNBase",
    "RNNCell",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "Upsample",
]
__all__ += ZOO
