"""Config, build_net, Runner, callbacks, checkpoints and History (idrak.train)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import idrak
from idrak import nn
from idrak.data import DataLoader, TensorDataset
from idrak.metrics import Accuracy, F1Score
from idrak.train import (
    Callback,
    Config,
    ConfigError,
    EarlyStopping,
    Experiment,
    History,
    LambdaCallback,
    ModelCheckpoint,
    Runner,
    build_net,
    register_block,
)
from idrak.train.state import read_checkpoint


# Config ----------------------------------------------------------------------------------------
class TrainingConfig:  # the Idrak seed's config class
    in_channels = 3
    base_channels = 64
    block_type = "ResBlock"
    learning_rate = 1e-3
    batch_size = 128
    epochs = 10
    optimizer = "Adam"

    def not_a_setting(self) -> None: ...


@dataclasses.dataclass
class Schema:
    learning_rate: float = 1e-3
    hidden_sizes: list[int] = dataclasses.field(default_factory=lambda: [256, 128])
    optimizer: Literal["Adam", "SGD"] = "Adam"
    scheduler: str | None = None


SEED_KEYS = {"in_channels", "base_channels", "block_type", "learning_rate", "batch_size",
             "epochs", "optimizer"}  # fmt: skip


def test_config_from_plain_class_instance_dict_and_kwargs() -> None:
    a = Config.from_object(TrainingConfig)
    assert set(a) == SEED_KEYS and a.learning_rate == 1e-3 and a["epochs"] == 10
    inst = TrainingConfig()
    inst.epochs = 3  # type: ignore[misc]
    b = Config.from_object(inst)
    assert b.epochs == 3 and b.batch_size == 128
    assert Config.from_object(a.to_dict()) == a == Config(**a.to_dict())
    assert Config({"x": 1}, y=2) == {"x": 1, "y": 2}
    with pytest.raises(TypeError, match="takes a class"):
        Config.from_object(3)


def test_config_from_dataclass_keeps_schema() -> None:
    c = Config.from_object(Schema(learning_rate=0.1))
    assert c.schema is Schema and c.hidden_sizes == [256, 128]
    assert Config.from_object(Schema).learning_rate == 1e-3
    with pytest.raises(ConfigError, match="'learning_rate': expected float, got str 'x'"):
        Config.from_object(Schema(learning_rate="x"))  # type: ignore[arg-type]
    c.learning_rate = "fast"
    with pytest.raises(ConfigError, match="learning_rate"):
        c.validate()


def test_config_access_and_errors() -> None:
    c = Config(learning_rate=1e-3, model={"hidden": 256, "sub": {"k": [1, 2]}})
    assert c.model.hidden == 256 and c.model.sub.k == [1, 2]
    c.batch_size = 32
    c["epochs"] = 2
    assert c.to_dict() == {"learning_rate": 1e-3, "model": {"hidden": 256, "sub": {"k": [1, 2]}},
                           "batch_size": 32, "epochs": 2}  # fmt: skip
    with pytest.raises(AttributeError, match="did you mean 'learning_rate'"):
        _ = c.lerning_rate
    with pytest.raises(KeyError, match="no key 'nope'"):
        _ = c["nope"]
    with pytest.raises(ConfigError, match="non-empty strings"):
        c[3] = 1  # type: ignore[index]
    d = c.to_dict()
    d["model"]["hidden"] = 1  # a deep copy
    assert c.model.hidden == 256
    del c.epochs
    assert "epochs" not in c and c.get("epochs", 7) == 7
    for clone in (copy.copy(c), copy.deepcopy(c), pickle.loads(pickle.dumps(c))):
        assert clone == c and clone is not c
    s = Config.from_object(Schema())
    assert pickle.loads(pickle.dumps(s)).schema is Schema
    with pytest.raises(AttributeError, match="config\\['copy'\\] = "):
        c.copy = 1  # type: ignore[method-assign]


def test_config_toml_round_trip(tmp_path: Path) -> None:
    c = Config(
        name='quote " backslash \\ newline \n tab \t unicode é \x01',
        lr=1e-5, big=1e300, neg=-0.5, whole=3.0, inf=math.inf, n=-42, flag=True, off=False,
        sizes=[256, 128], mixed=[1, "a", 2.5, [True]], empty=[],
        model={"hidden": 64, "deep": {"x": 1, "y": [1.5]}},
        layers=[{"type": "Linear", "in": 3}, {"type": "ReLU"}],
        **{"weird key.x": 1, "inline": [{"a": 1}, 2]},
    )  # fmt: skip
    text = c.to_toml()
    back = Config.from_toml(text)
    assert back == c, text
    assert isinstance(back.whole, float) and isinstance(back.n, int)
    c.save(tmp_path / "c.toml")
    assert Config.load(tmp_path / "c.toml") == c
    assert list(tmp_path.iterdir()) == [tmp_path / "c.toml"]  # no temp file left behind


_scalars = (
    st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.text(max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=6))
def test_config_toml_round_trip_property(data: dict[str, Any]) -> None:
    """Any tree of TOML-representable values survives to_toml -> tomllib unchanged."""
    c = Config(data)
    assert Config.from_toml(c.to_toml()) == c


def test_config_toml_keys_with_control_characters_are_quoted() -> None:
    # regression: a key ending in a newline was written bare ("$" matches before a final "\n")
    for data in ({"0\n": {}}, {"0\n": []}, {"a\nb": 1}):
        c = Config(data)
        assert Config.from_toml(c.to_toml()) == c


def test_config_json_round_trip(tmp_path: Path) -> None:
    c = Config(lr=1e-3, opt=None, sizes=[1, 2], model={"a": {"b": "c"}})
    path = c.save(tmp_path / "sub" / "c.json")
    assert json.loads(path.read_text())["opt"] is None
    assert Config.load(path) == c
    assert Config.from_json(c.to_json()) == c


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="None, which TOML cannot hold"):
        Config(scheduler=None).to_toml()
    with pytest.raises(ConfigError, match=r"'model.f'.*cannot be written as TOML"):
        Config(model={"f": object()}).to_toml()
    with pytest.raises(ConfigError, match="64-bit"):
        Config(n=2**64).to_toml()
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        Config(a=1).save(tmp_path / "c.yaml")
    bad = tmp_path / "bad.toml"
    bad.write_text("a = = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML"):
        Config.load(bad)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must be an object"):
        Config.load(tmp_path / "list.json")
    with pytest.raises(FileNotFoundError):
        Config.load(tmp_path / "missing.toml")


def test_config_validate_reports_every_problem() -> None:
    c = Config(learning_rate="fast", hiden_sizes=[1], optimizer="Lion", scheduler=3)
    with pytest.raises(ConfigError) as info:
        c.validate(Schema)
    msg = str(info.value)
    assert "key 'learning_rate': expected float, got str 'fast'" in msg
    assert "unknown key 'hiden_sizes'; did you mean 'hidden_sizes'?" in msg
    assert "key 'optimizer': expected Literal['Adam', 'SGD'], got str 'Lion'" in msg
    assert "key 'scheduler': expected str | None, got int 3" in msg
    with pytest.raises(ConfigError, match=r"key 'hidden_sizes\[1\]': expected int, got str"):
        Config(hidden_sizes=[1, "2"]).validate(Schema)
    Config(learning_rate=1, extra=1).validate(Schema, allow_unknown=True)  # int is a float
    with pytest.raises(ConfigError, match="expected int, got bool"):
        Config(n=True).validate({"n": int})

    @dataclasses.dataclass
    class Required:
        epochs: int

    with pytest.raises(ConfigError, match="missing required key 'epochs'"):
        Config().validate(Required)
    with pytest.raises(ConfigError, match="has no default"):
        Config.from_object(Required)


# build_net -------------------------------------------------------------------------------------
def test_build_net_mlp_and_convnet() -> None:
    idrak.manual_seed(0)
    mlp = build_net(Config(block_type="MLP"))
    assert isinstance(mlp, nn.Net) and list(mlp) == ["flatten", "fc1", "act1", "fc2", "act2",
                                                     "head"]  # fmt: skip
    assert sum(p.numel() for p in mlp.parameters()) == 784 * 256 + 256 + 256 * 128 + 128 + 1290
    assert mlp(idrak.randn(2, 1, 28, 28)).shape == (2, 10)
    cnn = build_net({"block_type": "cnn", "num_classes": 5})
    assert cnn["fc"].in_features == 64 * 5 * 5 and cnn(idrak.randn(2, 1, 28, 28)).shape == (2, 5)
    tanh = build_net(Config(block_type="MLP", in_features=6, hidden_sizes=[4], activation="tanh",
                            batch_norm=True, dropout=0.1, num_classes=3))  # fmt: skip
    assert list(tanh) == ["flatten", "fc1", "bn1", "act1", "drop1", "head"]
    with pytest.raises(ConfigError, match="too small"):
        build_net(Config(block_type="ConvNet", image_size=6))


def test_build_net_from_layers_and_registry() -> None:
    cfg = Config(layers=[
        {"type": "Linear", "name": "fc1", "in_features": 4, "out_features": 8},
        {"type": "relu"},
        {"type": "Linear", "in_features": 8, "out_features": 2},
    ])  # fmt: skip
    net = build_net(cfg)
    assert list(net) == ["fc1", "relu1", "linear2"] and net(idrak.randn(3, 4)).shape == (3, 2)
    net2 = build_net(Config.from_toml(cfg.to_toml()))  # the same net from its TOML
    assert list(net2) == list(net)
    with pytest.raises(KeyError, match="unknown layer type 'Nope'"):
        build_net(Config(layers=[{"type": "Nope"}]))
    with pytest.raises(TypeError, match=r"layers\[0\] \(Linear\)"):
        build_net(Config(layers=[{"type": "Linear", "inn": 3}]))
    with pytest.raises(ConfigError, match="give 'block_type'"):
        build_net(Config(lr=1))
    with pytest.raises(KeyError, match=r"unknown block_type 'Transformer'.*registered"):
        build_net(Config(block_type="Transformer"))

    @register_block("TestTiny", overwrite=True)
    def tiny(config: Config) -> nn.Net:
        return nn.Net().add("fc", nn.Linear(config.in_features, config.num_classes))

    assert build_net(Config(block_type="testtiny", in_features=3, num_classes=2))["fc"]
    with pytest.raises(KeyError, match="already registered"):
        register_block("TestTiny")(lambda c: None)
    runner = Runner(config=Config(block_type="TestTiny", in_features=3, num_classes=2))
    assert isinstance(runner.net["fc"], nn.Linear)  # the Net builds itself from the config


def test_build_net_resblock() -> None:
    pytest.importorskip("idrak.factories")
    net = build_net(Config(Config.from_object(TrainingConfig), base_channels=8, num_blocks=1))
    assert net(idrak.randn(2, 3, 8, 8)).shape == (2, 10)


# Runner helpers --------------------------------------------------------------------------------
def blobs(n: int = 240, seed: int = 0) -> TensorDataset:
    """Three linearly separable 2-d classes: float32 (n, 2) and int64 (n,)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 2.0], [-2.0, -2.0]])
    x = centers[y] + 0.5 * rng.normal(size=(n, 2))
    return TensorDataset(x.astype(np.float32), y.astype(np.int64))


