"""Config-driven architecture: registries of block and layer builders, and ``build_net``.

A config names its architecture and the Net builds itself::

    config = Config(block_type="MLP", in_features=784, hidden_sizes=[256, 128], num_classes=10)
    net = build_net(config)          # an nn.Net: flatten, fc1, act1, fc2, act2, head

    config = Config(layers=[{"type": "Linear", "in_features": 4, "out_features": 8},
                            {"type": "ReLU"},
                            {"type": "Linear", "in_features": 8, "out_features": 2}])
    net = build_net(config)          # an nn.Net: linear0, relu1, linear2

Add your own with ``@register_block("MyNet")`` (``f(config) -> nn.Net``) or
``@register_layer("MyLayer")`` (``f(**kwargs) -> layer``). Optimizers and LR schedulers are
found by class name in :mod:`idrak.optim` (case-insensitive) by :func:`build_optimizer` and
:func:`build_scheduler`.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from idrak.train.config import Config, ConfigError

__all__ = [
    "available_blocks",
    "available_layers",
    "build_net",
    "build_optimizer",
    "build_scheduler",
    "get_block",
    "get_layer",
    "register_block",
    "register_layer",
]

BlockBuilder = Callable[[Config], Any]
_BLOCKS: dict[str, BlockBuilder] = {}
_LAYERS: dict[str, Callable[..., Any]] = {}


def _register(table: dict[str, Any], kind: str, name: str, overwrite: bool) -> Callable[[Any], Any]:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{kind} name must be a non-empty string, got {name!r}")

    def decorator(fn: Any) -> Any:
        if not callable(fn):
            raise TypeError(f"{kind} builder {name!r} must be callable, got {fn!r}")
        key = name.lower()
        if key in table and table[key] is not fn and not overwrite:
            raise KeyError(f"{kind} {name!r} is already registered; pass overwrite=True")
        table[key] = fn
        return fn

    return decorator


def register_block(name: str, *, overwrite: bool = False) -> Callable[[BlockBuilder], BlockBuilder]:
    """Decorator: register ``builder(config) -> nn.Net`` under ``name`` (case-insensitive), the
    value of a config's ``block_type``.

    Raises:
        KeyError: ``name`` is taken (unless ``overwrite``). TypeError: a non-callable builder.
    """
    return _register(_BLOCKS, "block", name, overwrite)


def register_layer(name: str, *, overwrite: bool = False) -> Callable[[Any], Any]:
    """Decorator: register ``factory(**kwargs) -> layer`` under ``name`` (case-insensitive), for
    the ``type`` of an entry of a config's ``layers`` list. Classes of :mod:`idrak.nn` need no
    registration (``"Linear"``, ``"Conv2d"``, ``"ReLU"``...)."""
    return _register(_LAYERS, "layer", name, overwrite)


def available_blocks() -> list[str]:
    """The registered block names (lower case)."""
    return sorted(_BLOCKS)


def get_block(name: str) -> BlockBuilder:
    """The builder registered as ``name`` (case-insensitive).

    Raises:
        KeyError: an unknown name (the registered names are listed).
    """
    try:
        return _BLOCKS[str(name).lower()]
    except KeyError:
        raise KeyError(
            f"unknown block_type {name!r}; registered: {available_blocks()} (add one with "
            "@idrak.train.register_block(name))"
        ) from None


def _nn_classes() -> dict[str, Any]:
    from idrak import nn

    return {
        n.lower(): obj
        for n in dir(nn)
        if isinstance(obj := getattr(nn, n), type) and issubclass(obj, nn.Module)
    }


def available_layers() -> list[str]:
    """Registered layer names plus every Module class of :mod:`idrak.nn` (lower case)."""
    return sorted(set(_LAYERS) | set(_nn_classes()))


def get_layer(name: str) -> Callable[..., Any]:
    """A registered layer factory, else the :mod:`idrak.nn` class of that name
    (case-insensitive). Raises KeyError naming the known layers."""
    key = str(name).lower()
    if key in _LAYERS:
        return _LAYERS[key]
    classes = _nn_classes()
    if key in classes:
        return classes[key]
    raise KeyError(f"unknown layer type {name!r}; known: {available_layers()}")


def build_net(config: Any) -> Any:
    """Build an ``nn.Net`` from a config (a Config, dict, dataclass or plain class).

    With a ``layers`` key: a list of tables ``{type = "Linear", name = "fc1", ...}``; ``type``
    names a layer (see :func:`get_layer`), ``name`` is optional (default ``<type><index>``),
    every other key is passed to the layer. Otherwise ``block_type`` names a registered block
    builder (built-ins: ``"MLP"``, ``"ConvNet"`` / ``"CNN"``, ``"ResBlock"`` / ``"ResNet"``),
    which reads the keys it documents.

    Raises:
        ConfigError: neither key present, or a malformed ``layers`` entry (its index named).
        KeyError: an unknown block or layer type.
        TypeError: arguments a layer does not accept (the layer and entry are named).
    """
    from idrak import nn

    cfg = Config.from_object(config)
    if "layers" in cfg:
        layers = cfg["layers"]
        if not isinstance(layers, list) or not layers:
            raise ConfigError(f"config 'layers' must be a non-empty list of tables, got {layers!r}")
        net = nn.Net()
        for i, entry in enumerate(layers):
            if not isinstance(entry, Mapping) or "type" not in entry:
                raise ConfigError(
                    f"config layers[{i}] must be a table with a 'type', got {entry!r}"
                )
            spec = dict(entry.items())
            kind = spec.pop("type")
            name = spec.pop("name", f"{str(kind).lower()}{i}")
            factory = get_layer(kind)
            try:
                layer = factory(
                    **{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
                )
            except TypeError as exc:
                raise TypeError(f"config layers[{i}] ({kind}): {exc}") from exc
            net.add(name, layer)
        return net
    if "block_type" not in cfg:
        raise ConfigError(
            "cannot build a Net from this config: give 'block_type' (one of "
            f"{available_blocks()}) or a 'layers' list; keys: {sorted(cfg)}"
        )
    return get_block(cfg["block_type"])(cfg)


def _activation(name: str) -> Any:
    from idrak import nn

    table = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid}
    try:
        return table[str(name).lower()]()
    except KeyError:
        raise ConfigError(f"activation must be one of {sorted(table)}, got {name!r}") from None


@register_block("MLP")
def _mlp(cfg: Config) -> Any:
    """Keys: ``in_features`` (784), ``hidden_sizes`` ([256, 128]), ``num_classes`` (10),
    ``activation`` ("relu"), ``batch_norm`` (False), ``dropout`` (0.0). Inputs ``(B, ...)`` are
    flattened first."""
    from idrak import nn

    sizes = [int(cfg.get("in_features", 784)), *map(int, cfg.get("hidden_sizes", [256, 128]))]
    net = nn.Net().add("flatten", nn.Flatten())
    for i, (a, b) in enumerate(itertools.pairwise(sizes), start=1):
        net.add(f"fc{i}", nn.Linear(a, b))
        if cfg.get("batch_norm", False):
            net.add(f"bn{i}", nn.BatchNorm1d(b))
        net.add(f"act{i}", _activation(cfg.get("activation", "relu")))
        if cfg.get("dropout", 0.0):
            net.add(f"drop{i}", nn.Dropout(float(cfg["dropout"])))
    return net.add("head", nn.Linear(sizes[-1], int(cfg.get("num_classes", 10))))


@register_block("ConvNet")
def _convnet(cfg: Config) -> Any:
    """Keys: ``in_channels`` (1), ``channels`` ([32, 64]), ``kernel_size`` (3), ``image_size``
    (28), ``hidden`` (128), ``num_classes`` (10). Each stage is conv (no padding), ReLU, 2x2
    max-pool; then flatten, a hidden Linear + ReLU and the head. The defaults are the classic
    MNIST CNN: conv 32 3x3, pool, conv 64 3x3, pool, fc 128, fc 10."""
    from idrak import nn

    k = int(cfg.get("kernel_size", 3))
    size = int(cfg.get("image_size", 28))
    chans = [int(cfg.get("in_channels", 1)), *map(int, cfg.get("channels", [32, 64]))]
    net = nn.Net()
    for i, (a, b) in enumerate(itertools.pairwise(chans), start=1):
        net.add(f"conv{i}", nn.Conv2d(a, b, kernel_size=k))
        net.add(f"act{i}", nn.ReLU()).add(f"pool{i}", nn.MaxPool2d(2))
        size = (size - k + 1) // 2
        if size < 1:
            raise ConfigError(
                f"ConvNet: image_size {cfg.get('image_size', 28)} is too small for "
                f"{len(chans) - 1} conv+pool stages with kernel_size {k}"
            )
    hidden = int(cfg.get("hidden", 128))
    net.add("flatten", nn.Flatten()).add("fc", nn.Linear(chans[-1] * size * size, hidden))
    net.add("fc_act", nn.ReLU())
    return net.add("head", nn.Linear(hidden, int(cfg.get("num_classes", 10))))


register_block("CNN")(_convnet)


@register_block("ResBlock")
def _resnet(cfg: Config) -> Any:
    """The Idrak seed's network. Keys: ``in_channels`` (3), ``base_channels`` (64),
    ``num_blocks`` (2), ``entry_kernel_size`` (7), ``num_classes`` (10). An entry conv (padding
    keeps the size), ``num_blocks`` :func:`idrak.factories.resnet_block`, global average pool,
    flatten, and a Linear head."""
    from idrak import nn
    from idrak.factories import resnet_block

    c = int(cfg.get("base_channels", 64))
    k = int(cfg.get("entry_kernel_size", 7))
    net = nn.Net().add(
        "entry_conv", nn.Conv2d(int(cfg.get("in_channels", 3)), c, kernel_size=k, padding=k // 2)
    )
    net.add("entry_act", nn.ReLU())
    for i in range(1, int(cfg.get("num_blocks", 2)) + 1):
        net.add(f"block{i}", resnet_block(c))
    net.add("pool", nn.AdaptiveAvgPool2d(1)).add("flatten", nn.Flatten())
    return net.add("head", nn.Linear(c, int(cfg.get("num_classes", 10))))


register_block("ResNet")(_resnet)


# optimizers and schedulers -------------------------------------------------------------------
def _classes_in(module: Any, base: Any) -> dict[str, Any]:
    return {
        n.lower(): obj
        for n in dir(module)
        if isinstance(obj := getattr(module, n), type) and issubclass(obj, base) and obj is not base
    }


_OPTIMIZER_KEYS = ("weight_decay", "momentum", "betas", "eps", "nesterov", "dampening", "alpha")


def build_optimizer(config: Config, model: Any) -> Any:
    """The optimizer named by ``config.optimizer`` (default "Adam"; any :mod:`idrak.optim`
    class, case-insensitive) over ``model.parameters()``, with ``lr=config.learning_rate``
    (default 1e-3), the config's ``weight_decay``, ``momentum``, ``betas``, ``eps``,
    ``nesterov``, ``dampening``, ``alpha`` if present, and ``optimizer_kwargs``.

    Raises:
        ConfigError: an unknown optimizer name, or a config key the optimizer does not take.
    """
    from idrak import optim

    name = config.get("optimizer", "Adam")
    classes = _classes_in(optim, optim.Optimizer)
    if isinstance(name, type) and issubclass(name, optim.Optimizer):
        cls = name
    elif isinstance(name, str) and name.lower() in classes:
        cls = classes[name.lower()]
    else:
        raise ConfigError(
            f"config optimizer {name!r} is not an idrak.optim optimizer; available: "
            f"{sorted(c.__name__ for c in classes.values())}"
        )
    kwargs = dict(config.get("optimizer_kwargs") or {})
    kwargs.setdefault("lr", config.get("learning_rate", config.get("lr", 1e-3)))
    for key in _OPTIMIZER_KEYS:
        if key in config:
            kwargs.setdefault(key, config[key])
    accepted = inspect.signature(cls).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    for key in kwargs:
        if key not in accepted and not takes_any:
            raise ConfigError(
                f"optimizer {cls.__name__} does not take {key!r} (from the config); it takes "
                f"{[p for p in accepted if p != 'params']}"
            )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return cls(model.parameters(), **kwargs)


def build_scheduler(config: Config, optimizer: Any, t_max: int) -> Any:
    """The LR scheduler of ``config.lr_scheduler``: a class name of
    :mod:`idrak.optim.lr_scheduler` (case-insensitive), or a table ``{name = "StepLR",
    step_size = 5}``; ``lr_scheduler_kwargs`` adds arguments. ``T_max`` (cosine annealing)
    defaults to ``t_max`` (the run's epochs, or steps with ``lr_scheduler_interval="step"``).

    Raises:
        ConfigError: an unknown scheduler name or a malformed table.
    """
    from idrak.optim import lr_scheduler as sched

    spec = config["lr_scheduler"]
    kwargs = dict(config.get("lr_scheduler_kwargs") or {})
    if isinstance(spec, Mapping):
        spec = dict(spec.items())
        name = spec.pop("name", spec.pop("type", None))
        kwargs.update(spec)
    else:
        name = spec
    base = getattr(sched, "LRScheduler", getattr(sched, "_LRScheduler", object))
    classes = _classes_in(sched, base)
    classes.update({k: v for k, v in _classes_in(sched, object).items() if "plateau" in k})
    if not isinstance(name, str) or name.lower() not in classes:
        raise ConfigError(
            f"config lr_scheduler {name!r} is not a scheduler of idrak.optim.lr_scheduler; "
            f"available: {sorted(c.__name__ for c in classes.values())}"
        )
    cls = classes[name.lower()]
    if "T_max" in inspect.signature(cls).parameters:
        kwargs.setdefault("T_max", max(1, t_max))
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return cls(optimizer, **kwargs)


def current_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        return None
    lr = groups[0].get("lr")
    return float(lr) if isinstance(lr, int | float) else None


def step_scheduler(scheduler: Any, config: Config, logs: Mapping[str, Any]) -> None:
    """``scheduler.step()``; a plateau scheduler gets ``config.lr_scheduler_monitor``
    (default ``eval_loss`` when evaluated, else ``train_loss``)."""
    if "plateau" not in type(scheduler).__name__.lower():
        scheduler.step()
        return
    monitor = config.get(
        "lr_scheduler_monitor", "eval_loss" if "eval_loss" in logs else "train_loss"
    )
    if monitor not in logs:
        raise KeyError(
            f"lr_scheduler_monitor {monitor!r} is not recorded; recorded: {sorted(logs)}"
        )
    scheduler.step(logs[monitor])
