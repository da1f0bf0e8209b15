"""The safetensors container, read and written tensor by tensor, with a whole-file digest.

Layout (the safetensors format): 8 bytes little-endian header length ``n``, ``n`` bytes of JSON
header (``{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}``, padded with
spaces to a multiple of 8), then the tensor data back to back.

idrak's files (format version 2) begin their header with
``{"__metadata__":{"idrak_sha256":"<64 hex>"`` : a SHA-256 of every byte of the file with those
64 hex digits read as zeros. So the length prefix, the header (structure, dtypes, metadata,
tensor offsets) and the data are all covered, and the digest is checked before anything is
built. Any safetensors reader can still open the file.

Only regular files are read (a FIFO, a device or ``/dev/zero`` is refused before a byte is
read), and the sizes in the header are checked against the file's size first.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

__all__ = [
    "DIGEST_KEY",
    "HeaderEntry",
    "StFile",
    "bf16_to_float32",
    "read_file",
    "st_dtype",
    "write_file",
]

DIGEST_KEY = "idrak_sha256"
_PREFIX = b'{"__metadata__":{"' + DIGEST_KEY.encode() + b'":"'
_ZEROS = b"0" * 64
MAX_HEADER = 100_000_000  # the limit safetensors itself applies
_CHUNK = 1 << 22

#: safetensors dtype code -> NumPy dtype (little-endian)
_ST_TO_NP = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("uint8"),
    "I8": np.dtype("int8"),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
_NP_TO_ST = {v.newbyteorder("<") if v.itemsize > 1 else v: k for k, v in _ST_TO_NP.items()}
#: codes that are read (as their raw bits, entry dtype kept) but never written: PyTorch's
#: bfloat16 weights; :func:`bf16_to_float32` widens them exactly
_READ_ONLY = {"BF16": np.dtype("<u2")}


def _np_of(code: str) -> np.dtype[Any]:
    return _ST_TO_NP.get(code) or _READ_ONLY[code]


def bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 values held as their uint16 bit patterns, widened exactly to float32 (a
    bfloat16 is the top half of a float32)."""
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


class StFileError(ValueError):
    """A malformed container; the message says what is wrong (the caller adds the path)."""


def st_dtype(dtype: np.dtype[Any]) -> str | None:
    """The safetensors code of a NumPy dtype (either byte order), or None if it has none."""
    d = np.dtype(dtype)
    if d.itemsize > 1:
        d = d.newbyteorder("<")
    return _NP_TO_ST.get(d)


@dataclass(frozen=True)
class HeaderEntry:
    """One tensor of a file: name, safetensors dtype code, shape, byte range in the data."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass
class StFile:
    """A file as read: metadata, entries in data order, arrays by name, digest state."""

    metadata: dict[str, str]
    entries: list[HeaderEntry]
    arrays: dict[str, np.ndarray]
    digest_ok: bool | None  # None: the file carries no idrak digest


# writing ---------------------------------------------------------------------------------------
def write_file(
    f: IO[bytes],
    tensors: Iterable[tuple[str, str, tuple[int, ...], Callable[[], np.ndarray]]],
    metadata: Mapping[str, str],
    write: Callable[[IO[bytes], bytes | memoryview], object],
) -> None:
    """Write a version-2 file to the open binary file ``f`` (seekable), one tensor at a time.

    ``tensors`` are ``(name, st_dtype, shape, produce)``; ``produce()`` returns the C-contiguous
    array (any byte order) only when its turn comes, so at most one is held at once.
    ``write(f, chunk)`` does the writing (a seam for tests).

    Raises:
        StFileError: an array whose dtype or shape differs from what was announced.
        OSError: from the file.
    """
    items = list(tensors)
    header: dict[str, Any] = {"__metadata__": {DIGEST_KEY: _ZEROS.decode(), **metadata}}
    offset = 0
    for name, code, shape, _ in items:
        nbytes = int(np.prod(shape, dtype=np.int64)) * _ST_TO_NP[code].itemsize
        header[name] = {
            "dtype": code,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    raw += b" " * (-len(raw) % 8)
    h = hashlib.sha256()
    head = len(raw).to_bytes(8, "little") + raw
    h.update(head)
    write(f, head)
    for name, code, shape, produce in items:
        arr = produce()
        want = _ST_TO_NP[code]
        if arr.shape != tuple(shape) or st_dtype(arr.dtype) != code:
            raise StFileError(f"{name}: produced {arr.dtype} {arr.shape}, announced {code} {shape}")
        if arr.dtype != want:
            arr = arr.astype(want)
        view = np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data
        for i in range(0, len(view), _CHUNK):
            chunk = view[i : i + _CHUNK]
            h.update(chunk)
            write(f, chunk)
        del arr, view
    f.flush()
    f.seek(8 + len(_PREFIX))
    f.write(h.hexdigest().encode())
    f.seek(0, os.SEEK_END)


# reading ---------------------------------------------------------------------------------------
def _open_regular(path: str) -> tuple[int, int]:
    """An fd of ``path`` opened without blocking, and its size; StFileError unless regular."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StFileError("not a regular file (a FIFO, device, socket or directory)")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _entries(header: dict[str, Any], data_len: int) -> list[HeaderEntry]:
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise StFileError(f"malformed header entry {name!r}: {str(info)[:80]}")
        code, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _ST_TO_NP and code not in _READ_ONLY:
            raise StFileError(f"tensor {name!r}: unsupported dtype {str(code)[:20]!r}")
        ok_ints = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in [*shape])
        if not isinstance(shape, list) or not ok_ints or len(shape) > 64:
            raise StFileError(f"tensor {name!r}: malformed shape {str(shape)[:80]}")
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in offs)
        ):
            raise StFileError(f"tensor {name!r}: malformed data_offsets {str(offs)[:80]}")
        nbytes = int(np.prod(shape, dtype=np.float64)) * _np_of(code).itemsize
        if offs[1] - offs[0] != nbytes or offs[0] < 0:
            raise StFileError(
                f"tensor {name!r}: data_offsets {offs} do not hold {code} of shape {shape}"
            )
        out.append(HeaderEntry(name, code, tuple(shape), offs[0], offs[1]))
    out.sort(key=lambda e: (e.begin, e.end))
    pos = 0
    for e in out:
        if e.begin != pos:
            raise StFileError(f"tensor {e.name!r}: data at {e.begin}, expected {pos} (overlap/gap)")
        pos = e.end
    if pos != data_len:
        raise StFileError(
            f"truncated or padded: the header describes {pos} data bytes, the file holds {data_len}"
        )
    return out