def small_net(seed: int = 0) -> nn.Net:
    idrak.manual_seed(seed)
    return nn.Net().add("fc1", nn.Linear(2, 16)).add("act", nn.ReLU()).add("out", nn.Linear(16, 3))


def ce_step(state: Any) -> dict[str, Any]:
    x, y = state.batch
    logits = state.net(x)
    return {"loss": nn.functional.cross_entropy(logits, y), "y_pred": logits}


def cfg(**kw: Any) -> Config:
    base = {"batch_size": 32, "epochs": 2, "optimizer": "SGD", "learning_rate": 0.1, "seed": 0}
    return Config({**base, **kw})


def strip_times(h: History) -> dict[str, list[float]]:
    return {k: v for k, v in h.items() if k != "epoch_time"}


# Runner ----------------------------------------------------------------------------------------
def test_runner_trains_and_records_history() -> None:
    runner = Runner(config=cfg(epochs=4, optimizer="adam", learning_rate=0.05),
                    model=small_net(), quiet=True)  # fmt: skip
    hist = runner.train(ce_step, blobs(), blobs(seed=1), metrics=[Accuracy(), F1Score()])
    assert hist.epochs == [0, 1, 2, 3] and runner.epoch == 4 and runner.step == 4 * 8
    assert set(hist) == {"train_loss", "train_accuracy", "train_f1", "eval_loss",
                         "eval_accuracy", "eval_f1", "lr", "epoch_time"}  # fmt: skip
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["eval_accuracy"][-1] > 0.95
    assert hist.best("eval_loss")[1] == min(hist["eval_loss"])
    assert hist["lr"] == [0.05] * 4
    assert type(runner.optimizer).__name__ == "Adam"


