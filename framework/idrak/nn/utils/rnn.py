"""Padded and packed batches of variable-length sequences (``torch.nn.utils.rnn`` names).

A :class:`PackedSequence` stores the time steps of a batch sorted by decreasing length, step by
step: ``data`` (sum of lengths, ...) holds, for each step t, the rows of the ``batch_sizes[t]``
sequences still running. RNN, LSTM and GRU accept one and return one (their final states are
taken at each sequence's own last step). Packing and unpacking are INDEX_SELECTs with
host-computed indices, so gradients flow through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from idrak.core import creation
from idrak.core.methods.movement import cat, stack
from idrak.core.tensor import Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence(NamedTuple):
    """``data`` (sum(lengths), ...), ``batch_sizes`` int64 (T,), ``sorted_indices`` (the batch
    order used for packing, None when the input was already sorted) and ``unsorted_indices``
    (its inverse)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _lengths(lengths: Any, n: int) -> np.ndarray:
    ln = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths).astype(np.int64)
    if ln.shape != (n,):
        raise ValueError(f"lengths must hold one length per sequence ({n}), got shape {ln.shape}")
    if n and ln.min() <= 0:
        raise ValueError(f"every length must be positive, got {ln.tolist()}")
    return ln


def _packed_rows(ln_sorted: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """batch_sizes and, for each packed row, its flat position ``t * n + b`` in (T, N)."""
    t_max = int(ln_sorted[0]) if len(ln_sorted) else 0
    bs = np.array([(ln_sorted > t).sum() for t in range(t_max)], dtype=np.int64)
    parts = [t * n + np.arange(b) for t, b in enumerate(bs)]
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return bs, rows.astype(np.int64)


def _index(x: Tensor, dim: int, idx: np.ndarray) -> Tensor:
    return x.index_select(dim, creation.tensor(idx.astype(np.int64), device=x.device))


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, N, ...) (``batch_first``: (N, T, ...)) of sequences of ``lengths``
    (a list or a 1-D CPU tensor). With ``enforce_sorted`` the lengths must be decreasing;
    otherwise the batch is sorted first and ``sorted_indices`` records how.

    Raises:
        ValueError: lengths of the wrong count, not positive, longer than T, or (with
            ``enforce_sorted``) not sorted in decreasing order.
    """
    x = input.transpose(0, 1) if batch_first else input
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence expects (T, N, ...), got {tuple(input.shape)}")
    t, n = x.shape[0], x.shape[1]
    ln = _lengths(lengths, n)
    if n and ln.max() > t:
        raise ValueError(f"a length ({int(ln.max())}) exceeds the padded length {t}")
    if enforce_sorted:
        if np.any(np.diff(ln) > 0):
            raise ValueError(
                f"lengths {ln.tolist()} are not sorted in decreasing order; pass "
                "enforce_sorted=False to sort them"
            )
        order = None
    else:
        order = np.argsort(-ln, kind="stable")
        x = _index(x, 1, order)
        ln = ln[order]
    return _pack(x, ln, order)


def _pack(x: Tensor, ln_sorted: np.ndarray, order: np.ndarray | None) -> PackedSequence:
    """Pack (T, N, ...) already in sorted batch order."""
    t, n = x.shape[0], x.shape[1]
    bs, rows = _packed_rows(ln_sorted, n)
    data = _index(x.reshape((t * n, *x.shape[2:])), 0, rows)
    dev = x.device
    if order is None:
        return PackedSequence(data, creation.tensor(bs))
    return PackedSequence(
        data,
        creation.tensor(bs),
        creation.tensor(order.astype(np.int64), device=dev),
        creation.tensor(np.argsort(order).astype(np.int64), device=dev),
    )


def packed_lengths(sequence: PackedSequence) -> np.ndarray:
    """Each sequence's length in the sorted batch order."""
    bs = sequence.batch_sizes.numpy().astype(np.int64)
    n = int(bs[0]) if len(bs) else 0
    return np.array([(bs > b).sum() for b in range(n)], dtype=np.int64)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: (T, N, ...) padded with ``padding_value``
    (``batch_first``: (N, T, ...)) in the original batch order, and the lengths (int64).

    Raises:
        ValueError: ``total_length`` shorter than the longest sequence.
    """
    data, bs = sequence.data, sequence.batch_sizes.numpy().astype(np.int64)
    n, t = (int(bs[0]) if len(bs) else 0), len(bs)
    if total_length is not None:
        if total_length < t:
            raise ValueError(
                f"total_length ({total_length}) is shorter than the longest sequence ({t})"
            )
        t = total_length
    ln = packed_lengths(sequence)
    _, rows = _packed_rows(ln, n)
    inverse = np.full(t * n, data.shape[0], dtype=np.int64)  # the padding row
    inverse[rows] = np.arange(len(rows))
    pad_row = creation.full(
        (1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device
    )
    out = _index(cat([data, pad_row], 0), 0, inverse).reshape((t, n, *data.shape[1:]))
    if sequence.unsorted_indices is not None:
        unsort = sequence.unsorted_indices.numpy().astype(np.int64)
        out = _index(out, 1, unsort)
        ln = ln[unsort]
    if batch_first:
        out = out.transpose(0, 1)
    return out, creation.tensor(ln)


def pad_sequence(
    sequences: Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences (L_i, ...) into (max L, N, ...) (``batch_first``: (N, max L, ...)), padded
    with ``padding_value`` on the ``padding_side`` ("right" or "left").

    Raises:
        ValueError: no sequences, differing trailing shapes, a bad ``padding_side``.
    """
    seqs = list(sequences)
    if not seqs:
        raise ValueError("pad_sequence needs at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    trail = tuple(seqs[0].shape[1:])
    for s in seqs:
        if s.ndim == 0 or tuple(s.shape[1:]) != trail:
            raise ValueError(
                f"pad_sequence: sequences must share their trailing shape {trail}, got "
                f"{tuple(s.shape)}"
            )
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        widths = [0, 0] * len(trail) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(s.pad(widths, "constant", padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, ...) (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length: a list of (L_i, ...)."""
    x = padded if batch_first else padded.transpose(0, 1)
    ln = _lengths(lengths, x.shape[0])
    return [x[i, : int(n)] for i, n in enumerate(ln)]


def unpack_sequence(packed: PackedSequence) -> list[Tensor]:
    """The sequences of a PackedSequence, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
