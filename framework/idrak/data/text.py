"""Character-level datasets in the style of Karpathy's makemore (names -> next character)."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from idrak.data.dataset import TensorDataset

__all__ = ["BOUNDARY", "CharDataset", "names_dataset"]

BOUNDARY = "."  # starts and ends every word; index 0 of the vocabulary


class CharDataset(TensorDataset):
    """(context -> next character) examples of a list of words, as ``int64`` arrays.

    For each word ``w`` and block size ``B`` the examples are, with ``.`` the boundary token::

        "...", "e"   "..e", "m"   ".em", "m"   "emm", "a"   "mma", "."     (w = "emma", B = 3)

    Args:
        words: the words, in order; surrounding whitespace is stripped, empty words dropped.
        block_size: context length ``B >= 1``.
        chars: the vocabulary's characters (without ``.``); default: those of ``words``, sorted.

    Attributes:
        words: the cleaned words.
        block_size: ``B``.
        itos: list of characters, ``itos[0] == "."``; ``stoi`` is its inverse (a dict).
        vocab_size: ``len(itos)``.
        X: ``int64 (N, B)`` contexts; ``Y``: ``int64 (N,)`` next-character indices (also
            ``arrays``: a DataLoader batches them without a per-sample loop).

    Raises:
        ValueError: ``block_size < 1``, a word containing ``.``, or a word with a character
            outside ``chars`` (the word and character are named).
    """

    def __init__(
        self, words: Iterable[str], block_size: int = 3, chars: Sequence[str] | None = None
    ) -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral):
            raise TypeError(f"block_size must be an int, got {type(block_size).__name__}")
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        cleaned = [w.strip() for w in words]
        self.words: list[str] = [w for w in cleaned if w]
        for w in self.words:
            if BOUNDARY in w:
                raise ValueError(f"word {w!r} contains the boundary token {BOUNDARY!r}")
        vocab = sorted(set("".join(self.words))) if chars is None else list(chars)
        if BOUNDARY in vocab:
            raise ValueError(f"chars must not include the boundary token {BOUNDARY!r}")
        self.block_size: int = int(block_size)
        self.itos: list[str] = [BOUNDARY, *vocab]
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}
        xs, ys = self._examples()
        super().__init__(xs, ys)

    def _examples(self) -> tuple[np.ndarray, np.ndarray]:
        xs: list[list[int]] = []
        ys: list[int] = []
        for w in self.words:
            context = [0] * self.block_size
            for ix in [*self.encode(w), 0]:
                xs.append(context)
                ys.append(ix)
                context = [*context[1:], ix]
        x = np.asarray(xs, dtype=np.int64).reshape(len(xs), self.block_size)
        return x, np.asarray(ys, dtype=np.int64)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def X(self) -> np.ndarray:
        return self.arrays[0]

    @property
    def Y(self) -> np.ndarray:
        return self.arrays[1]

    def encode(self, text: str) -> list[int]:
        """Character indices of ``text``.

        Raises:
            ValueError: a character outside the vocabulary (named, with its position).
        """
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            pos = next(i for i, c in enumerate(text) if c not in self.stoi)
            raise ValueError(
                f"character {text[pos]!r} at position {pos} of {text!r} is not in the "
                f"vocabulary {''.join(self.itos)!r}"
            ) from exc

    def decode(self, indices: Iterable[int]) -> str:
        """The string of ``indices`` (ints, or an integer array / Tensor flattened by the caller).

        Raises:
            ValueError: an index outside ``[0, vocab_size)``.
        """
        out = []
        for i in indices:
            k = int(i)
            if not 0 <= k < len(self.itos):
                raise ValueError(f"index {k} is outside the vocabulary [0, {len(self.itos)})")
            out.append(self.itos[k])
        return "".join(out)

    def __repr__(self) -> str:
        return (
            f"CharDataset({len(self.words)} words, vocab_size={self.vocab_size}, "
            f"block_size={self.block_size}, {len(self)} examples)"
        )


def names_dataset(path: str | os.PathLike[str], block_size: int = 3) -> CharDataset:
    """A :class:`CharDataset` of a text file with one word per line (e.g. makemore's names.txt).

    Args:
        path: the file (UTF-8). Blank lines are skipped.
        block_size: context length.

    Raises:
        FileNotFoundError: ``path`` does not exist (named).
        ValueError: the file has no words, or see :class:`CharDataset`.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"names file {str(p)!r} does not exist (expected one word per line)"
        )
    words = p.read_text(encoding="utf-8").splitlines()
    ds = CharDataset(words, block_size=block_size)
    if not ds.words:
        raise ValueError(f"names file {str(p)!r} contains no words")
    return ds
