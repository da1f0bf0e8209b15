"""One time step of the Elman RNN, LSTM and GRU, and the RNNCell, LSTMCell, GRUCell layers.

Gate equations and gate order are torch's (so a torch ``state_dict`` loads):

* RNN: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (Elman 1990), ``act`` tanh or relu.
* LSTM (Hochreiter & Schmidhuber 1997, with forget gate, Gers et al. 2000): gates
  ``i, f, g, o`` stacked in that order in the 4H rows; ``c' = f*c + i*g``, ``h' = o*tanh(c')``.
* GRU (Cho et al. 2014): gates ``r, z, n`` in that order in the 3H rows;
  ``n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))``, ``h' = (1 - z) * n + z * h``.

Each step takes ``xw = x W_ih^T + b_ih`` precomputed (the sequence layers project a whole
sequence with one matmul).
"""

from __future__ import annotations

import math
from typing import Any

from idrak.core import creation
from idrak.core.tensor import Tensor
from idrak.nn import init
from idrak.nn.layers._util import check_positive, new_param
from idrak.nn.module import Module

__all__ = ["GATES", "GRUCell", "LSTMCell", "RNNCell", "cell_step"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _hh(h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    out = h.matmul(w_hh.transpose(0, 1))
    return out if b_hh is None else out + b_hh


def cell_step(
    mode: str, xw: Tensor, state: Any, w_hh: Tensor, b_hh: Tensor | None
) -> tuple[Tensor, Any]:
    """One step: ``xw`` (N, G*H) is the projected input, ``state`` h (N, H) or (h, c) for
    LSTM. Returns (output h', new state)."""
    if mode == "LSTM":
        h, c = state
        gates = xw + _hh(h, w_hh, b_hh)
        i, f, g, o = gates.chunk(4, -1)
        c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h2 = o.sigmoid() * c2.tanh()
        return h2, (h2, c2)
    if mode == "GRU":
        h = state
        xr, xz, xn = xw.chunk(3, -1)
        hr, hz, hn = _hh(h, w_hh, b_hh).chunk(3, -1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        h2 = (1.0 - z) * n + z * h
        return h2, h2
    pre = xw + _hh(state, w_hh, b_hh)
    h2 = pre.tanh() if mode == "RNN_TANH" else pre.relu()
    return h2, h2


class _CellBase(Module):
    mode: str

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, device: Any, dtype: Any
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(name, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = GATES[self.mode] * hidden_size
        self.weight_ih = new_param(g, input_size, dtype=dtype, device=device)
        self.weight_hh = new_param(g, hidden_size, dtype=dtype, device=device)
        if bias:
            self.bias_ih = new_param(g, dtype=dtype, device=device)
            self.bias_hh = new_param(g, dtype=dtype, device=device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _prepare(self, x: Tensor, hx: Any) -> tuple[Tensor, bool]:
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input (N, {self.input_size}) or "
                f"({self.input_size},), got shape {tuple(x.shape)}"
            )
        return (x.unsqueeze(0), True) if x.ndim == 1 else (x, False)

    def _state(self, x: Tensor, h: Tensor | None, unbatched: bool, what: str) -> Tensor:
        n = x.shape[0]
        if h is None:
            return creation.zeros(n, self.hidden_size, dtype=x.dtype, device=x.device)
        hh = h.unsqueeze(0) if unbatched else h
        if tuple(hh.shape) != (n, self.hidden_size):
            raise ValueError(
                f"{type(self).__name__}: {what} must have shape {(n, self.hidden_size)}"
                f"{' (unbatched: (H,))' if unbatched else ''}, got {tuple(h.shape)}"
            )
        return hh

    def _hidden_step(self, input: Tensor, hx: Tensor | None) -> Tensor:
        """One step of a single-state cell (RNN or GRU, by ``self.mode``): h' from x and hx."""
        x, unbatched = self._prepare(input, hx)
        h = self._state(x, hx, unbatched, "hx")
        out, _ = cell_step(self.mode, self._xw(x), h, self.weight_hh, self.bias_hh)
        return out.squeeze(0) if unbatched else out

    def _xw(self, x: Tensor) -> Tensor:
        xw = x.matmul(self.weight_ih.transpose(0, 1))
        return xw if self.bias_ih is None else xw + self.bias_ih

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


class RNNCell(_CellBase):
    """Elman RNN cell: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).

    Shapes: input (N, input_size) or (input_size,), hx like the output (N, hidden_size)
    (zeros when omitted); ``weight_ih`` (H, input_size), ``weight_hh`` (H, H).

    Raises:
        ValueError: a bad ``nonlinearity``, sizes, or input / hx shapes (named).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.__dict__["mode"] = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._hidden_step(input, hx)


class LSTMCell(_CellBase):
    """LSTM cell; ``forward(input, (h, c))`` returns ``(h', c')``. Gate rows i, f, g, o.

    Shapes: input (N, input_size) or (input_size,); h, c (N, hidden_size) (zeros when hx is
    omitted); ``weight_ih`` (4H, input_size), ``weight_hh`` (4H, H).

    Raises:
        ValueError: bad sizes or input / state shapes.
    """

    mode = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x, unbatched = self._prepare(input, hx)
        h0, c0 = (None, None) if hx is None else hx
        h = self._state(x, h0, unbatched, "h")
        c = self._state(x, c0, unbatched, "c")
        _, (h2, c2) = cell_step("LSTM", self._xw(x), (h, c), self.weight_hh, self.bias_hh)
        return (h2.squeeze(0), c2.squeeze(0)) if unbatched else (h2, c2)


class GRUCell(_CellBase):
    """GRU cell: gate rows r, z, n; ``h' = (1 - z) * n + z * h``.

    Shapes: input (N, input_size) or (input_size,), hx (N, hidden_size) (zeros when omitted);
    ``weight_ih`` (3H, input_size), ``weight_hh`` (3H, H).

    Raises:
        ValueError: bad sizes or input / hx shapes.
    """

    mode = "GRU"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._hidden_step(input, hx)
