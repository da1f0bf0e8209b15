"""PyTorch weights in idrak: a torch-initialised model saved with ``safetensors.torch`` (no
pickle) loads into its idrak twin with ``load_state_dict`` and computes the same outputs; the
in-memory route (``idrak.io.convert_state_dict``) does the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idrak
from idrak import nn

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")


def _twin(lib: Any) -> Any:
    """The same model in torch or idrak: Embedding + Conv2d + LayerNorm + Linear MLP."""

    class Model(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = lib.nn.Embedding(11, 6)
            self.conv = lib.nn.Conv2d(1, 4, 3, padding=1)
            self.norm = lib.nn.LayerNorm(4 * 5 * 5)
            self.fc1 = lib.nn.Linear(4 * 5 * 5, 16)
            self.fc2 = lib.nn.Linear(16, 6)

        def forward(self, img: Any, tok: Any) -> Any:
            h = self.conv(img).relu().flatten(1)
            h = self.fc1(self.norm(h)).tanh()
            return self.fc2(h) + self.emb(tok).mean(1)

    return Model()


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(0)
    return r.standard_normal((3, 1, 5, 5)).astype(np.float32), r.integers(0, 11, (3, 4))


def _torch_model() -> tuple[Any, np.ndarray]:
    torch.manual_seed(0)
    model = _twin(torch)
    with torch.no_grad():  # LayerNorm starts at (1, 0): make its weights torch-random too
        model.norm.weight.normal_()
        model.norm.bias.normal_()
    img, tok = _inputs()
    out = model(torch.tensor(img), torch.tensor(tok)).detach().numpy()
    return model, out


def _check(model: Any, want: np.ndarray) -> None:
    img, tok = _inputs()
    got = model(idrak.tensor(img), idrak.tensor(tok)).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_safetensors_file_written_by_torch_loads_into_the_idrak_twin(tmp_path: Path) -> None:
    tmodel, want = _torch_model()
    path = tmp_path / "model.safetensors"
    st_torch.save_file(tmodel.state_dict(), str(path), metadata={"format": "pt"})
    sd = idrak.load(path)
    assert set(sd) == set(tmodel.state_dict())
    model = _twin(idrak)
    before = model(idrak.tensor(_inputs()[0]), idrak.tensor(_inputs()[1])).numpy()
    assert not np.allclose(before, want, atol=1e-3)  # a fresh idrak model differs
    result = model.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys
    _check(model, want)


def test_convert_state_dict_in_memory() -> None:
    tmodel, want = _torch_model()
    model = _twin(idrak)
    model.load_state_dict(idrak.io.convert_state_dict(tmodel.state_dict()))
    _check(model, want)


def test_bfloat16_weights_widen_exactly(tmp_path: Path) -> None:
    w = torch.randn(4, 3).to(torch.bfloat16)
    st_torch.save_file({"w": w}, str(tmp_path / "b.safetensors"))
    loaded = idrak.load(tmp_path / "b.safetensors")["w"]
    assert loaded.dtype == idrak.float32
    np.testing.assert_array_equal(loaded.numpy(), w.float().numpy())
    converted = idrak.io.convert_state_dict({"w": w})["w"]
    np.testing.assert_array_equal(converted.numpy(), w.float().numpy())


def test_batchnorm_buffers_round_trip(tmp_path: Path) -> None:
    tbn = torch.nn.BatchNorm1d(3)
    tbn(torch.randn(8, 3) * 3 + 1)  # training mode: running stats move
    tbn.eval()
    st_torch.save_file(tbn.state_dict(), str(tmp_path / "bn.safetensors"))
    bn = nn.BatchNorm1d(3)
    bn.load_state_dict(idrak.load(tmp_path / "bn.safetensors"))
    bn.eval()
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        bn(idrak.tensor(x)).numpy(), tbn(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_convert_state_dict_errors() -> None:
    with pytest.raises(TypeError, match="must be a mapping, got list"):
        idrak.io.convert_state_dict([1])
    with pytest.raises(TypeError, match="entry 'x': cannot convert object"):
        idrak.io.convert_state_dict({"x": object()})