def test_runner_state_and_modes() -> None:
    seen: list[tuple[bool, bool, bool, int, int, int]] = []

    def step(state: Any) -> dict[str, Any]:
        seen.append((state.training, state.net.training, idrak.is_grad_enabled(), state.epoch,
                     state.step, state.batch[0].shape[0]))  # fmt: skip
        assert state.config.batch_size == 100 and state.runner is runner
        return ce_step(state)

    net = small_net()
    net.add("drop", nn.Dropout(0.5))
    runner = Runner(config=cfg(batch_size=100, epochs=1), model=net, quiet=True)
    runner.train(step, blobs(240), blobs(50))
    train_calls = [s for s in seen if s[0]]
    assert [s[5] for s in train_calls] == [100, 100, 40]  # Dataset wrapped with batch_size
    assert [s[4] for s in train_calls] == [0, 1, 2] and all(s[1] and s[2] for s in train_calls)
    eval_calls = [s for s in seen if not s[0]]
    assert eval_calls and all(not s[1] and not s[2] for s in eval_calls)  # eval mode, no_grad
    assert net.training  # restored


def test_runner_dict_batches_extra_outputs_and_target() -> None:
    class Dicts:
        def __init__(self) -> None:
            self.data = blobs(64)

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, i: int) -> dict[str, Any]:
            x, y = self.data[i]
            return {"x": x, "y": y}

    def step(state: Any) -> dict[str, Any]:
        logits = state.net(state.batch["x"])
        loss = nn.functional.cross_entropy(logits, state.batch["y"])
        return {"loss": loss, "y_pred": logits, "double": loss * 2, "const": 3.0}

    runner = Runner(config=cfg(epochs=1), model=small_net(), quiet=True)
    h = runner.train(step, Dicts(), metrics=[Accuracy()])
    assert h["train_double"][0] == pytest.approx(2 * h["train_loss"][0], rel=1e-5)
    assert h["train_const"] == [3.0] and 0 <= h["train_accuracy"][0] <= 1

    def own_target(state: Any) -> dict[str, Any]:
        out = step(state)
        return {**out, "target": idrak.zeros(state.batch["y"].shape[0], dtype=idrak.int64)}

    h2 = Runner(config=cfg(epochs=1, learning_rate=0.0), model=small_net(), quiet=True).train(
        own_target, Dicts(), metrics=[Accuracy()])  # fmt: skip
    preds = Runner(config=cfg(), model=small_net(), quiet=True).predict(blobs(64))
    expected = float((preds.numpy().argmax(1) == 0).mean())
    assert h2["train_accuracy"][0] == pytest.approx(expected)


