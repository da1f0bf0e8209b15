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
* ``idrak_sha256``: a SHA-256 of every byte of the file (length, header and data; see
  :mod:`idrak.io.stfile`), checked before anything is built.

Saving writes tensor by tensor (one tensor's host copy at a time) and loading reads each tensor
once into its own array, so the peak memory is about one copy of the checkpoint. Every malformed
file, whatever is wrong with it, raises :class:`CheckpointError` naming the path. Files of
format version 1 (idrak 0.1 before the whole-file digest) still load: their tensor checksum is
checked and their structure validated, but their header is not covered by a digest.

Files are written to a temporary name in the same directory, flushed, fsynced and renamed over
the target (``os.replace``), so an interrupted save leaves the previous checkpoint intact.
A plain safetensors file (from another tool, e.g. PyTorch's ``safetensors.torch.save_file``)
loads as a flat ``{name: Tensor}`` dict, ready for ``model.load_state_dict``; its ``BF16``
tensors are widened exactly to float32 (idrak tensors are not made in bfloat16 from host data).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

from idrak.core.tensor import Tensor, tensor
from idrak.errors import IdrakError
from idrak.io.atomic import atomic_path
from idrak.io.stfile import (
    DIGEST_KEY,
    StFileError,
    bf16_to_float32,
    read_file,
    st_dtype,
    write_file,
)
from idrak.runtime.devices import DeviceLike

__all__ = ["CheckpointError", "load", "save"]

FORMAT = "idrak"
FORMAT_VERSION = "2"
MAX_DEPTH = 100  # levels of nesting a stored tree may have
_IDRAK_KEYS = {"format", "format_version", "idrak_version", "structure", "dtypes", "sha256",
               "user", DIGEST_KEY}  # fmt: skip
_DTYPE_NAMES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                "float64"}  # fmt: skip


class CheckpointError(IdrakError, ValueError):
    """A checkpoint could not be written or read: truncated, corrupted, not safetensors, or a
    value that cannot be stored. ``path`` names the file."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"checkpoint {path!r}: {message}")


# encoding -------------------------------------------------------------------------------------
Producer = Callable[[], np.ndarray]


def _encode(
    obj: Any,
    name: str,
    out: dict[str, tuple[str, tuple[int, ...], Producer]],
    dtypes: dict[str, str],
    path: str,
    depth: int = 0,
) -> Any:
    """The JSON structure of ``obj``; tensors and arrays go into ``out`` under ``name`` as
    ``(st dtype, shape, produce)``, nothing is copied yet."""
    where = name or "<root>"
    if depth > MAX_DEPTH:
        raise CheckpointError(path, f"nested more than {MAX_DEPTH} levels deep at {where}")
    if isinstance(obj, (Tensor, np.ndarray)):
        key = name or "tensor"
        base, n = key, 1
        while key in out:
            key, n = f"{base}#{n}", n + 1
        if isinstance(obj, Tensor):
            if obj.dtype.name not in _DTYPE_NAMES:
                raise CheckpointError(
                    path,
                    f"{key}: {obj.dtype.name} tensors cannot be stored through NumPy; cast to "
                    "float32 first",
                )
            code = st_dtype(np.dtype(obj.dtype.name))
            t = obj
            out[key] = (str(code), tuple(obj.shape), lambda: np.asarray(t.numpy(), order="C"))
            dtypes[key] = obj.dtype.name
            return {"tensor": key}
        code = st_dtype(obj.dtype)
        if code is None:
            raise CheckpointError(path, f"{key}: NumPy dtype {obj.dtype} cannot be stored")
        a = obj
        out[key] = (code, tuple(obj.shape), lambda: np.asarray(a, order="C"))
        return {"array": key}
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise CheckpointError(path, f"dict keys must be str or int, got {k!r} at {where}")
            sub = f"{name}.{k}" if name else str(k)
            items.append([k, _encode(v, sub, out, dtypes, path, depth + 1)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {
            kind: [
                _encode(v, f"{name}.{i}" if name else str(i), out, dtypes, path, depth + 1)
                for i, v in enumerate(obj)
            ]
        }
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, np.generic):
        return {"value": obj.item()}
    raise CheckpointError(
        path,
        f"cannot store {type(obj).__name__} at {where}; "
        "use Tensors, arrays, numbers, strings, None, dicts, lists",
    )


def _collect(obj: Any, out: list[Tensor]) -> None:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, Mapping):
        for v in obj.values():
            _collect(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, out)


# writing ------------------------------------------------------------------------------------------
def _write_bytes(f: IO[bytes], data: bytes | memoryview) -> None:
    """Write ``data`` to ``f`` (a seam: tests replace it to simulate a crash mid-write)."""
    f.write(data)


def save(obj: Any, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``obj`` (a Tensor, or a tree of dicts/lists/tuples of Tensors and JSON values) to
    ``path`` as safetensors, atomically and tensor by tensor.

    Args:
        obj: e.g. ``model.state_dict()`` or ``{"model": ..., "optim": opt.state_dict()}``.
        path: the file to (over)write; its directory must exist. A symlink at ``path`` is
            replaced, never written through.
        metadata: optional JSON-serialisable extras, returned by ``load(..., with_metadata=True)``.

    Raises:
        CheckpointError: a value that cannot be stored (named by its dotted path), or a tree
            nested more than ``MAX_DEPTH`` levels.
        OSError: the file cannot be written (the file and the bytes written are named; the
            previous file, if any, is left intact and no temporary file remains).
    """
    from idrak import __version__
    from idrak.core.toplevel import realize

    p = os.fspath(path)
    pending: list[Tensor] = []
    _collect(obj, pending)
    realize(*pending)  # one schedule for every tensor before copying them out
    tensors: dict[str, tuple[str, tuple[int, ...], Producer]] = {}
    dtypes: dict[str, str] = {}
    structure = _encode(obj, "", tensors, dtypes, p)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "idrak_version": __version__,
        "structure": json.dumps(structure),
        "dtypes": json.dumps(dtypes),
    }
    if metadata is not None:
        try:
            header["user"] = json.dumps(dict(metadata))
        except (TypeError, ValueError) as e:
            raise CheckpointError(p, f"metadata is not JSON-serialisable: {e}") from None
    written = [0]

    def write(f: IO[bytes], data: bytes | memoryview) -> None:
        _write_bytes(f, data)
        written[0] += len(data)

    items = [(k, code, shape, produce) for k, (code, shape, produce) in tensors.items()]
    try:
        with atomic_path(p) as tmp, open(tmp, "r+b") as f:
            write_file(f, items, header, write)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        if e.filename is None and e.errno is not None:
            msg = f"{e.strerror} (writing {p!r}, {written[0]} bytes written)"
            raise type(e)(e.errno, msg, p) from e
        raise


