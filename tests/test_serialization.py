"""Checkpoints: idrak.save / idrak.load on safetensors — round trips, optimizer state beside the
model, metadata, truncated/corrupted files, wrong shapes, atomic writes."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import idrak
import idrak.io.serialization as ser
import idrak.runtime.plugins
from idrak import nn, optim
from idrak.io.serialization import CheckpointError
from idrak.nn import functional as F

BACKENDS = idrak.runtime.plugins.available_backends()


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _model() -> nn.Module:
    return (
        nn.Conv2d(1, 3, 3, padding=1)
        >> nn.BatchNorm2d(3)
        >> nn.ReLU()
        >> nn.Flatten()
        >> nn.Linear(3 * 4 * 4, 2)
    )


def _batch(dev: str) -> tuple[idrak.Tensor, idrak.Tensor]:
    r = np.random.default_rng(0)
    return (
        idrak.tensor(r.standard_normal((6, 1, 4, 4)), dtype="float32", device=dev),
        idrak.tensor(r.integers(0, 2, 6), device=dev),
    )


def _step(model: nn.Module, opt: optim.Optimizer, x: idrak.Tensor, y: idrak.Tensor) -> float:
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return float(loss.item())


def test_state_dict_round_trip_gives_identical_outputs(tmp_path: Path, dev: str) -> None:
    idrak.manual_seed(0)
    model = _model().to(device=dev)
    x, y = _batch(dev)
    _step(model, optim.SGD(model.params, lr=0.1), x, y)  # running stats move too
    path = tmp_path / "model.safetensors"
    idrak.save(model.state_dict(), path)
    idrak.manual_seed(1)
    fresh = _model()
    fresh.load_state_dict(idrak.load(path, device=dev))
    model.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    for k, v in model.state_dict().items():
        got = fresh.state_dict()[k]
        assert got.dtype == v.dtype, k
        np.testing.assert_array_equal(got.numpy(), v.numpy())


def test_model_and_optimizer_saved_together_resume_exactly(tmp_path: Path, dev: str) -> None:
    x, y = _batch(dev)

    def make() -> tuple[nn.Module, optim.Optimizer, optim.lr_scheduler.StepLR]:
        idrak.manual_seed(3)
        m = _model().to(device=dev)
        o = optim.AdamW(
            [
                {"params": list(m[0].parameters())},
                {"params": list(m[4].parameters()) + list(m[1].parameters()), "lr": 0.02},
            ],
            lr=0.01,
            betas=(0.8, 0.95),
            amsgrad=True,
        )
        return m, o, optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5)

    m1, o1, s1 = make()
    for _ in range(3):
        _step(m1, o1, x, y)
        s1.step()
    path = tmp_path / "ckpt.safetensors"
    idrak.save(
        {"model": m1.state_dict(), "optim": o1.state_dict(), "sched": s1.state_dict(), "epoch": 3},
        path,
        metadata={"run": "test"},
    )
    m2, o2, s2 = make()
    ck, meta = idrak.load(path, device=dev, with_metadata=True)
    assert meta == {"run": "test"} and ck["epoch"] == 3
    m2.load_state_dict(ck["model"])
    o2.load_state_dict(ck["optim"])
    s2.load_state_dict(ck["sched"])
    assert o2.param_groups[0]["betas"] == (0.8, 0.95)
    assert o2.param_groups[1]["lr"] == o1.param_groups[1]["lr"]
    for _ in range(2):
        a, b = _step(m1, o1, x, y), _step(m2, o2, x, y)
        s1.step()
        s2.step()
        assert a == b
    for k, v in m1.state_dict().items():
        np.testing.assert_array_equal(m2.state_dict()[k].numpy(), v.numpy(), err_msg=k)


def test_tree_values_and_dtypes_survive(tmp_path: Path) -> None:
    obj = {
        "f64": idrak.tensor([1.5, -2.0], dtype="float64"),
        "f16": idrak.tensor([0.5], dtype="float16"),
        "i64": idrak.tensor([[1, 2], [3, 4]]),
        "b": idrak.tensor([True, False]),
        "scalar": idrak.tensor(3.0),
        "arr": np.arange(4, dtype=np.int32),
        7: {"nested": (1, 2.5, None, "s", [True])},
        "special": [math.inf, -math.inf],
        "empty": {},
    }
    path = tmp_path / "tree.safetensors"
    idrak.save(obj, path)
    back = idrak.load(path)
    assert set(back) == set(obj)
    for k in ("f64", "f16", "i64", "b", "scalar"):
        assert back[k].dtype == obj[k].dtype and back[k].shape == obj[k].shape, k
        np.testing.assert_array_equal(back[k].numpy(), obj[k].numpy())
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.int32
    assert back[7] == {"nested": (1, 2.5, None, "s", [True])}
    assert back["special"] == [math.inf, -math.inf] and back["empty"] == {}
    single = tmp_path / "one.safetensors"
    idrak.save(idrak.tensor([1.0, 2.0]), single)
    np.testing.assert_array_equal(idrak.load(single).numpy(), [1.0, 2.0])


def test_file_is_plain_safetensors_with_metadata(tmp_path: Path) -> None:
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    idrak.save({"model": nn.Linear(2, 3).state_dict(), "step": 5}, path)
    with safe_open(str(path), "np") as f:
        assert sorted(f.keys()) == ["model.bias", "model.weight"]
        meta = f.metadata()
    assert meta["format"] == "idrak" and meta["idrak_version"] == idrak.__version__
    assert json.loads(meta["dtypes"]) == {"model.weight": "float32", "model.bias": "float32"}
    assert "pickle" not in path.read_bytes()[:200].decode("latin-1")


def test_foreign_safetensors_file_loads_flat(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"a.weight": np.ones((2, 2), np.float32), "b": np.arange(3)}, str(path))
    back = idrak.load(path)
    assert set(back) == {"a.weight", "b"} and back["b"].dtype == idrak.int64


def _good_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.safetensors"
    idrak.save(nn.Linear(8, 8).state_dict(), path)
    return path


def test_truncated_checkpoint_raises_naming_the_path(tmp_path: Path) -> None:
    data = _good_file(tmp_path).read_bytes()
    for cut in (4, 40, len(data) - 10):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.safetensors") as info:
            idrak.load(bad)
        assert isinstance(info.value, idrak.IdrakError) and info.value.path == str(bad)
        assert "truncated" in str(info.value)


def test_corrupted_checkpoint_raises(tmp_path: Path) -> None:
    data = bytearray(_good_file(tmp_path).read_bytes())
    flipped = tmp_path / "flipped.safetensors"
    data[-5] ^= 0xFF  # one byte of tensor data
    flipped.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        idrak.load(flipped)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + b"\0" * 32)
    with pytest.raises(CheckpointError, match=r"garbage\.safetensors"):
        idrak.load(garbage)
    with pytest.raises(FileNotFoundError):
        idrak.load(tmp_path / "missing.safetensors")


def test_wrong_shape_checkpoint_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "wide.safetensors"
    idrak.save((nn.Linear(4, 8) >> nn.ReLU() >> nn.Linear(8, 2)).state_dict(), path)
    narrow = nn.Linear(4, 6) >> nn.ReLU() >> nn.Linear(6, 2)
    with pytest.raises(nn.StateDictError, match=r"0\.weight: checkpoint has shape \(8, 4\)"):
        narrow.load_state_dict(idrak.load(path))


def test_unstorable_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"optim\.fn"):
        idrak.save({"optim": {"fn": object()}}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_atomic_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _good_file(tmp_path)
    old = path.read_bytes()

    def crash(f: object, data: bytes) -> None:
        f.write(data[: len(data) // 2])  # type: ignore[attr-defined]
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ser, "_write_bytes", crash)
    with pytest.raises(OSError, match="simulated"):
        idrak.save(nn.Linear(8, 8).state_dict(), path)
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["good.safetensors"]  # no temp file left behind
    monkeypatch.undo()
    monkeypatch.setattr(ser.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError, match="boom"):
        idrak.save(nn.Linear(8, 8).state_dict(), path)
    assert path.read_bytes() == old and sorted(os.listdir(tmp_path)) == ["good.safetensors"]
    monkeypatch.undo()
    idrak.save({"w": idrak.zeros(1)}, path)  # a normal save replaces it
    assert set(idrak.load(path)) == {"w"}
