"""RNN, LSTM and GRU over whole sequences: ``num_layers`` stacked, optionally
``bidirectional``, ``batch_first``, inter-layer ``dropout``, with torch's parameter names
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse``) and gate
order, so a torch ``state_dict`` loads and gives the same outputs.

The step equations are in :mod:`idrak.nn.layers.rnn_cells`. Each layer projects the whole input
sequence with one matmul, then runs the recurrence step by step (a Python loop over time).

A :class:`~idrak.nn.utils.rnn.PackedSequence` input is unpacked, run with each sequence's state
frozen after its last step (and, in the reverse direction, held at the initial state until its
last step), and the output packed again, so ``h_n`` holds each sequence's own final state, as
torch computes it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from idrak.core import creation
from idrak.core.methods.movement import cat, stack
from idrak.core.tensor import Tensor
from idrak.nn import functional as F
from idrak.nn import init
from idrak.nn.layers._util import check_positive, new_param
from idrak.nn.layers.rnn_cells import GATES, cell_step
from idrak.nn.module import Module
from idrak.nn.utils.rnn import PackedSequence, _pack, pad_packed_sequence

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (see those classes for the arguments).

    Shapes (L sequence length, N batch, D = 2 if bidirectional else 1):
    input (L, N, input_size), (N, L, input_size) with ``batch_first``, or unbatched
    (L, input_size); initial state h0 (and c0 for LSTM) (D*num_layers, N, hidden_size) or
    (D*num_layers, hidden_size) unbatched, zeros when omitted. Output (L, N, D*hidden_size)
    (batch_first: (N, L, ...)), final states (D*num_layers, N, hidden_size), layer-major
    with the reverse direction after the forward one, as torch. A
    :class:`~idrak.nn.utils.rnn.PackedSequence` input gives a PackedSequence output.

    Raises:
        ValueError: bad sizes, ``dropout`` outside [0, 1], ``proj_size`` other than 0; in
            forward, an input or state of the wrong shape (named).
    """

    mode: str

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if proj_size:
            raise ValueError(f"{name}: proj_size={proj_size} is not supported (only 0)")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        dirs = 2 if bidirectional else 1
        g = GATES[mode] * hidden_size
        for layer in range(num_layers):
            isz = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, new_param(g, isz, dtype=dtype, device=device))
                setattr(
                    self, "weight_hh" + sfx, new_param(g, hidden_size, dtype=dtype, device=device)
                )
                if bias:
                    setattr(self, "bias_ih" + sfx, new_param(g, dtype=dtype, device=device))
                    setattr(self, "bias_hh" + sfx, new_param(g, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _weights(self, layer: int, d: int) -> tuple[Tensor, Tensor, Any, Any]:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        p = self._parameters
        return (
            p["weight_ih" + sfx],
            p["weight_hh" + sfx],
            p.get("bias_ih" + sfx),
            p.get("bias_hh" + sfx),
        )

    def _check_state(self, h: Tensor | None, n: int, x: Tensor, unbatched: bool, what: str) -> Any:
        dirs = 2 if self.bidirectional else 1
        want = (dirs * self.num_layers, n, self.hidden_size)
        if h is None:
            return creation.zeros(*want, dtype=x.dtype, device=x.device)
        hh = h.unsqueeze(1) if unbatched else h
        if tuple(hh.shape) != want:
            shown = (want[0], want[2]) if unbatched else want
            raise ValueError(
                f"{type(self).__name__}: {what} must have shape {shown}, got {tuple(h.shape)}"
            )
        return hh

    def _run(self, input: Any, hx: Any) -> tuple[Any, Any]:
        if isinstance(input, PackedSequence):
            return self._run_packed(input, hx)
        return self._run_padded(input, hx, None)

    def _run_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        padded, lengths = pad_packed_sequence(packed)  # original batch order
        ln = lengths.numpy().astype(np.int64)
        first, self.__dict__["batch_first"] = self.batch_first, False
        try:
            out, state = self._run_padded(padded, hx, ln)
        finally:
            self.__dict__["batch_first"] = first
        order = None if packed.sorted_indices is None else packed.sorted_indices.numpy()
        if order is not None:
            out = out.index_select(1, packed.sorted_indices)  # type: ignore[arg-type]
            ln = ln[order]
        return _pack(out, ln, order), state

    def _run_padded(self, input: Tensor, hx: Any, lengths: np.ndarray | None) -> tuple[Tensor, Any]:
        name = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(
                f"{name}: expected input {layout} or (L, H_in) with H_in={self.input_size}, "
                f"got shape {tuple(input.shape)}"
            )
        unbatched = input.ndim == 2
        x = (
            input.unsqueeze(1)
            if unbatched
            else (input.transpose(0, 1) if self.batch_first else input)
        )
        n = x.shape[1]
        lstm = self.mode == "LSTM"
        if lstm:
            h0, c0 = (None, None) if hx is None else hx
            hs = self._check_state(h0, n, x, unbatched, "h_0")
            cs = self._check_state(c0, n, x, unbatched, "c_0")
        else:
            hs = self._check_state(hx, n, x, unbatched, "h_0")
        dirs = 2 if self.bidirectional else 1
        h_out, c_out = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                k = layer * dirs + d
                state: Any = (hs[k], cs[k]) if lstm else hs[k]
                xw = x.matmul(w_ih.transpose(0, 1))
                if b_ih is not None:
                    xw = xw + b_ih
                steps = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
                ys: list[Tensor] = []
                for t in steps:
                    y, new = cell_step(self.mode, xw[t], state, w_hh, b_hh)
                    if lengths is not None:  # packed: steps past a sequence's end change nothing
                        alive = creation.tensor((lengths > t)[:, None], device=x.device)
                        y = alive._select(y, 0.0)
                        new = (
                            tuple(alive._select(a, b) for a, b in zip(new, state))
                            if lstm
                            else alive._select(new, state)
                        )
                    state = new
                    ys.append(y)
                if d:
                    ys.reverse()
                outs.append(stack(ys, 0))
                if lstm:
                    h_out.append(state[0])
                    c_out.append(state[1])
                else:
                    h_out.append(state)
            x = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        out = x.squeeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
        hn = stack(h_out, 0)
        if unbatched:
            hn = hn.squeeze(1)
        if lstm:
            cn = stack(c_out, 0)
            return out, (hn, cn.squeeze(1) if unbatched else cn)
        return out, hn

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Multi-layer Elman RNN, ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` with
    ``nonlinearity`` ``"tanh"`` (default) or ``"relu"``. ``forward(input, hx=None)`` returns
    ``(output, h_n)``. Arguments, shapes and errors as :class:`RNNBase`."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity

    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | None = None
    ) -> tuple[Any, Tensor]:
        out, hn = self._run(input, hx)
        return out, hn


class LSTM(RNNBase):
    """Multi-layer LSTM (gate rows i, f, g, o). ``forward(input, (h_0, c_0)=None)`` returns
    ``(output, (h_n, c_n))``. Arguments, shapes and errors as :class:`RNNBase`
    (``proj_size`` must be 0)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )

    def forward(
        self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Any, tuple[Tensor, Tensor]]:
        out, state = self._run(input, hx)
        return out, state


class GRU(RNNBase):
    """Multi-layer GRU (gate rows r, z, n). ``forward(input, hx=None)`` returns
    ``(output, h_n)``. Arguments, shapes and errors as :class:`RNNBase`."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )

    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | None = None
    ) -> tuple[Any, Tensor]:
        out, hn = self._run(input, hx)
        return out, hn