def test_runner_step_errors() -> None:
    r = Runner(config=cfg(epochs=1), model=small_net(), quiet=True)
    with pytest.raises(ValueError, match="returned no 'loss'"):
        r.train(lambda s: {"y_pred": s.net(s.batch[0])}, blobs())
    with pytest.raises(ValueError, match=r"scalar Tensor, got shape \(32, 3\)"):
        r.train(lambda s: {"loss": s.net(s.batch[0])}, blobs())
    with pytest.raises(TypeError, match="must return a dict"):
        r.train(lambda s: 3.0, blobs())
    with pytest.raises(ValueError, match="does not require grad"):
        r.train(lambda s: {"loss": s.net(s.batch[0]).detach().sum()}, blobs())
    with pytest.raises(ValueError, match="need 'y_pred'"):
        r.train(lambda s: ce_step(s)["loss"], blobs(), metrics=[Accuracy()])
    with pytest.raises(ValueError, match="unique"):
        r.train(ce_step, blobs(), metrics=[Accuracy(), Accuracy()])
    with pytest.raises(TypeError, match="training_step_fn must be callable"):
        r.train(None, blobs())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Callback instances"):
        Runner(model=small_net(), callbacks=[print])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"nn.Module"):
        Runner(model=object())
    h = r.train(lambda s: ce_step(s)["loss"], blobs())  # a bare loss Tensor is fine
    assert "train_loss" in h
    with pytest.warns(RuntimeWarning, match="1 of 1 epochs are done already"):
        r.train(ce_step, blobs())
    assert r.train(ce_step, blobs(), epochs=2).num_epochs == 2  # epochs counts the whole run
    no_loss = r.evaluate(blobs(), [Accuracy()], step_fn=lambda s: {"y_pred": s.net(s.batch[0])})
    assert set(no_loss) == {"accuracy"}  # evaluation may skip the loss


def test_runner_device_and_prebatched_numpy() -> None:
    class Batches:  # re-iterable, pre-batched NumPy data (no __getitem__: not a Dataset)
        def __iter__(self) -> Any:
            x, y = blobs(64).arrays
            return iter([(x[:32], y[:32]), (x[32:], y[32:])])

    devices: list[Any] = []

    def step(state: Any) -> dict[str, Any]:
        devices.append((type(state.batch[0]).__name__, state.batch[0].device, state.device))
        return ce_step(state)

    # jit=False: the step records what Python sees on every batch (a jitted step runs in
    # Python only when it is traced)
    r = Runner(config=cfg(epochs=2), model=small_net(), device="cpu", quiet=True, jit=False)
    h = r.train(step, Batches())
    assert h.num_epochs == 2 and len(devices) == 4
    assert all(kind == "Tensor" and d == idrak.device("cpu") == sd for kind, d, sd in devices)
    with pytest.raises(ValueError, match="yielded no batches in epoch 2"):
        Runner(config=cfg(epochs=2), model=small_net(), quiet=True).train(
            ce_step, iter(list(Batches()))
        )


