"""Module, Net and Pipeline: the seeds' hackability workflow (swap, freeze, reset, hooks, ``>>``,
``net["fc1"]["fn"] = ...``), state dicts, and small models that train on every backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import idrak
import idrak.runtime.plugins
from idrak import nn, optim
from idrak.nn import functional as F

BACKENDS = idrak.runtime.plugins.available_backends()


@pytest.fixture(params=BACKENDS)
def dev(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _mlp_net() -> nn.Net:
    net = nn.Net()
    net.add("fc1", nn.linear(4, 16)).add("act", idrak.relu).add("fc2", nn.linear(16, 3))
    return net


def _blobs(dev: str, n: int = 64) -> tuple[idrak.Tensor, idrak.Tensor]:
    r = np.random.default_rng(0)
    y = r.integers(0, 3, n)
    centers = np.array([[2.0, 0, 0, 1], [-2.0, 1, 0, 0], [0, -2.0, 1, -1]])
    x = centers[y] + 0.5 * r.standard_normal((n, 4))
    return idrak.tensor(x, dtype="float32", device=dev), idrak.tensor(y, device=dev)


def _train(
    model: nn.Module,
    x: idrak.Tensor,
    y: idrak.Tensor,
    steps: int,
    opt: Any = None,
    lr: float = 0.05,
) -> list[float]:
    opt = opt or optim.Adam(model.params, lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


# Net ---------------------------------------------------------------------------------------------
def test_net_is_a_dict_of_layers(dev: str) -> None:
    net = _mlp_net().to(device=dev)
    assert list(net) == ["fc1", "act", "fc2"] and len(net) == 3 and "act" in net
    assert [k for k, _ in net.items()] == net.keys()
    assert isinstance(net["fc1"], nn.Linear) and net.fc1 is net["fc1"]
    assert list(net.params) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    x = idrak.randn(5, 4, device=dev)
    expect = net["fc2"](net["fc1"](x).relu())
    np.testing.assert_allclose(net(x).numpy(), expect.numpy(), rtol=1e-6)
    old = net["fc2"]
    net["fc2"] = nn.Linear(16, 7).to(device=dev)  # swap in place: position kept
    assert list(net) == ["fc1", "act", "fc2"] and net(x).shape == (5, 7)
    assert all(p is not old.weight for p in net.params.values())
    del net["act"]
    assert "act" not in net and len(net) == 2
    with pytest.raises(KeyError, match="'fc1' already exists"):
        net.add("fc1", nn.Identity())
    with pytest.raises(KeyError, match="no layer 'nope'"):
        net["nope"]
    with pytest.raises(TypeError, match="callable"):
        net["x"] = 3


def test_net_forward_function(dev: str) -> None:
    def twice(net: nn.Net, x: idrak.Tensor) -> idrak.Tensor:
        return net["fc"](net["fc"](x))

    net = nn.Net({"fc": nn.Linear(3, 3)}, forward=twice).to(device=dev)
    x = idrak.randn(2, 3, device=dev)
    np.testing.assert_allclose(net(x).numpy(), net["fc"](net["fc"](x)).numpy(), rtol=1e-6)
    assert net["fn"] is twice
    net.forward = lambda n, x: x * 0  # the seed's spelling: net.forward = fn(net, x)
    assert float(net(x).abs().sum().item()) == 0
    net["fn"] = None  # back to the sequential default
    np.testing.assert_allclose(net(x).numpy(), net["fc"](x).numpy(), rtol=1e-6)


def test_replace_a_layers_fn_the_seed_way(dev: str) -> None:
    net = _mlp_net().to(device=dev)
    x = idrak.randn(3, 4, device=dev)
    before = net(x).numpy()
    seen = []

    def custom_linear(layer: nn.Linear, x: idrak.Tensor) -> idrak.Tensor:
        seen.append(layer)
        return x @ layer.weight.T + layer.bias * 2  # a different computation, same weights

    net["fc1"]["fn"] = custom_linear
    assert net["fc1"]["fn"] is custom_linear and net["fc1"].fn is custom_linear
    out = net(x)
    assert seen == [net["fc1"]]
    fc1, fc2 = net["fc1"], net["fc2"]
    np.testing.assert_allclose(
        out.numpy(), fc2((x @ fc1.weight.T + fc1.bias * 2).relu()).numpy(), rtol=1e-6
    )
    out.sum().backward()  # gradients flow through the custom function
    assert fc1.weight.grad is not None
    assert "fn=" in repr(net) and "custom_linear" in repr(net)
    del fc1["fn"]  # back to the class's forward (fc1["fn"] = None does the same)
    np.testing.assert_allclose(net(x).numpy(), before, rtol=1e-6)


def test_every_layer_has_a_replaceable_fn() -> None:
    layers = [
        nn.Linear(2, 2),
        nn.Conv2d(1, 1, 1),
        nn.BatchNorm1d(2),
        nn.LayerNorm(2),
        nn.GroupNorm(1, 2),
        nn.Embedding(3, 2),
        nn.ReLU(),
        nn.GELU(),
        nn.Dropout(),
        nn.Flatten(),
        nn.Identity(),
        nn.MaxPool2d(1),
        nn.Softmax(),
        nn.Net(),
        nn.Pipeline(),
    ]
    for layer in layers:
        default = layer["fn"]
        assert default is type(layer).forward
        layer["fn"] = lambda m, x: "hacked"
        assert layer(idrak.zeros(2, 2)) == "hacked"
        layer["fn"] = None
        assert layer["fn"] is default


# Pipeline --------------------------------------------------------------------------------------
def test_rshift_and_pipeline_are_equal(dev: str) -> None:
    a, b, c = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)
    p1, p2 = a >> b >> c, nn.Pipeline(a, b, c)
    assert p1 == p2 and isinstance(p1, nn.Pipeline) and len(p1) == 3
    assert (a >> (b >> c)) == p2 and nn.Sequential(a, b, c) == p2 and nn.Sequential is nn.Pipeline
    assert p1 != nn.Pipeline(a, b, nn.Linear(8, 2))
    assert list(p1.params) == list(p2.params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = idrak.randn(3, 4)
    np.testing.assert_array_equal(p1(x).numpy(), p2(x).numpy())
    p3 = p1 >> idrak.tanh  # pipeline >> callable
    p4 = (lambda t: t * 2) >> a  # callable >> module
    assert len(p3) == 4 and p3[-1] is idrak.tanh and len(p4) == 2 and p4[1] is a
    np.testing.assert_allclose(p4(x).numpy(), a(x * 2).numpy(), rtol=1e-6)


def test_pipeline_indexing_slicing_and_editing() -> None:
    layers = [nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)]
    p = nn.Pipeline(*layers)
    assert p[0] is layers[0] and p[-1] is layers[-1]
    head = p[:3]
    assert isinstance(head, nn.Pipeline) and head.steps == layers[:3]
    assert head.params["0.weight"] is p.params["0.weight"]  # shared, not copied
    new = nn.Linear(4, 8)
    p[0] = new
    assert p[0] is new and p.params["0.weight"] is new.weight
    p.append(nn.Softmax(-1)).insert(0, nn.Identity())
    assert len(p) == 7 and isinstance(p[0], nn.Identity)
    p.extend([nn.Identity(), idrak.relu])
    assert len(p) == 9 and next(iter(p.params)) == "1.weight"
    del p[0]
    assert p[0] is new and p.pop() is idrak.relu
    assert p(idrak.randn(2, 4)).shape == (2, 2)
    with pytest.raises(IndexError, match="step 20 out of range"):
        p[20]
    with pytest.raises(TypeError, match="step 1"):
        nn.Pipeline(nn.ReLU(), 42)


def test_any_callable_is_a_step_and_sees_activations() -> None:
    seen = []

    def spy(x: idrak.Tensor) -> idrak.Tensor:
        seen.append(x.shape)
        return x

    p = nn.Linear(4, 6) >> spy >> idrak.relu >> nn.Linear(6, 1)
    p(idrak.randn(3, 4))
    assert seen == [(3, 6)]
    assert "spy" in repr(p)


# hackability on any Module -----------------------------------------------------------------------
def test_swap_layer_mid_training_and_keep_training(dev: str) -> None:
    x, y = _blobs(dev)
    for model in (
        _mlp_net().to(device=dev),
        (nn.Linear(4, 16) >> nn.ReLU() >> nn.Linear(16, 3)).to(device=dev),
    ):
        idrak.manual_seed(0)
        first = _train(model, x, y, 10)
        key = "fc2" if isinstance(model, nn.Net) else 2
        model[key] = nn.Linear(16, 3).to(device=dev)  # a fresh head
        kept = dict(model.params)
        after = _train(model, x, y, 25)  # new optimizer over the new params
        assert after[-1] < after[0] * 0.5 and first[-1] < first[0]
        assert all(model.params[k] is v for k, v in kept.items())


def test_freeze_keeps_weights_while_others_train(dev: str) -> None:
    x, y = _blobs(dev)
    net = _mlp_net().to(device=dev)
    net["fc1"].freeze()
    assert set(net.params) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert not net.params["fc1.weight"].requires_grad  # frozen params stay params
    assert "frozen" in repr(net)
    before = {k: v.numpy().copy() for k, v in net.params.items()}
    _train(net, x, y, 5)
    for k, v in net.params.items():
        changed = not np.array_equal(v.numpy(), before[k])
        assert changed == k.startswith("fc2"), k
    net["fc1"].unfreeze()
    assert net.params["fc1.weight"].requires_grad
    pipe = nn.Linear(4, 3) >> nn.Linear(3, 3)
    pipe[0].freeze()
    assert pipe[0].params[0].requires_grad is False  # the Axon seed's spelling


def test_reset_parameters_changes_every_parameter(dev: str) -> None:
    cnn = (
        nn.Conv2d(1, 4, 3, padding=1)
        >> nn.BatchNorm2d(4)
        >> nn.ReLU()
        >> nn.Flatten()
        >> nn.Linear(4 * 4 * 4, 3)
        >> nn.LayerNorm(3)
        >> nn.GroupNorm(1, 3)
    )
    emb = nn.Net().add("emb", nn.Embedding(5, 3)).add("head", cnn)
    emb.to(device=dev)
    for p in emb.parameters():  # move every parameter off its initial value first
        with idrak.no_grad():
            p.assign(p + 0.5)
    before = {k: v.numpy().copy() for k, v in emb.params.items()}
    emb.reset_parameters()
    for k, v in emb.params.items():
        assert not np.array_equal(v.numpy(), before[k]), f"{k} was not reset"
    assert float(emb["head"][1].running_var.sum().item()) == 4.0


def test_hooks_see_and_replace_activations(dev: str) -> None:
    net = _mlp_net().to(device=dev)
    x = idrak.randn(2, 4, device=dev)
    log: list[Any] = []
    h1 = net["fc1"].register_forward_hook(lambda m, args, out: log.append(out.shape))
    h2 = net["fc2"].register_forward_hook(lambda m, args, out: out * 0)
    h3 = net["fc1"].register_forward_pre_hook(lambda m, args: args[0] * 2)
    out = net(x)
    assert log == [(2, 16)] and float(out.abs().sum().item()) == 0
    h2.remove()
    h3.remove()
    np.testing.assert_allclose(net(x).numpy(), net["fc2"](net["fc1"](x).relu()).numpy(), rtol=1e-6)
    h1.remove()
    net(x)
    assert len(log) == 3  # two forwards above with the hook, none after removal


def test_module_registry_and_state_dict(dev: str) -> None:
    model = (nn.Conv2d(2, 3, 3) >> nn.BatchNorm2d(3) >> nn.Flatten()).to(device=dev)
    assert list(model.buffers) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert len(list(model.buffers())) == 3  # PyTorch's call spelling works too
    sd = model.state_dict()
    assert list(sd) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2"]
    assert len(list(model.children())) == 3
    names = []
    model.apply(lambda m: names.append(type(m).__name__))
    assert names == ["Conv2d", "BatchNorm2d", "Flatten", "Pipeline"]
    assert not model.eval().training and not model[1].training
    assert model.train()[1].training
    model.double()
    assert model[0].weight.dtype == idrak.float64
    assert model[1].num_batches_tracked.dtype == idrak.int64  # non-floating buffers unchanged
    text = repr(model)
    assert "(0): Conv2d(2, 3, kernel_size=(3, 3)" in text and "weight (3, 2, 3, 3)" in text


def test_load_state_dict_errors_name_keys_and_shapes() -> None:
    a, b = nn.Linear(3, 2) >> nn.Linear(2, 2), nn.Linear(3, 2) >> nn.Linear(2, 2)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b[0].weight.numpy(), a[0].weight.numpy())
    sd = a.state_dict()
    sd["0.weight"] = idrak.zeros(5, 3)
    with pytest.raises(
        nn.StateDictError,
        match=r"0\.weight: checkpoint has shape \(5, 3\), "
        r"the model \(2, 3\)",
    ):
        b.load_state_dict(sd)
    sd = a.state_dict()
    del sd["1.bias"]
    sd["2.weight"] = idrak.zeros(1)
    with pytest.raises(
        nn.StateDictError,
        match=r"missing keys: 1\.bias[\s\S]*unexpected keys: "
        r"2\.weight",
    ):
        b.load_state_dict(sd)
    missing, unexpected = b.load_state_dict(sd, strict=False)
    assert missing == ["1.bias"] and unexpected == ["2.weight"]
    w = b[0].weight
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})  # arrays work too
    assert b[0].weight is w  # the same Parameter object, new value


def test_module_attribute_rules() -> None:
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"nn\.Parameter"):
        m.weight = idrak.zeros(2, 2)
    with pytest.raises(KeyError, match="no parameter, buffer or child 'nope'"):
        m["nope"]
    assert m["weight"] is m.weight
    with pytest.raises(AttributeError, match="super"):

        class Bad(nn.Module):
            def __init__(self) -> None:
                self.w = nn.Parameter(idrak.zeros(1))

        Bad()
    p = nn.Parameter(idrak.zeros(3))
    assert isinstance(p, idrak.Tensor) and p.requires_grad and p.is_leaf
    assert type(p * 2) is idrak.Tensor
    m.zero_grad()
    m(idrak.ones(1, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert float(m.weight.grad.abs().sum().item()) == 0
    m.zero_grad()
    assert m.weight.grad is None


def test_deepcopy_gives_an_independent_model(dev: str) -> None:
    import copy

    model = (nn.Linear(3, 4) >> nn.BatchNorm1d(4)).to(device=dev)
    model[0]["fn"] = lambda layer, x: x @ layer.weight.T
    twin = copy.deepcopy(model)
    assert twin[0] is not model[0] and twin[0].weight is not model[0].weight
    assert isinstance(twin[0].weight, nn.Parameter) and twin[0]["fn"] is model[0]["fn"]
    x = idrak.randn(5, 3, device=dev)
    np.testing.assert_array_equal(twin.eval()(x).numpy(), model.eval()(x).numpy())
    _train(twin.train(), x, idrak.tensor([0, 1, 2, 3, 0], device=dev), 2)
    assert not np.array_equal(twin[0].weight.numpy(), model[0].weight.numpy())
    assert int(model[1].num_batches_tracked.item()) == 0


def test_state_dict_interoperates_with_torch() -> None:
    torch = pytest.importorskip("torch")
    model = nn.Linear(4, 8) >> nn.ReLU() >> nn.BatchNorm1d(8) >> nn.Linear(8, 2)
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2)
    )
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(
        model(idrak.tensor(x)).numpy(),
        tmodel(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-5,
    )


# small models train -----------------------------------------------------------------------------
def test_mlp_trains_as_net_and_as_pipeline(dev: str) -> None:
    x, y = _blobs(dev)
    idrak.manual_seed(0)
    for model in (_mlp_net(), nn.Linear(4, 16) >> nn.ReLU() >> nn.Linear(16, 3)):
        losses = _train(model.to(device=dev), x, y, 30)
        assert losses[-1] < 0.25 * losses[0], losses


def _images(dev: str, n: int = 32) -> tuple[idrak.Tensor, idrak.Tensor]:
    """Two classes: a bright vertical or horizontal bar on noise, 8x8 pixels."""
    r = np.random.default_rng(1)
    y = r.integers(0, 2, n)
    x = 0.3 * r.standard_normal((n, 1, 8, 8))
    for i, c in enumerate(y):
        pos = r.integers(1, 7)
        if c:
            x[i, 0, :, pos] += 1.5
        else:
            x[i, 0, pos, :] += 1.5
    return idrak.tensor(x, dtype="float32", device=dev), idrak.tensor(y, device=dev)


def test_small_cnn_trains_as_net_and_as_pipeline(dev: str) -> None:
    x, y = _images(dev)
    idrak.manual_seed(0)
    pipe = (
        nn.Conv2d(1, 4, 3, padding=1)
        >> nn.BatchNorm2d(4)
        >> nn.ReLU()
        >> nn.MaxPool2d(2)
        >> nn.Conv2d(4, 8, 3, padding=1)
        >> nn.ReLU()
        >> nn.AdaptiveAvgPool2d(1)
        >> nn.Flatten()
        >> nn.Linear(8, 2)
    )
    net = nn.Net()
    net.add("conv", nn.conv2d(1, 4, 3, padding=1)).add("bn", nn.batch_norm2d(4))
    net.add("act", idrak.relu).add("pool", nn.AvgPool2d(2)).add("flat", nn.Flatten())
    net.add("drop", nn.Dropout(0.1)).add("head", nn.linear(4 * 4 * 4, 2))
    for model in (pipe, net):
        losses = _train(model.to(device=dev), x, y, 30, lr=0.05)
        assert losses[-1] < 0.3 * losses[0], losses
        model.eval()
        acc = float((model(x).argmax(1) == y).cast("float32").mean().item())
        assert acc > 0.9


def test_docs_models_page_snippets_run() -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "models.md"
    if not page.exists():
        pytest.skip("docs/models.md is not in this checkout")
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert len(blocks) >= 8
    namespace: dict[str, Any] = {}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/models.md block {i}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message names the block
            raise AssertionError(f"docs/models.md code block {i} failed: {e!r}\n{code}") from e
