"""The layer zoo, split by concern. Lower-case spellings (``nn.linear(4, 3)``) build the same
layer objects as the class names (``nn.Linear(4, 3)``)."""

from __future__ import annotations

from idrak.nn.layers.activation import (
    CELU,
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softsign,
    Tanh,
)
from idrak.nn.layers.attention import MultiheadAttention
from idrak.nn.layers.conv import Conv2d
from idrak.nn.layers.conv_more import Conv1d, ConvTranspose1d, ConvTranspose2d
from idrak.nn.layers.dropout import Dropout
from idrak.nn.layers.embedding import Embedding
from idrak.nn.layers.linear import Flatten, Identity, Linear, Unflatten
from idrak.nn.layers.more import (
    GLU,
    AdaptiveAvgPool1d,
    ConstantPad2d,
    Dropout2d,
    PReLU,
    ReflectionPad2d,
    ReLU6,
    RMSNorm,
    Softplus,
    Tanhshrink,
    Threshold,
    ZeroPad2d,
)
from idrak.nn.layers.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from idrak.nn.layers.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from idrak.nn.layers.pooling1d import AvgPool1d, MaxPool1d, MaxUnpool1d, MaxUnpool2d
from idrak.nn.layers.rnn import GRU, LSTM, RNN, RNNBase
from idrak.nn.layers.rnn_cells import GRUCell, LSTMCell, RNNCell
from idrak.nn.layers.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from idrak.nn.layers.upsampling import CosineSimilarity, PairwiseDistance, Upsample

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "GRU",
    "LSTM",
    "RNN",
    "SELU",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "ConstantPad2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "CosineSimilarity",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GRUCell",
    "GroupNorm",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "Identity",
    "LSTMCell",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool1d",
    "MaxPool2d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "Mish",
    "MultiheadAttention",
    "PReLU",
    "PairwiseDistance",
    "RMSNorm",
    "RNNBase",
    "RNNCell",
    "ReLU",
    "ReLU6",
    "ReflectionPad2d",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmin",
    "Softplus",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "Unflatten",
    "Upsample",
    "ZeroPad2d",
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