def test_runner_optimizer_from_config() -> None:
    for name, cls in [("sgd", "SGD"), ("AdamW", "AdamW"), ("ADAM", "Adam")]:
        r = Runner(config=cfg(optimizer=name, epochs=1), model=small_net(), quiet=True)
        r.train(ce_step, blobs(32))
        assert type(r.optimizer).__name__ == cls
    r = Runner(config=cfg(optimizer="SGD", momentum=0.9, weight_decay=1e-4), model=small_net())
    r.train(ce_step, blobs(32), epochs=1)
    assert r.optimizer.param_groups[0]["momentum"] == 0.9
    with pytest.raises(ConfigError, match=r"'Adagrad2' is not an idrak.optim optimizer"):
        Runner(config=cfg(optimizer="Adagrad2"), model=small_net()).train(ce_step, blobs())
    with pytest.raises(ConfigError, match="Adam does not take 'momentum'"):
        Runner(config=cfg(optimizer="Adam", momentum=0.9), model=small_net()).train(
            ce_step, blobs())  # fmt: skip
    own = idrak.optim.SGD(small_net().parameters(), lr=0.1)
    assert Runner(config=cfg(), model=small_net(), optimizer=own).optimizer is own


def test_runner_lr_scheduler_per_epoch_and_per_step() -> None:
    c = cfg(epochs=3, lr_scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.5})
    h = Runner(config=c, model=small_net(), quiet=True).train(ce_step, blobs(64))
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])
    c = cfg(epochs=2, lr_scheduler="steplr", lr_scheduler_interval="step",
            lr_scheduler_kwargs={"step_size": 1, "gamma": 0.5})  # fmt: skip
    r = Runner(config=c, model=small_net(), quiet=True)
    h = r.train(ce_step, blobs(64))  # 2 batches per epoch
    assert h["lr"] == pytest.approx([0.1, 0.025])
    sched = idrak.optim.lr_scheduler.StepLR(r.optimizer, step_size=1, gamma=0.1)
    r2 = Runner(config=cfg(epochs=2), model=r.model, optimizer=r.optimizer, lr_scheduler=sched,
                quiet=True)  # fmt: skip
    # a new scheduler starts from the groups' initial_lr, as in PyTorch
    assert r2.train(ce_step, blobs(64))["lr"] == pytest.approx([0.1, 0.01])
    with pytest.raises(ConfigError, match="'Warp' is not a scheduler"):
        Runner(config=cfg(lr_scheduler="Warp"), model=small_net()).train(ce_step, blobs())


def test_runner_gradient_clipping() -> None:
    norms: list[float] = []

    def record(runner: Runner, state: Any, logs: dict[str, float]) -> None:
        g = [p.grad.numpy() for p in runner.model.parameters() if p.grad is not None]
        norms.append(float(np.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in g))))

    r = Runner(config=cfg(epochs=1, grad_clip_norm=0.01), model=small_net(), quiet=True,
               callbacks=[LambdaCallback(on_batch_end=record)])  # fmt: skip
    r.train(ce_step, blobs(96))
    assert len(norms) == 3 and max(norms) <= 0.01 * (1 + 1e-4)
    with pytest.raises(ValueError, match="grad_clip_norm must be a number > 0"):
        Runner(config=cfg(grad_clip_norm=-1), model=small_net()).train(ce_step, blobs())


def test_callbacks_order_and_early_stopping() -> None:
    events: list[str] = []
    cb = LambdaCallback(
        on_train_begin=lambda r: events.append("train_begin"),
        on_epoch_begin=lambda r, e: events.append(f"epoch_begin{e}"),
        on_batch_end=lambda r, s, logs: events.append("batch"),
        on_epoch_end=lambda r, e, logs: events.append(f"epoch_end{e}"),
        on_train_end=lambda r, h: events.append("train_end"),
    )
    # learning rate 0: eval_loss never improves after epoch 0, so patience 1 stops after epoch 2
    stop = EarlyStopping(monitor="eval_loss", patience=1)
    r = Runner(config=cfg(epochs=10, learning_rate=0.0), model=small_net(), callbacks=[cb, stop],
               quiet=True)  # fmt: skip
    h = r.train(ce_step, blobs(64), blobs(32))
    assert h.num_epochs == 3 and stop.stopped_epoch == 2 and stop.best_epoch == 0
    assert events == ["train_begin", "epoch_begin0", "batch", "batch", "epoch_end0",
                      "epoch_begin1", "batch", "batch", "epoch_end1",
                      "epoch_begin2", "batch", "batch", "epoch_end2", "train_end"]  # fmt: skip
    with pytest.raises(KeyError, match=r"monitors 'eval_accuracy'.*recorded"):
        Runner(config=cfg(), model=small_net(), quiet=True,
               callbacks=[EarlyStopping("eval_accuracy")]).train(ce_step, blobs())  # fmt: skip
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")  # type: ignore[arg-type]


