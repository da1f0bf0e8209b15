"""The keys the :class:`~idrak.train.Runner` and the built-in blocks read, with their types and
ranges; :func:`check_training_config` refuses unknown keys (with a "did you mean") and values of
the wrong type or out of range, naming the key, the value and what was expected.

Hand-written on purpose: a table of small predicates keeps :class:`~idrak.train.Config` a plain
mapping (no model class to declare) and needs no dependency.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from idrak.train.config import Config, ConfigError

__all__ = ["KNOWN_KEYS", "check_training_config"]

Check = tuple[str, Callable[[Any], bool]]


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


POS_INT: Check = ("an int >= 1", lambda v: _int(v) and v >= 1)
BOOL: Check = ("True or False", lambda v: isinstance(v, bool))
POSITIVE: Check = ("a number > 0 (finite)", lambda v: _num(v) and v > 0)
NON_NEG: Check = ("a number >= 0 (finite)", lambda v: _num(v) and v >= 0)
STR: Check = ("a string", lambda v: isinstance(v, str))
TABLE: Check = ("a table (dict)", lambda v: isinstance(v, Mapping))
ANY: Check = ("any value", lambda v: True)

#: every key the Runner, build_net, build_optimizer and the built-in blocks read
KNOWN_KEYS: dict[str, Check] = {
    # the run
    "epochs": POS_INT,
    "batch_size": POS_INT,
    "eval_batch_size": POS_INT,
    "seed": ("an int or None", lambda v: v is None or _int(v)),
    "drop_last": BOOL,
    "jit": BOOL,
    "distributed": BOOL,
    "distributed_backend": ("a backend name or None", lambda v: v is None or isinstance(v, str)),
    "bucket_cap_mb": ("a number > 0 (finite) or None", lambda v: v is None or POSITIVE[1](v)),
    "grad_clip_norm": ("a number > 0 (finite) or None", lambda v: v is None or POSITIVE[1](v)),
    # the optimizer
    "optimizer": ("an optimizer name", lambda v: isinstance(v, str | type)),
    "optimizer_kwargs": TABLE,
    "learning_rate": NON_NEG,
    "lr": NON_NEG,
    "weight_decay": NON_NEG,
    "momentum": NON_NEG,
    "dampening": NON_NEG,
    "alpha": NON_NEG,
    "eps": POSITIVE,
    "nesterov": BOOL,
    "betas": (
        "two numbers in [0, 1)",
        lambda v: (
            isinstance(v, list | tuple) and len(v) == 2 and all(_num(b) and 0 <= b < 1 for b in v)
        ),
    ),
    # the scheduler
    "lr_scheduler": ANY,
    "lr_scheduler_kwargs": TABLE,
    "lr_scheduler_interval": ("'epoch' or 'step'", lambda v: v in ("epoch", "step")),
    "lr_scheduler_monitor": STR,
    # the model (build_net and the built-in blocks)
    "block_type": STR,
    "layers": ("a list of tables", lambda v: isinstance(v, list)),
    "in_features": POS_INT,
    "num_classes": POS_INT,
    "hidden": POS_INT,
    "hidden_sizes": (
        "a list of ints >= 1",
        lambda v: isinstance(v, list) and all(POS_INT[1](x) for x in v),
    ),
    "channels": (
        "a list of ints >= 1",
        lambda v: isinstance(v, list) and all(POS_INT[1](x) for x in v),
    ),
    "activation": STR,
    "batch_norm": BOOL,
    "dropout": ("a number in [0, 1)", lambda v: _num(v) and 0 <= v < 1),
    "kernel_size": POS_INT,
    "image_size": POS_INT,
    "in_channels": POS_INT,
    "base_channels": POS_INT,
    "entry_kernel_size": POS_INT,
    "num_blocks": POS_INT,
}


def check_training_config(
    config: Config, extra: Iterable[str] | Mapping[str, Any] | None = None
) -> Config:
    """Check ``config``'s keys and values for training; returns ``config``.

    Args:
        config: the run's Config.
        extra: the user's own keys (names, or ``{name: type}`` to check their type with
            :meth:`Config.validate`); keys of the config's dataclass schema count as declared.

    Raises:
        ConfigError: every problem at once, each naming the key, the value and what was
            expected: an unknown key (with a "did you mean" and the ``extra=`` hint), or a
            value of the wrong type or range (NaN, negative sizes, ``'no'`` for a bool, ...).
    """
    declared = set(extra or ())
    schema = config.schema
    if schema is not None:
        import dataclasses

        declared |= {f.name for f in dataclasses.fields(schema)}
    problems = []
    for key, value in config.items():
        if key in KNOWN_KEYS:
            expected, ok = KNOWN_KEYS[key]
            if not ok(value):
                problems.append(
                    f"config {key} must be {expected}, got {type(value).__name__} {value!r}"
                )
        elif key not in declared:
            close = difflib.get_close_matches(key, [*KNOWN_KEYS, *declared], n=2, cutoff=0.75)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            problems.append(
                f"unknown config key {key!r} (value {value!r}){hint} -- declare your own keys "
                f"with Runner(..., extra=[{key!r}])"
            )
    if isinstance(extra, Mapping):
        config.validate(dict(extra), allow_unknown=True)
    if problems:
        raise ConfigError(
            "; ".join(problems)
            if len(problems) == 1
            else "\n  ".join(["invalid config:", *problems])
        )
    return config
