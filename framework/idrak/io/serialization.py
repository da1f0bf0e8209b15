"""Checkpoints: ``idrak.save(obj, path)`` / ``idrak.load(path)`` on safetensors (no pickle).

``obj`` is a Tensor or a tree of dicts, lists and tuples whose leaves are Tensors, NumPy arrays
or JSON values (numbers, strings, bools, None): a model's ``state_dict()``, an optimizer's, or
both at once (``{"model": ..., "optim": ..., "epoch": 3}``). Tensors are stored under their
dotted path (``model.fc1.weight``, ``optim.state.0.exp_avg``), so any safetensors reader can
open the file; everything else goes into the header metadata:

* ``format``/``format_version``/``idrak_version``;
* ``structure``: the tree as JSON, with each tensor replaced by its stored name (int dict keys,
  tuples and lists survive the round trip);
* ``dtypes``: each tensor's idrak dtype name;
* ``sha256``: a digest of every tensor's name, dtype, shape and bytes, checked on load.

Files are written to a temporary name in the same directory, flushed, fsynced and renamed over
the target (``os.replace``), so an interrupted save leaves the previous checkpoint intact.
A plain safetensors file (from another tool) loads as a flat ``{name: Tensor}`` dict.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from idrak.core.tensor import Tensor, tensor
from idrak.errors import IdrakError
from idrak.io.atomic import atomic_write
from idrak.runtime.devices import DeviceLike

__all__ = ["CheckpointError", "load", "save"]

FORMAT = "idrak"
FORMAT_VERSION = "1"


class CheckpointError(IdrakError, ValueError):
    """A checkpoint could not be written or read: truncated, corrupted, not safetensors, or a
    value that cannot be stored. ``path`` names the file."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"checkpoint {path!r}: {message}")