def test_early_stopping_restores_best_weights() -> None:
    class Worsen(Callback):  # push the weights away after the first epoch
        def on_epoch_end(self, runner: Runner, epoch: int, logs: dict[str, float]) -> None:
            for p in runner.model.parameters():
                p.assign(p + 1.0)

    stop = EarlyStopping("eval_loss", patience=0, restore_best_weights=True)
    r = Runner(config=cfg(epochs=5), model=small_net(), callbacks=[stop, Worsen()], quiet=True)
    h = r.train(ce_step, blobs(64), blobs(32))
    final = r.evaluate(blobs(32))["loss"]
    assert final == pytest.approx(h.best("eval_loss")[1], rel=1e-5)


def test_model_checkpoint(tmp_path: Path) -> None:
    pattern = str(tmp_path / "e{epoch:02d}-{eval_accuracy:.2f}.safetensors")
    ck = ModelCheckpoint(pattern, monitor="eval_accuracy", save_best_only=True)
    every = ModelCheckpoint(tmp_path / "last.safetensors", save_best_only=False)
    r = Runner(config=cfg(epochs=3, optimizer="Adam", learning_rate=0.05), model=small_net(),
               callbacks=[ck, every], quiet=True)  # fmt: skip
    h = r.train(ce_step, blobs(), blobs(seed=1), metrics=[Accuracy()])
    assert ck.best_path is not None and ck.best_path.exists() and ck.best_path.name.startswith("e")
    assert ck.best == max(h["eval_accuracy"]) and len(every.saved) == 3
    assert not list(tmp_path.glob("*.tmp"))
    saved = read_checkpoint(tmp_path / "last.safetensors")
    assert saved["epoch"] == 3 and saved["history"]["epochs"] == [0, 1, 2]
    with pytest.raises(KeyError, match="names 'nope'"):
        Runner(config=cfg(epochs=1), model=small_net(), quiet=True,
               callbacks=[ModelCheckpoint(tmp_path / "{nope}.st", save_best_only=False)]
               ).train(ce_step, blobs())  # fmt: skip


def test_checkpoint_resume_continues_the_same_history(tmp_path: Path) -> None:
    c = cfg(epochs=4, optimizer="Adam", learning_rate=0.01, batch_size=16,
            lr_scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.7})  # fmt: skip
    train, test = blobs(), blobs(seed=1)
    full = Runner(config=c, model=small_net(), quiet=True)
    h_full = full.train(ce_step, train, test, metrics=[Accuracy()])

    part = Runner(config=c, model=small_net(), quiet=True)
    part.train(ce_step, train, test, metrics=[Accuracy()], epochs=2)
    part.save_checkpoint(tmp_path / "ck.safetensors")

    fresh = Runner(config=c, model=small_net(seed=99), quiet=True)  # other init: weights restored
    h_res = fresh.train(ce_step, train, test, metrics=[Accuracy()],
                        resume_from=tmp_path / "ck.safetensors")  # fmt: skip
    assert h_res.epochs == [0, 1, 2, 3] and fresh.step == full.step
    a, b = strip_times(h_full), strip_times(h_res)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, err_msg=k)
    for (n1, p1), (_, p2) in zip(full.model.named_parameters(), fresh.model.named_parameters()):
        np.testing.assert_allclose(p1.numpy(), p2.numpy(), rtol=1e-5, atol=1e-6, err_msg=n1)

    again = Runner.resume(tmp_path / "ck.safetensors", model=small_net(seed=5), quiet=True)
    assert again.epoch == 2 and again.config == c
    h_again = again.train(ce_step, train, test, metrics=[Accuracy()])
    np.testing.assert_allclose(h_again["eval_loss"], h_full["eval_loss"], rtol=1e-5)


def test_checkpoint_errors(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "plain.safetensors"))
    r = Runner(config=cfg(), model=small_net(), quiet=True)
    with pytest.raises(ValueError, match="not a Runner checkpoint"):
        r.load_checkpoint(tmp_path / "plain.safetensors")
    with pytest.raises(FileNotFoundError):
        r.load_checkpoint(tmp_path / "missing.safetensors")
    r.save_checkpoint(tmp_path / "ck.safetensors")
    other = Runner(config=cfg(), model=nn.Net().add("fc1", nn.Linear(2, 3)), quiet=True)
    with pytest.raises(nn.StateDictError, match="unexpected keys"):
        other.load_checkpoint(tmp_path / "ck.safetensors")


def test_evaluate_and_predict() -> None:
    r = Runner(config=cfg(epochs=3, optimizer="Adam", learning_rate=0.05), model=small_net(),
               quiet=True)  # fmt: skip
    with pytest.raises(ValueError, match="needs step_fn"):
        r.evaluate(blobs())
    r.train(ce_step, blobs())
    res = r.evaluate(blobs(seed=2), metrics=[Accuracy()])
    assert set(res) == {"loss", "accuracy"} and res["accuracy"] > 0.9
    preds = r.predict(blobs(seed=2))
    assert isinstance(preds, idrak.Tensor) and preds.shape == (240, 3)
    acc = float((preds.numpy().argmax(1) == blobs(seed=2).arrays[1]).mean())
    assert acc == pytest.approx(res["accuracy"])
    loader = DataLoader(blobs(seed=2), batch_size=7)
    np.testing.assert_allclose(r.predict(loader).numpy(), preds.numpy(), rtol=1e-5, atol=1e-6)
    assert r.model.training


