"""``Config``: the declarative single source of truth of a run (architecture, hyperparameters).

A Config is a mapping of string keys to plain values (str, int, float, bool, None, lists and
nested tables) with attribute access. It is built from a plain class, a dataclass, a dict or
keyword arguments, saved to and loaded from TOML or JSON, and validated against a schema::

    class TrainingConfig:
        learning_rate = 1e-3
        batch_size = 128

    config = Config.from_object(TrainingConfig)  # or Config(learning_rate=1e-3, batch_size=128)
    config.learning_rate, config["batch_size"]   # 0.001, 128
    config.save("run.toml"); Config.load("run.toml") == config  # True
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import inspect
import json
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from idrak.io.atomic import atomic_write

__all__ = ["Config", "ConfigError"]


class ConfigError(ValueError):
    """A config value of the wrong type, an unknown or missing key, or an unwritable value."""


def _plain(value: Any) -> Any:
    """``value`` with nested Configs turned into dicts and tuples into lists (a deep copy)."""
    if isinstance(value, Config):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _wrap(value: Any) -> Any:
    """Nested mappings become Configs (for attribute access); lists are walked."""
    if isinstance(value, Config):
        return value
    if isinstance(value, Mapping):
        return Config(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _class_attributes(cls: type) -> dict[str, Any]:
    """Public data attributes of ``cls`` and its bases (methods, properties, dunders skipped)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[:-1]):  # base classes first, ``object`` left out
        for key, value in vars(klass).items():
            if key.startswith("_") or isinstance(
                value, staticmethod | classmethod | property | types.FunctionType | type
            ):
                continue
            out[key] = value
    return out


