"""Frozen dataclasses to JSON and back, for read models and outbox commands.

orjson writes dataclasses, tuples and aware datetimes natively; reading back follows the
dataclass's type hints, so a stored value comes back as the same typed, immutable object.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import datetime
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def loads(cls: type[T], text: str | bytes) -> T:
    return load(cls, orjson.loads(text))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def load(kind: Any, data: Any) -> Any:
    """`data` (parsed JSON) as an instance of `kind`."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        if len(options) == 1:
            return load(options[0], data)
        for option in options:  # unions of dataclasses: the first whose fields fit
            if dataclasses.is_dataclass(option) and set(data) <= set(_hints(option)):
                return load(option, data)
        return data
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(load(item, value) for value in data)
    if origin is typing.Literal:
        return data
    if kind is datetime:
        return datetime.fromisoformat(data)
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(
            **{name: load(hints[name], value) for name, value in data.items() if name in hints}
        )
    return data