def test_output_quiet_and_lines(capsys: pytest.CaptureFixture[str]) -> None:
    Runner(config=cfg(), model=small_net(), quiet=True).train(ce_step, blobs(), blobs(seed=1))
    assert capsys.readouterr() == ("", "")
    Runner(config=cfg(), model=small_net()).train(ce_step, blobs(), blobs(seed=1),
                                                  metrics=[Accuracy()])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("epoch 1/2  train_loss ")
    assert "eval_accuracy" in out[1]


def test_experiment_logging(tmp_path: Path) -> None:
    exp = Experiment(id="t1", name="runner", root=tmp_path)
    r = Runner(config=cfg(epochs=2), model=small_net(), experiment=exp, quiet=True)
    r.train(ce_step, blobs(), blobs(seed=1), metrics=[Accuracy()])
    assert exp.hyperparameters["learning_rate"] == 0.1 and exp.hyperparameters["epochs"] == 2
    assert [s for s, _ in exp.history("train_loss")] == [0, 1]
    assert [v for _, v in exp.history("eval_accuracy")] == r.history["eval_accuracy"]
    assert "checkpoint.safetensors" in exp.artifacts
    ck = read_checkpoint(exp.path / "artifacts" / "checkpoint.safetensors")
    assert ck["epoch"] == 2
    reloaded = Experiment.load(exp.path)
    assert reloaded.history("eval_loss") == exp.history("eval_loss")


def test_history() -> None:
    h = History()
    h.record(0, {"train_loss": 1.0, "eval_accuracy": 0.5, "matrix": np.eye(2)})
    h.record(1, {"train_loss": 0.5})
    assert h["eval_accuracy"][0] == 0.5 and math.isnan(h["eval_accuracy"][1])
    assert "matrix" not in h and h.best("train_loss") == (1, 0.5)
    assert h.best("eval_accuracy") == (0, 0.5) and h.last()["train_loss"] == 0.5
    assert History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    with pytest.raises(ValueError, match="after epoch 1"):
        h.record(1, {})
    with pytest.raises(KeyError, match="recorded"):
        _ = h["nope"]


def test_lazy_top_level_names() -> None:
    assert idrak.Runner is Runner and idrak.Config is Config
    assert idrak.metrics.Accuracy is Accuracy
    assert idrak.functional.cross_entropy is nn.functional.cross_entropy
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = idrak.nope  # type: ignore[attr-defined]
    code = "import sys, idrak; print(any(m in sys.modules for m in ('idrak.train', 'idrak.nn')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # import idrak does not load the training stack


# Runner(jit=True) ------------------------------------------------------------------------------
def _train_run(jit: bool, **kw: Any) -> tuple[Runner, History]:
    c = cfg(epochs=3, optimizer="adam", learning_rate=0.05, grad_clip_norm=1.0,
            lr_scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.5}, **kw)  # fmt: skip
    r = Runner(config=c, model=small_net(), quiet=True, jit=jit)
    return r, r.train(ce_step, blobs(250), blobs(50, seed=1), metrics=[Accuracy()])


def test_runner_jit_matches_plain_with_adam_and_a_per_epoch_scheduler() -> None:
    import warnings

    r0, h0 = _train_run(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the step is replayable: no "without jit" warning
        r1, h1 = _train_run(True)
    assert r0.jitted_step is None and r1.jit
    a, b = strip_times(h0), strip_times(h1)
    assert a.keys() == b.keys() and h1["lr"] == pytest.approx([0.05, 0.025, 0.0125])
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-5, err_msg=k)
    for p0, p1 in zip(r0.model.parameters(), r1.model.parameters()):
        np.testing.assert_allclose(p1.numpy(), p0.numpy(), rtol=1e-5, atol=1e-5)
    assert r1.step == r0.step == 3 * 8
    # 8 batches (7 of 32, 1 of 26) per epoch: the first step creates Adam's state (runs
    # plain), then one trace per batch size; the learning rate is a replay input, so the
    # scheduler's changes retrace nothing; evaluation is not jitted
    assert r1.jitted_step.stats == {"traces": 3, "replays": 21, "plain": 1}


def bn_net(seed: int = 0) -> nn.Net:
    idrak.manual_seed(seed)
    return (
        nn.Net()
        .add("fc1", nn.Linear(2, 16))
        .add("bn", nn.BatchNorm1d(16))
        .add("act", nn.ReLU())
        .add("out", nn.Linear(16, 3))
    )


