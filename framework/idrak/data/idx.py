"""The IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed.

Layout (http://yann.lecun.com/exdb/mnist/): two zero bytes, a dtype code byte, a byte with the
number of dimensions ``ndim``, ``ndim`` big-endian uint32 sizes, then the data in C order,
big-endian.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from idrak.errors import IdrakError
from idrak.io.atomic import atomic_write

__all__ = ["IdxFormatError", "parse_idx", "read_bytes", "read_idx", "write_idx"]

_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(IdrakError, ValueError):
    """A file is not valid IDX: bad magic bytes, unknown dtype code, or a wrong size."""


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the (uncompressed) bytes of an IDX file.

    Returns:
        An array of the file's shape, in native byte order (``uint8`` for MNIST images/labels).

    Raises:
        IdxFormatError: bad magic, unknown dtype code, or a data size that does not match the
            header (expected and actual byte counts are named, with ``source``).
    """
    if len(data) < 4:
        raise IdxFormatError(f"{source}: {len(data)} bytes is too short for an IDX header")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _CODES:
        raise IdxFormatError(
            f"{source}: bad IDX magic {data[:4].hex()} (expected 0000 then a dtype code in "
            f"{[hex(c) for c in _CODES]} and ndim); is it really an IDX file?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{source}: truncated IDX header ({len(data)} < {header} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _CODES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxFormatError(
            f"{source}: IDX header says shape {shape} of {dtype.name} ({expected} data bytes), "
            f"but the file has {len(data) - header} data bytes"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, gunzipped when they start with the gzip magic bytes.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IdxFormatError: a corrupt or truncated gzip stream.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise IdxFormatError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed (see :func:`parse_idx` for the result).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IdxFormatError: a corrupt gzip stream or an invalid IDX payload.
    """
    return parse_idx(read_bytes(path), str(path))


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``compress``, default: name ends .gz).

    Parent directories are created; the file is written to a temporary name in the same
    directory and renamed into place.

    Raises:
        ValueError: a dtype IDX cannot hold (supported: uint8, int8, int16, int32, float32,
            float64) or more than 255 dimensions.
    """
    p = Path(path)
    arr = np.asarray(array)
    code = next((c for c, dt in _CODES.items() if dt.newbyteorder("=") == arr.dtype), None)
    if code is None or arr.ndim > 255:
        raise ValueError(
            f"cannot write dtype {arr.dtype} with {arr.ndim} dims as IDX; supported dtypes: "
            f"{[dt.name for dt in _CODES.values()]}, at most 255 dims"
        )
    payload = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload += np.ascontiguousarray(arr, dtype=_CODES[code]).tobytes()
    if compress if compress is not None else p.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    return atomic_write(p, payload, fsync=False)