class Config(MutableMapping[str, Any]):
    """A mapping of configuration keys to values, with attribute access.

    Args:
        data: a mapping of initial values (optional, positional only).
        **kwargs: more values; they win over ``data``.

    Nested mappings become Configs (``config.model.hidden``); :meth:`to_dict` turns everything
    back into plain dicts and lists. Keys that are also method names (``items``, ``save``, ...)
    are reachable only as ``config["items"]``.

    Raises:
        ConfigError: a key that is not a non-empty string.
    """

    __slots__ = ("_data", "_schema")

    def __init__(self, data: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_schema", None)
        for key, value in {**dict(data or {}), **kwargs}.items():
            self[key] = value

    # construction -------------------------------------------------------------------------
    @classmethod
    def from_object(cls, obj: Any) -> Config:
        """A Config of ``obj``: a Config, a mapping, a dataclass (class or instance), or any
        plain class or instance whose public, non-callable attributes are the settings.

        A dataclass becomes the schema of the result (see :meth:`validate`): its fields
        are checked at once, and again by every later ``validate()``.

        Raises:
            ConfigError: a dataclass *class* with fields that have no default; values that do
                not match the dataclass's field types.
            TypeError: ``obj`` is None, a number, a string or a list.
        """
        if isinstance(obj, Config):
            return obj.copy()
        if isinstance(obj, Mapping):
            return cls(obj)
        if dataclasses.is_dataclass(obj):
            schema = obj if isinstance(obj, type) else type(obj)
            if isinstance(obj, type):
                values = {}
                for f in dataclasses.fields(obj):
                    if f.default is not dataclasses.MISSING:
                        values[f.name] = f.default
                    elif f.default_factory is not dataclasses.MISSING:
                        values[f.name] = f.default_factory()
                    else:
                        raise ConfigError(
                            f"dataclass {obj.__name__} field {f.name!r} has no default; pass an "
                            f"instance: Config.from_object({obj.__name__}({f.name}=...))"
                        )
            else:
                values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            config = cls(values)
            config.validate(schema)
            object.__setattr__(config, "_schema", schema)
            return config
        if obj is None or isinstance(obj, str | bytes | int | float | list | tuple):
            raise TypeError(
                "Config.from_object takes a class, an instance, a dataclass or a mapping, got "
                f"{type(obj).__name__} {obj!r}"
            )
        if isinstance(obj, type):
            return cls(_class_attributes(obj))
        values = _class_attributes(type(obj))
        values.update({k: v for k, v in getattr(obj, "__dict__", {}).items() if k[:1] != "_"})
        return cls({k: v for k, v in values.items() if not callable(v)})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Config:
        """Read a ``.toml`` or ``.json`` file (chosen by suffix).

        Raises:
            FileNotFoundError: no such file.
            ConfigError: another suffix, or a file that is not valid UTF-8, TOML or JSON, or
                is nested too deeply (the file and the parser's message are named).
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ConfigError(f"config file {str(p)!r} must end in .toml or .json")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{p}: not valid UTF-8 text (byte {exc.start}): {exc.reason}"
            ) from None
        try:
            return cls.from_toml(text) if suffix == ".toml" else cls.from_json(text)
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from exc
        except RecursionError:
            raise ConfigError(f"{p}: nested too deeply to read") from None

    @classmethod
    def from_toml(cls, text: str) -> Config:
        """Parse TOML text (with :mod:`tomllib`). Raises ConfigError on invalid TOML."""
        try:
            return cls(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}") from exc
        except RecursionError:
            raise ConfigError("invalid TOML: nested too deeply") from None

    @classmethod
    def from_json(cls, text: str) -> Config:
        """Parse a JSON object. Raises ConfigError on invalid JSON or a non-object."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc}") from exc
        except RecursionError:
            raise ConfigError("invalid JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise ConfigError(f"a JSON config must be an object, got {type(data).__name__}")
        return cls(data)

    # output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A deep copy as plain dicts and lists."""
        return {k: _plain(v) for k, v in self._data.items()}

    def to_toml(self) -> str:
        """The config as TOML text.

        Raises:
            ConfigError: a value TOML cannot hold (None, a list mixing tables and values, an
                object that is not str/int/float/bool/date/list/mapping); the key is named.
        """
        return _toml_dumps(self.to_dict())

    def to_json(self, indent: int | None = 2) -> str:
        """The config as JSON text.

        Raises:
            ConfigError: a value JSON cannot hold (the key and type are named).
        """
        data = self.to_dict()
        for key, value in data.items():
            try:
                json.dumps(value, allow_nan=True)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"config key {key!r}: {type(value).__name__} value {value!r} cannot be "
                    f"written as JSON ({exc})"
                ) from exc
        return json.dumps(data, indent=indent)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``.toml`` or ``.json`` (by suffix) atomically: a temp file, then ``os.replace``.

        Returns the path written. Raises ConfigError for another suffix or unwritable values.
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ConfigError(f"config file {str(p)!r} must end in .toml or .json")
        text = self.to_toml() if suffix == ".toml" else self.to_json() + "\n"
        return atomic_write(p, text)

    # validation ---------------------------------------------------------------------------
    @property
    def schema(self) -> Any:
        """The dataclass this config was made from (used by :meth:`validate`), or None."""
        return self._schema

    def validate(self, schema: Any = None, *, allow_unknown: bool = False) -> Config:
        """Check every key against ``schema`` and return ``self``.

        Args:
            schema: a dataclass (class or instance; field types are checked and fields without
                a default are required), or a mapping ``{key: type}`` (every key optional).
                Types may be ``int``, ``float`` (an int is accepted), ``str``, ``bool``,
                ``list[int]``, ``dict[str, float]``, ``X | None``, ``Literal[...]``, ``Any`` or
                a nested dataclass. Default: the dataclass this config came from.
            allow_unknown: accept keys the schema does not name.

        Raises:
            ConfigError: unknown keys (with close matches), missing required keys, or values
                of the wrong type; every problem is listed with key, expected type and value.
        """
        if schema is None:
            schema = self._schema
            if schema is None:
                return self
        problems = _check_mapping(self._data, schema, "", allow_unknown)
        if problems:
            name = getattr(schema, "__name__", type(schema).__name__)
            raise ConfigError(f"config does not match schema {name}:\n  " + "\n  ".join(problems))
        return self

    # mapping protocol ---------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(self._missing(key)) from None

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigError(f"config keys must be non-empty strings, got {key!r}")
        self._data[key] = _wrap(value)

    def __delitem__(self, key: str) -> None:
        try:
            del self._data[key]
        except KeyError:
            raise KeyError(self._missing(key)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # private and dunder names (copy / pickle probe them)
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(self._missing(key)) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key in type(self).__dict__ or key.startswith("_"):
            raise AttributeError(f"cannot set {key!r} as an attribute; use config[{key!r}] = ...")
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self._data[key]
        except KeyError:
            raise AttributeError(self._missing(key)) from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self._data if k.isidentifier()})

    def _missing(self, key: str) -> str:
        close = difflib.get_close_matches(str(key), list(self._data), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"config has no key {key!r}{hint} (keys: {sorted(self._data)})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == _plain(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Config:
        """A deep copy (the schema is kept)."""
        new = Config(self.to_dict())
        object.__setattr__(new, "_schema", self._schema)
        return new

    def __copy__(self) -> Config:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.to_dict(), self._schema))

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in self._data.items()) + ")"


