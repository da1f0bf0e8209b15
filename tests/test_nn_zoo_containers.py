"""ModuleList, ModuleDict, ParameterList and ParameterDict: registration (torch's dotted
names, so a torch state_dict loads), list/dict behaviour, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import idrak
from idrak import nn


def test_module_list_registers_and_indexes() -> None:
    layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 4)])
    layers.append(nn.ReLU())
    layers += [nn.Linear(4, 1)]
    assert len(layers) == 4 and isinstance(layers[-1], nn.Linear)
    assert list(layers.state_dict()) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "3.weight",
        "3.bias",
    ]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and list(layers._modules) == list("01234")
    del layers[0]
    assert isinstance(layers[0], nn.Linear)
    popped = layers.pop(2)
    assert isinstance(popped, nn.ReLU) and len(layers) == 3
    layers[0] = nn.Linear(2, 3, bias=False)
    assert "0.bias" not in layers.state_dict()
    x = idrak.randn(5, 2)
    for m in layers:
        x = m(x)
    assert x.shape == (5, 1)
    with pytest.raises(IndexError, match="out of range"):
        layers[7]
    with pytest.raises(TypeError, match="Module"):
        layers.append(lambda t: t)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(x)


def test_module_dict_in_a_model_loads_torch_state_dict() -> None:
    torch = pytest.importorskip("torch")

    def make(lib: object) -> object:
        tnn = lib.nn  # type: ignore[attr-defined]

        class Model(tnn.Module):  # type: ignore[misc,name-defined]
            def __init__(self) -> None:
                super().__init__()
                self.transformer = tnn.ModuleDict(
                    {
                        "wte": tnn.Embedding(7, 4),
                        "h": tnn.ModuleList([tnn.Linear(4, 4) for _ in range(2)]),
                    }
                )
                self.scales = tnn.ParameterList([tnn.Parameter(lib.ones(4)) for _ in range(2)])  # type: ignore[attr-defined]
                self.extra = tnn.ParameterDict({"gain": tnn.Parameter(lib.zeros(1))})  # type: ignore[attr-defined]

            def forward(self, idx: object) -> object:
                x = self.transformer.wte(idx)
                for block, s in zip(self.transformer.h, self.scales):
                    x = block(x) * s
                return x.sum() + self.extra["gain"].sum()

        return Model()

    torch.manual_seed(0)  # a fixed model: its float32 sum is not near 0 by chance
    tm, im = make(torch), make(idrak)
    tsd = tm.state_dict()  # type: ignore[attr-defined]
    assert list(im.state_dict()) == list(tsd)  # type: ignore[attr-defined]
    im.load_state_dict({k: idrak.tensor(v.numpy()) for k, v in tsd.items()})  # type: ignore[attr-defined]
    idx = np.array([[1, 2, 6], [0, 3, 3]])
    yt, yi = tm(torch.tensor(idx)), im(idrak.tensor(idx))  # type: ignore[operator]
    # a float32 sum of 24 terms: relative error against the sum of |terms|, not the sum
    np.testing.assert_allclose(float(yi.item()), float(yt.item()), rtol=1e-5, atol=1e-5)
    assert len(list(im.parameters())) == len(list(tm.parameters()))  # type: ignore[attr-defined]


def test_module_dict_behaviour() -> None:
    d = nn.ModuleDict([("a", nn.Linear(2, 2))])
    d["b"] = nn.ReLU()
    d.update({"c": nn.Tanh()})
    assert d.keys() == ["a", "b", "c"] and "b" in d and len(d) == 3
    assert d.a is d["a"]
    assert isinstance(d.pop("b"), nn.ReLU) and list(d) == ["a", "c"]
    del d["c"]
    assert list(d) == ["a"]
    with pytest.raises(KeyError, match="keys"):
        d["zz"]
    with pytest.raises(TypeError, match="Module"):
        d["x"] = 3
    d.clear()
    assert len(d) == 0


def test_parameter_containers() -> None:
    pl = nn.ParameterList([idrak.zeros(2), nn.Parameter(idrak.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl)  # plain tensors are wrapped
    assert pl[0].requires_grad and list(pl.state_dict()) == ["0", "1"]
    pl.append(idrak.zeros(1))
    assert len(pl) == 3 and len(list(pl.parameters())) == 3
    pd = nn.ParameterDict({"w": idrak.zeros(2, 2)})
    pd["b"] = idrak.ones(2)
    assert isinstance(pd["b"], nn.Parameter) and list(pd.state_dict()) == ["w", "b"]
    assert pd.pop("w").shape == (2, 2) and list(pd) == ["b"]
    with pytest.raises(KeyError, match="no parameter"):
        pd["w"]
    with pytest.raises(IndexError):
        pl[5]