@pytest.mark.parametrize("optimizer", ["adam", "SGD"])
def test_runner_jit_per_step_scheduler_batchnorm_and_clipping_trace_once(optimizer: str) -> None:
    """A per-step OneCycle schedule (lr and, for SGD, momentum change every step), BatchNorm
    running statistics and gradient clipping replay: one trace per batch size for the whole
    run, parameters and running statistics as the plain Runner's."""
    import warnings

    def run(jit: bool) -> Runner:
        c = cfg(epochs=2, optimizer=optimizer, learning_rate=0.05, grad_clip_norm=0.5,
                momentum=0.9 if optimizer == "SGD" else 0.0, lr_scheduler_interval="step",
                lr_scheduler={"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 16})  # fmt: skip
        if optimizer != "SGD":
            del c["momentum"]
        r = Runner(config=c, model=bn_net(), quiet=True, jit=jit)
        r.train(ce_step, blobs(250))
        return r

    r0 = run(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the step is replayable: no "without jit" warning
        r1 = run(True)
    assert r1.step == r0.step == 16
    lr0 = [g["lr"] for g in r0.optimizer.param_groups]
    assert [g["lr"] for g in r1.optimizer.param_groups] == lr0
    for (name, a), (_, b) in zip(r0.model.state_dict().items(), r1.model.state_dict().items()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-6, err_msg=name)
    bn = r1.model["bn"]
    assert float(bn.num_batches_tracked.item()) == 16
    # the first step creates the optimizer state (plain), then a trace per batch size (32 and
    # the last batch of 26), the rest replays
    assert r1.jitted_step.stats == {"traces": 3, "replays": 13, "plain": 1}


def test_runner_jit_retraces_on_a_smaller_last_batch() -> None:
    r = Runner(config=cfg(epochs=2, jit=True), model=small_net(), quiet=True)
    assert r.jit
    sizes: list[int] = []

    def record(runner: Runner, state: Any, logs: dict[str, float]) -> None:
        sizes.append(state.outputs["y_pred"].shape[0])

    r.train(ce_step, blobs(70), callbacks=[LambdaCallback(on_batch_end=record)])
    assert sizes == [32, 32, 6] * 2  # the outputs of replayed steps reach the callbacks
    # epoch 1: plain (state created), trace (32), trace (6); epoch 2: all replays
    assert r.jitted_step.stats == {"traces": 3, "replays": 3, "plain": 1}
    plain = Runner(config=cfg(epochs=2), model=small_net(), quiet=True)
    plain.train(ce_step, blobs(70))
    for p0, p1 in zip(plain.model.parameters(), r.model.parameters()):
        np.testing.assert_allclose(p1.numpy(), p0.numpy(), rtol=1e-5, atol=1e-6)
    assert Runner(config=cfg(jit=True), model=small_net(), jit=False).jit is False
    with pytest.raises(ValueError, match="jit must be True or False"):
        Runner(config=cfg(jit="yes"), model=small_net())


def test_evaluation_shows_a_progress_bar_too() -> None:
    import io

    from idrak.train import ProgressLogger

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    r = Runner(config=cfg(epochs=1), model=small_net(), quiet=True)
    r.train(ce_step, blobs(64), blobs(32), callbacks=[ProgressLogger(stream=out)])
    text = out.getvalue()
    assert "epoch 1/1" in text and "eval 1/1" in text


def test_runner_falls_back_to_plain_when_the_step_reads_a_value() -> None:
    """A step that reads a value it computed (here ``.item()``) cannot be replayed: the Runner
    warns once, naming why, and trains exactly as with ``jit=False``."""

    def reading_step(state: Any) -> dict[str, Any]:
        out = ce_step(state)
        if not math.isfinite(out["loss"].item()):  # a Python decision on a traced value
            raise AssertionError("diverged")
        return out

    def run(jit: bool) -> tuple[Runner, History]:
        c = cfg(epochs=2, optimizer="adam", learning_rate=0.05)
        r = Runner(config=c, model=small_net(), quiet=True, jit=jit)
        return r, r.train(reading_step, blobs(100), blobs(40, seed=1))

    r0, h0 = run(False)
    with pytest.warns(RuntimeWarning, match=r"cannot be replayed by idrak.jit \(.*item") as rec:
        r1, h1 = run(True)
    assert len([w for w in rec if "cannot be replayed" in str(w.message)]) == 1
    assert not r1.jit and r1.jitted_step is None
    for k, v in strip_times(h0).items():
        np.testing.assert_allclose(strip_times(h1)[k], v, rtol=1e-6, atol=1e-7, err_msg=k)
    for p0, p1 in zip(r0.model.parameters(), r1.model.parameters()):
        np.testing.assert_allclose(p1.numpy(), p0.numpy(), rtol=1e-6, atol=1e-7)
