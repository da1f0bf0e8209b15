"""Checkpoints against faults and hostile input: every load returns exactly the saved tree or
raises CheckpointError naming the path (issue 14)."""

from __future__ import annotations

import json
import os
import random
import stat
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idrak
from idrak import nn
from idrak.io.serialization import CheckpointError

FIXTURES = Path(__file__).parent / "fixtures"


def _tree() -> dict[str, Any]:
    idrak.manual_seed(0)
    return {
        "model": nn.Linear(3, 2).state_dict(),
        "optimizer": {"state": {0: {"step": 3, "exp_avg": idrak.zeros(2, 3)}},
                      "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0, 1]}]},
        "epoch": 2,
        "history": {"train_loss": [1.5, 0.75]},
        "rng": [12345, 6],
        "flag": True,
        "i8": idrak.tensor([1, -2], dtype="int8"),
    }  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, idrak.Tensor):
        return (
            isinstance(b, idrak.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a.numpy(), b.numpy())
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _fuzz(data: bytes, target: Path, tree: Any, cases: list[bytes]) -> tuple[int, int, int]:
    """(loads tried, CheckpointErrors, silent changes) over ``cases``."""
    errors = silent = 0
    for case in cases:
        target.write_bytes(case)
        try:
            back = idrak.load(target, with_metadata=True)
        except CheckpointError as e:
            assert e.path == str(target)
            errors += 1
            continue
        if not (_same(tree, back[0]) and back[1] == {"kind": "test"}):
            silent += 1
    return len(cases), errors, silent


def fuzz_counts(tmp_path: Path, flips: int = 3000, seed: int = 0) -> tuple[int, int, int]:
    """Single-bit flips over the whole file (header and data), every truncation length near
    the header and the data, and a few hundred random truncations: (tried, errors, silent)."""
    tree = _tree()
    good = tmp_path / "good.safetensors"
    idrak.save(tree, good, metadata={"kind": "test"})
    data = good.read_bytes()
    rng = random.Random(seed)
    cases = []
    for _ in range(flips):
        bit = rng.randrange(len(data) * 8)
        b = bytearray(data)
        b[bit // 8] ^= 1 << (bit % 8)
        cases.append(bytes(b))
    n = int.from_bytes(data[:8], "little")
    cuts = (
        set(range(0, 80)) | set(range(n, n + 80)) | {rng.randrange(len(data)) for _ in range(200)}
    )
    cases += [data[:c] for c in sorted(cuts) if c < len(data)]
    cases.append(data + b"\0")  # padded
    return _fuzz(data, tmp_path / "case.safetensors", tree, cases)


def test_fuzz_every_flip_and_truncation_is_caught(tmp_path: Path) -> None:
    tried, errors, silent = fuzz_counts(tmp_path)
    assert silent == 0 and errors == tried, (tried, errors, silent)


def _craft(tmp_path: Path, header: Any, data: bytes = b"", raw: bytes | None = None) -> Path:
    body = raw if raw is not None else json.dumps(header).encode()
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)
    return path


def _meta(structure: Any, dtypes: Any = None, **extra: str) -> dict[str, str]:
    meta = {"format": "idrak", "format_version": "1", "sha256": _empty_digest()}
    meta |= {"structure": json.dumps(structure), "dtypes": json.dumps(dtypes or {})}
    return meta | extra


def _empty_digest() -> str:
    from idrak.io.serialization import _legacy_digest

    return _legacy_digest({})


@pytest.mark.parametrize(
    "header",
    [
        {"__metadata__": _meta({"value": 1}, format_version="9")},  # unknown version
        {"__metadata__": {"structure": "{}", "dtypes": "{}"}},  # idrak keys, no format
        {"__metadata__": _meta({"value": 1}, dtypes=None) | {"dtypes": '"Float32"'}},
        {"__metadata__": _meta("[" * 900 + "]" * 900)},
        {"__metadata__": _meta({"list": [{"list": []}] * 2}) | {"structure": "[" * 100_000}},
        {"__metadata__": _meta({"dict": [[True, {"value": 1}]]})},  # bool key
        {"__metadata__": _meta({"dict": [["a", {"value": 1}], ["a", {"value": 2}]]})},
        {"__metadata__": _meta({"tensor": "nope"})},
        {"__metadata__": _meta({"value": {"a": 1}})},
        {"__metadata__": _meta({"what": 1})},
        {"__metadata__": _meta(5)},
        {"__metadata__": _meta({"value": 1}) | {"user": "[1]"}},
        {"__metadata__": [1]},
        {"__metadata__": {"a": 1}},
        {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}},  # size mismatch
        {"t": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 8]}},
        {"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}},
        {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}},  # past the end
        {"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},  # a gap
        {"t": {"dtype": "F32", "shape": [1, 1], "data_offsets": "x"}},
        {"t": [1, 2]},
        [1, 2],
    ],
)
def test_crafted_headers_raise_checkpoint_error(tmp_path: Path, header: Any) -> None:
    path = _craft(tmp_path, header, b"\0" * 8)
    with pytest.raises(CheckpointError, match=r"crafted\.safetensors"):
        idrak.load(path)