def _readinto(fd: int, buf: memoryview, h: Any) -> None:
    got = 0
    while got < len(buf):
        n = os.readv(fd, [buf[got : got + _CHUNK]])
        if n == 0:
            raise StFileError("truncated while reading (the file shrank)")
        h.update(buf[got : got + n])
        got += n


def read_file(path: str) -> StFile:
    """Read and check a safetensors file; arrays are read once, into their own memory.

    Raises:
        FileNotFoundError / PermissionError / IsADirectoryError: from opening ``path``.
        StFileError: not a regular file, truncated, padded, a malformed or oversized header,
            an unsupported dtype, or overlapping data (the digest is reported, not raised:
            ``digest_ok``).
    """
    fd, size = _open_regular(path)
    try:
        if size < 8:
            raise StFileError(f"truncated: {size} bytes, not even a safetensors header length")
        first = os.pread(fd, 8, 0)
        n = int.from_bytes(first, "little")
        if n > MAX_HEADER:
            raise StFileError(f"header length {n} is over the {MAX_HEADER}-byte limit")
        if 8 + n > size:
            raise StFileError(
                f"truncated: the header says {n} header bytes but the file has {size - 8} "
                "after the length"
            )
        raw = os.pread(fd, n, 8)
        if len(raw) != n:
            raise StFileError("truncated while reading the header")
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise StFileError(
                f"the header is not valid JSON (truncated or corrupted?): {e}"
            ) from None
        if not isinstance(header, dict):
            raise StFileError("the header is not a JSON object")
        meta = header.get("__metadata__", {})
        if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
        ):
            raise StFileError("malformed __metadata__ in the header (must map str to str)")
        entries = _entries(header, size - 8 - n)
        h = hashlib.sha256()
        has_digest = raw.startswith(_PREFIX) and raw[len(_PREFIX) + 64 : len(_PREFIX) + 65] == b'"'
        stored = raw[len(_PREFIX) : len(_PREFIX) + 64] if has_digest else b""
        h.update(first)
        h.update(raw[: len(_PREFIX)] + _ZEROS + raw[len(_PREFIX) + 64 :] if has_digest else raw)
        arrays: dict[str, np.ndarray] = {}
        os.lseek(fd, 8 + n, os.SEEK_SET)
        for ent in entries:
            arr = np.empty(ent.shape, dtype=_np_of(ent.dtype))
            _readinto(fd, arr.reshape(-1).view(np.uint8).data, h)
            arrays[ent.name] = arr
        digest_ok = (h.hexdigest().encode() == stored) if has_digest else None
        return StFile(meta, entries, arrays, digest_ok)
    finally:
        os.close(fd)