# reading ------------------------------------------------------------------------------------------
def _legacy_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """The format-1 checksum: tensor names, dtypes, shapes and bytes (not the header)."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = arrays[k]
        h.update(f"{k}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(np.asarray(a, order="C").tobytes())
    return h.hexdigest()


def _json_meta(meta: Mapping[str, str], key: str, default: Any, path: str) -> Any:
    if key not in meta:
        return default
    try:
        return json.loads(meta[key])
    except (ValueError, RecursionError) as e:
        raise CheckpointError(path, f"malformed {key!r} metadata: {e}") from None


def _check_idrak(meta: Mapping[str, str], arrays: Mapping[str, np.ndarray], st: Any, p: str) -> str:
    """The format version of an idrak file, after its digest is checked."""
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            p, f"the metadata has idrak keys but format {meta.get('format')!r}, not 'idrak'"
        )
    version = meta.get("format_version")
    if version == FORMAT_VERSION:
        if DIGEST_KEY not in meta or st.digest_ok is None:
            raise CheckpointError(p, "a version-2 checkpoint without its whole-file digest")
        if not st.digest_ok:
            raise CheckpointError(p, "checksum mismatch: the file is corrupted")
    elif version == "1":
        if DIGEST_KEY in meta or "sha256" not in meta:
            raise CheckpointError(p, "a version-1 checkpoint without its sha256 checksum")
        if _legacy_digest(arrays) != meta["sha256"]:
            raise CheckpointError(p, "checksum mismatch: the tensor data is corrupted")
    else:
        raise CheckpointError(
            p,
            f"checkpoint format version {str(version)[:20]!r} is not one this idrak reads "
            f"(1 or {FORMAT_VERSION}); written by idrak {meta.get('idrak_version', '?')[:20]}",
        )
    return str(version)


class _Decoder:
    def __init__(self, path: str, arrays: dict[str, np.ndarray], make: Callable[[str], Any]):
        self.path, self.arrays, self.make, self.used = path, arrays, make, set[str]()
        self.build = False  # the first pass only checks
        self.tensors = set[str]()

    def fail(self, message: str) -> CheckpointError:
        return CheckpointError(self.path, f"malformed structure: {message}")

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")
        if not isinstance(node, dict) or len(node) != 1:
            raise self.fail(f"entry {str(node)[:80]}")
        ((kind, body),) = node.items()
        if kind in ("tensor", "array"):
            if not isinstance(body, str) or body not in self.arrays:
                raise self.fail(f"names tensor {str(body)[:80]!r}, which the file does not hold")
            if body in self.used:
                raise self.fail(f"names tensor {body!r} twice")
            self.used.add(body)
            if kind == "tensor":
                self.tensors.add(body)
            if not self.build:
                return None
            return self.make(body) if kind == "tensor" else self.arrays.pop(body)
        if kind == "dict":
            if not isinstance(body, list):
                raise self.fail(f"dict body {str(body)[:80]}")
            out: dict[Any, Any] = {}
            for item in body:
                ok = isinstance(item, list) and len(item) == 2
                if not ok or isinstance(item[0], bool) or not isinstance(item[0], (str, int)):
                    raise self.fail(f"dict item {str(item)[:80]}")
                if item[0] in out:
                    raise self.fail(f"dict key {item[0]!r} appears twice")
                out[item[0]] = self.decode(item[1], depth + 1)
            return out
        if kind in ("list", "tuple"):
            if not isinstance(body, list):
                raise self.fail(f"{kind} body {str(body)[:80]}")
            seq = [self.decode(v, depth + 1) for v in body]
            return seq if kind == "list" else tuple(seq)
        if kind == "value":
            if body is not None and not isinstance(body, (bool, int, float, str)):
                raise self.fail(f"value {str(body)[:80]}")
            return body
        raise self.fail(f"unknown entry kind {str(kind)[:40]!r}")


def load(
    path: str | os.PathLike[str], device: DeviceLike | None = None, with_metadata: bool = False
) -> Any:
    """Read a checkpoint written by :func:`save` (or any safetensors file).

    The whole file is verified (digest, sizes, structure, dtypes) before any Tensor is built.

    Args:
        path: the file (a regular file; a symlink to one is followed).
        device: where to put the tensors (default: the default device).
        with_metadata: also return the ``metadata`` given to :func:`save` (or ``{}``).

    Returns:
        The saved tree with Tensors in place (NumPy arrays stay arrays); for a foreign
        safetensors file, a flat ``{name: Tensor}`` dict. ``(tree, metadata)`` when
        ``with_metadata``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: anything wrong with the file: not a regular file, truncated,
            corrupted (checksum mismatch), a malformed header, structure or dtype, an
            unsupported format version, or not safetensors. The path is named.
    """
    p = os.fspath(path)
    try:
        st = read_file(p)
    except StFileError as e:
        raise CheckpointError(p, str(e)) from None
    except (IsADirectoryError, PermissionError) as e:
        raise CheckpointError(p, f"cannot be read: {e.strerror}") from None
    meta, arrays = st.metadata, st.arrays
    # a foreign safetensors file (a flat dict): no idrak key but perhaps a "format" that is not
    # idrak's (PyTorch / Hugging Face files say {"format": "pt"})
    own_keys = (_IDRAK_KEYS - {"format"}) & set(meta)
    if not own_keys and meta.get("format") != FORMAT:
        flat = {}
        for ent in st.entries:
            if ent.dtype == "BF16":  # PyTorch's bfloat16 weights: widened exactly to float32
                arrays[ent.name] = bf16_to_float32(arrays[ent.name])
            a = arrays[ent.name]
            if a.dtype.kind == "u" and a.dtype.itemsize > 1:
                raise CheckpointError(
                    p, f"tensor {ent.name!r}: dtype {ent.dtype} has no idrak dtype"
                )
            flat[ent.name] = tensor(arrays.pop(ent.name), device=device)
        return (flat, {}) if with_metadata else flat
    _check_idrak(meta, arrays, st, p)
    dtypes = _json_meta(meta, "dtypes", {}, p)
    structure = _json_meta(meta, "structure", None, p)
    user = _json_meta(meta, "user", {}, p)
    if not isinstance(dtypes, dict) or not isinstance(user, dict) or structure is None:
        raise CheckpointError(p, "malformed metadata: dtypes/user must be objects, structure set")
    for k, name in dtypes.items():
        if k not in arrays or name not in _DTYPE_NAMES:
            raise CheckpointError(p, f"malformed dtypes entry {k!r}: {str(name)[:40]!r}")
        if st_dtype(np.dtype(name)) != st_dtype(arrays[k].dtype):
            raise CheckpointError(
                p, f"dtypes says {name} for tensor {k!r}, but the file stores {arrays[k].dtype}"
            )

    def make(k: str) -> Tensor:
        return tensor(arrays.pop(k), dtype=dtypes[k], device=device)  # frees the host copy

    decoder = _Decoder(p, arrays, make)
    decoder.decode(structure)  # a first pass checks everything and builds nothing
    if decoder.used != set(arrays):
        extra = sorted(set(arrays) - decoder.used)[:5]
        raise CheckpointError(p, f"the file holds tensors the structure does not name: {extra}")
    missing = sorted(k for k in decoder.tensors if k not in dtypes)[:5]
    if missing:
        raise CheckpointError(p, f"tensors without an entry in dtypes: {missing}")
    decoder.used.clear()
    decoder.build = True
    out = decoder.decode(structure)
    return (out, user) if with_metadata else out