def _rebuild(data: dict[str, Any], schema: Any) -> Config:
    """Unpickle a Config."""
    config = Config(data)
    object.__setattr__(config, "_schema", schema)
    return config


# schema checks ---------------------------------------------------------------------------
def _type_name(tp: Any) -> str:
    if tp is Any:
        return "Any"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _schema_fields(schema: Any) -> tuple[dict[str, Any], set[str]]:
    """``({key: type}, required keys)`` of a dataclass or a ``{key: type}`` mapping."""
    if dataclasses.is_dataclass(schema):
        cls = schema if isinstance(schema, type) else type(schema)
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # unresolvable forward references: fall back to the raw annotations
            hints = {f.name: f.type for f in dataclasses.fields(cls)}
        fields = {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}
        required = {
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        return fields, required
    if isinstance(schema, Mapping):
        return dict(schema), set()
    raise TypeError(
        f"schema must be a dataclass or a mapping of key -> type, got {type(schema).__name__}"
    )


def _check_mapping(data: Mapping[str, Any], schema: Any, prefix: str, allow: bool) -> list[str]:
    fields, required = _schema_fields(schema)
    problems = []
    for key in sorted(required - set(data)):
        problems.append(f"missing required key {prefix + key!r} ({_type_name(fields[key])})")
    for key, value in data.items():
        if key not in fields:
            if not allow:
                close = difflib.get_close_matches(key, list(fields), n=2)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                problems.append(f"unknown key {prefix + key!r}{hint}")
            continue
        problems += _check_value(value, fields[key], prefix + key, allow)
    return problems


def _check_value(value: Any, tp: Any, key: str, allow: bool) -> list[str]:
    bad = [f"key {key!r}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}"]
    if tp is Any or tp is object:
        return []
    if isinstance(tp, str):  # an unresolved forward reference: cannot check it
        return []
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if not _check_value(value, arg, key, allow):
                return []
        return bad
    if origin is typing.Literal:
        return [] if any(value == a and type(value) is type(a) for a in args) else bad
    if tp is None or tp is type(None):
        return [] if value is None else bad
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            return bad
        return _check_mapping(value, tp, key + ".", allow)
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            return bad
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                return [
                    f"key {key!r}: expected {len(args)} items ({_type_name(tp)}), got "
                    f"{len(value)}: {value!r}"
                ]
            return [
                p
                for i, (v, a) in enumerate(zip(value, args))
                for p in _check_value(v, a, f"{key}[{i}]", allow)
            ]
        item = args[0] if args else Any
        return [p for i, v in enumerate(value) for p in _check_value(v, item, f"{key}[{i}]", allow)]
    if origin in (dict, Mapping, MutableMapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            return bad
        vt = args[1] if len(args) == 2 else Any
        return [p for k, v in value.items() for p in _check_value(v, vt, f"{key}.{k}", allow)]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else bad
    if tp is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else bad
    if tp in (os.PathLike, Path):
        return [] if isinstance(value, str | os.PathLike) else bad
    if inspect.isclass(tp):
        return [] if isinstance(value, tp) else bad
    return []  # a typing construct we do not check (Callable, TypeVar, ...)


# TOML writing: tomllib reads, tomli-w writes; this walk only gives errors that name the key --
def _toml_ready(value: Any, key: str) -> Any:
    """``value`` with paths as str and tuples as lists; ConfigError naming ``key`` otherwise."""
    if isinstance(value, bool | float | str | datetime.datetime | datetime.date | datetime.time):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ConfigError(f"config key {key!r}: {value} does not fit TOML's 64-bit integers")
        return value
    if isinstance(value, os.PathLike):
        return os.fsdecode(value)
    if isinstance(value, list | tuple):
        return [_toml_ready(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _toml_ready(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if value is None:
        raise ConfigError(
            f"config key {key!r} is None, which TOML cannot hold; remove the key, give it a "
            "value, or save as .json"
        )
    raise ConfigError(
        f"config key {key!r}: {type(value).__name__} value {value!r} cannot be written as TOML "
        "(str, int, float, bool, dates, lists and tables can)"
    )


def _toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML text of a mapping of str, int, float, bool, dates, lists and nested mappings."""
    import tomli_w

    return tomli_w.dumps(_toml_ready(data, ""))