# encoding -------------------------------------------------------------------------------------
def _encode(
    obj: Any, name: str, arrays: dict[str, np.ndarray], dtypes: dict[str, str], path: str
) -> Any:
    """The JSON structure of ``obj``; tensors and arrays go into ``arrays`` under ``name``."""
    if isinstance(obj, (Tensor, np.ndarray)):
        key = name or "tensor"
        base, n = key, 1
        while key in arrays:
            key, n = f"{base}#{n}", n + 1
        if isinstance(obj, Tensor):
            if obj.dtype.name == "bfloat16":
                raise CheckpointError(
                    path,
                    f"{key}: bfloat16 tensors cannot be stored through "
                    "NumPy; cast to float32 first",
                )
            arrays[key], dtypes[key] = np.asarray(obj.numpy(), order="C"), obj.dtype.name
            return {"tensor": key}
        arrays[key], dtypes[key] = np.asarray(obj, order="C"), str(obj.dtype)
        return {"array": key}
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise CheckpointError(
                    path, f"dict keys must be str or int, got {k!r} at {name or '<root>'}"
                )
            items.append([k, _encode(v, f"{name}.{k}" if name else str(k), arrays, dtypes, path)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {
            kind: [
                _encode(v, f"{name}.{i}" if name else str(i), arrays, dtypes, path)
                for i, v in enumerate(obj)
            ]
        }
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, np.generic):
        return {"value": obj.item()}
    raise CheckpointError(
        path,
        f"cannot store {type(obj).__name__} at {name or '<root>'}; "
        "use Tensors, arrays, numbers, strings, None, dicts, lists",
    )


def _decode(node: Any, arrays: dict[str, np.ndarray], make: Any, path: str) -> Any:
    try:
        ((kind, body),) = node.items()
    except (AttributeError, ValueError):
        raise CheckpointError(path, f"malformed structure entry {node!r}") from None
    if kind in ("tensor", "array"):
        if body not in arrays:
            raise CheckpointError(
                path, f"the structure names tensor {body!r}, which the file does not hold"
            )
        return make(body) if kind == "tensor" else arrays[body]
    if kind == "dict":
        return {k: _decode(v, arrays, make, path) for k, v in body}
    if kind == "list":
        return [_decode(v, arrays, make, path) for v in body]
    if kind == "tuple":
        return tuple(_decode(v, arrays, make, path) for v in body)
    if kind == "value":
        return body
    raise CheckpointError(path, f"unknown structure entry kind {kind!r}")


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = arrays[k]
        h.update(f"{k}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(np.asarray(a, order="C").tobytes())
    return h.hexdigest()


# writing ------------------------------------------------------------------------------------------
def _write_bytes(f: IO[bytes], data: bytes) -> None:
    """Write ``data`` to ``f`` (a seam: tests replace it to simulate a crash mid-write)."""
    f.write(data)


def _atomic_write(path: str, data: bytes) -> None:
    # the lambda looks _write_bytes up at call time, so tests can replace it
    atomic_write(path, data, writer=lambda f, d: _write_bytes(f, d))


def save(obj: Any, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``obj`` (a Tensor, or a tree of dicts/lists/tuples of Tensors and JSON values) to
    ``path`` as safetensors, atomically.

    Args:
        obj: e.g. ``model.state_dict()`` or ``{"model": ..., "optim": opt.state_dict()}``.
        path: the file to (over)write; its directory must exist.
        metadata: optional JSON-serialisable extras, returned by ``load(..., with_metadata=True)``.

    Raises:
        CheckpointError: a value that cannot be stored (named by its dotted path).
        OSError: the file cannot be written (the previous file, if any, is left intact).
    """
    from safetensors.numpy import save as st_save

    from idrak import __version__
    from idrak.core.toplevel import realize

    p = os.fspath(path)
    pending: list[Tensor] = []
    _collect(obj, pending)
    realize(*pending)  # one schedule for every tensor before copying them out
    arrays: dict[str, np.ndarray] = {}
    dtypes: dict[str, str] = {}
    structure = _encode(obj, "", arrays, dtypes, p)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "idrak_version": __version__,
        "structure": json.dumps(structure),
        "dtypes": json.dumps(dtypes),
        "sha256": _digest(arrays),
    }
    if metadata is not None:
        try:
            header["user"] = json.dumps(dict(metadata))
        except TypeError as e:
            raise CheckpointError(p, f"metadata is not JSON-serialisable: {e}") from None
    _atomic_write(p, st_save(arrays, metadata=header))


def _collect(obj: Any, out: list[Tensor]) -> None:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, Mapping):
        for v in obj.values():
            _collect(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, out)


# reading ------------------------------------------------------------------------------------------
def _read(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from safetensors.numpy import load as st_load

    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CheckpointError(
            path, f"truncated: {len(data)} bytes, not even a safetensors header length"
        )
    n = int.from_bytes(data[:8], "little")
    if 8 + n > len(data):
        raise CheckpointError(
            path,
            f"truncated: the header says {n} header bytes but the file "
            f"has {len(data) - 8} after the length",
        )
    try:
        header = json.loads(data[8 : 8 + n])
        meta = header.get("__metadata__") or {}
        arrays = st_load(data)
    except Exception as e:  # safetensors raises its own error type for a bad layout
        raise CheckpointError(
            path, f"not a valid safetensors file (truncated or corrupted?): {e}"
        ) from None
    if not isinstance(meta, dict):
        raise CheckpointError(path, "malformed __metadata__ in the header")
    return arrays, meta


def load(
    path: str | os.PathLike[str], device: DeviceLike | None = None, with_metadata: bool = False
) -> Any:
    """Read a checkpoint written by :func:`save` (or any safetensors file).

    Args:
        path: the file.
        device: where to put the tensors (default: the default device).
        with_metadata: also return the ``metadata`` given to :func:`save` (or ``{}``).

    Returns:
        The saved tree with Tensors in place (NumPy arrays stay arrays); for a foreign
        safetensors file, a flat ``{name: Tensor}`` dict. ``(tree, metadata)`` when
        ``with_metadata``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: truncated, corrupted (checksum mismatch), or not safetensors.
    """
    p = os.fspath(path)
    arrays, meta = _read(p)
    if meta.get("format") == FORMAT and "sha256" in meta and _digest(arrays) != meta["sha256"]:
        raise CheckpointError(p, "checksum mismatch: the tensor data is corrupted")
    try:
        dtypes = json.loads(meta.get("dtypes", "{}"))
        structure = json.loads(meta["structure"]) if "structure" in meta else None
        user = json.loads(meta["user"]) if "user" in meta else {}
    except (json.JSONDecodeError, TypeError) as e:
        raise CheckpointError(p, f"malformed metadata: {e}") from None

    def make(k: str) -> Tensor:
        return tensor(arrays[k], dtype=dtypes.get(k), device=device)

    out = {k: make(k) for k in arrays} if structure is None else _decode(structure, arrays, make, p)
    return (out, user) if with_metadata else out