def test_dtype_entry_that_disagrees_with_the_data_is_refused(tmp_path: Path) -> None:
    from idrak.io.serialization import _legacy_digest

    arr = np.zeros(2, np.float32)
    meta = _meta({"tensor": "w"}, {"w": "int8"}) | {"sha256": _legacy_digest({"w": arr})}
    header = {"__metadata__": meta, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    with pytest.raises(CheckpointError, match="dtypes says int8 for tensor 'w'"):
        idrak.load(_craft(tmp_path, header, arr.tobytes()))


def test_foreign_u64_and_invalid_utf8_raise_checkpoint_error(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "u64.safetensors"
    save_file({"x": np.arange(3, dtype=np.uint64)}, str(path))
    with pytest.raises(CheckpointError, match="U64"):
        idrak.load(path)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        idrak.load(_craft(tmp_path, None, raw=b"\xff\xfe{}"))


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.safetensors"
    os.mkfifo(fifo)
    link = tmp_path / "zero.safetensors"
    link.symlink_to("/dev/zero")
    for path in (fifo, link, Path("/dev/zero"), Path("/dev/urandom"), tmp_path):
        with pytest.raises(CheckpointError, match=r"not a regular file|cannot be read"):
            idrak.load(path)  # returns at once: nothing blocks or reads without end
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_version_1_checkpoints_still_load() -> None:
    tree, meta = idrak.load(FIXTURES / "checkpoint_v1.safetensors", with_metadata=True)
    assert meta == {"note": "v1"} and tree["step"] == 7 and tree["nested"] == (1, None, "x")
    np.testing.assert_allclose(
        tree["model"]["bias"].numpy(), [0.2556171417236328, -0.5538122653961182]
    )
    assert tree["arr"].dtype == np.int32


def test_new_files_open_with_safetensors_and_cover_every_byte(tmp_path: Path) -> None:
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    idrak.save({"w": idrak.ones(2, 2)}, path)
    with safe_open(str(path), "np") as f:
        np.testing.assert_array_equal(f.get_tensor("w"), np.ones((2, 2), np.float32))
        assert f.metadata()["format_version"] == "2" and len(f.metadata()["idrak_sha256"]) == 64


def test_a_symlink_at_the_target_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "ck.safetensors"
    link.symlink_to(victim)
    idrak.save({"w": idrak.ones(1)}, link)
    assert victim.read_text() == "keep me" and not link.is_symlink()


def test_runner_checkpoint_fields_are_checked(tmp_path: Path) -> None:
    from idrak.train.state import CHECKPOINT_KIND, read_checkpoint

    good = {"epoch": 1, "step": 4, "model": {}, "history": {}, "rng": [1, 2]}
    for key, bad in [("epoch", "1"), ("step", -1), ("model", [1]), ("rng", ["x"]), ("epoch", None)]:
        path = tmp_path / f"{key}.safetensors"
        tree = dict(good)
        if bad is None:
            del tree[key]
        else:
            tree[key] = bad
        idrak.save(tree, path, metadata={"kind": CHECKPOINT_KIND, "format": 1})
        with pytest.raises(CheckpointError, match=rf"{key}\.safetensors.*'{key}' must be"):
            read_checkpoint(path)
