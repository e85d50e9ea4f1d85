"""Plain data (JSON, TOML) to frozen dataclasses and back, checked key by key.

Shared by facts snapshots and the compatibility matrix: both are typed, frozen data read from files a
person may have damaged, and both must fail with the path of the bad key, never with a traceback.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any


class DataError(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path or "(top level)"
        self.message = message


def to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (tuple, list)):
        return [to_plain(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): to_plain(value) for key, value in obj.items()}
    return obj


def from_plain(cls: type, data: Any, path: str = "") -> Any:
    """Build `cls` from `data`, rejecting unknown keys and wrong types with the dotted path of the key."""
    if not isinstance(data, dict):
        raise DataError(path, f"expected a table/object, found {_kind(data)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise DataError(_join(path, unknown[0]), "unknown key")
    missing = [
        name
        for name, f in fields.items()
        if name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise DataError(_join(path, missing[0]), "required key is missing")
    kwargs = {name: _convert(hints[name], value, _join(path, name)) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except ValueError as exc:  # raised by a model's __post_init__ (an unparsable version, say)
        raise DataError(path, str(exc)) from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(typing.get_args(tp), value, path)
    if origin is tuple:
        if not isinstance(value, list):
            raise DataError(path, f"expected a list, found {_kind(value)}")
        item_type = typing.get_args(tp)[0]
        return tuple(_convert(item_type, item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise DataError(path, f"expected an object, found {_kind(value)}")
        value_type = typing.get_args(tp)[1]
        return {str(k): _convert(value_type, v, _join(path, str(k))) for k, v in value.items()}
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise DataError(path, f"expected one of {', '.join(map(repr, typing.get_args(tp)))}, found {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_plain(tp, value, path)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in tp)
            raise DataError(path, f"expected one of {allowed}, found {value!r}") from None
    return _convert_scalar(tp, value, path)


def _convert_union(options: tuple[Any, ...], value: Any, path: str) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise DataError(path, "unexpected null")
    first: DataError | None = None
    for option in options:
        if option is type(None):
            continue
        try:
            return _convert(option, value, path)
        except DataError as exc:
            first = first or exc
    assert first is not None
    raise first


def _convert_scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool):
        if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
            raise DataError(path, f"expected {tp.__name__}, found {_kind(value)}")
        return value
    raise DataError(path, f"unsupported type {tp!r}")  # a bug in a model class; the round-trip tests catch it
