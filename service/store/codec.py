"""Frozen dataclasses to JSON and back, for read models and outbox commands.

orjson writes dataclasses, tuples and aware datetimes natively; reading back follows the
dataclass's type hints, so a stored value comes back as the same typed, immutable object.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson

from ticketsync.events.registry import EVENT_NAMES, EVENT_TYPES

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
    return None if data is None else _loader(kind)(data)


def _same(value: Any) -> Any:
    return value


@functools.cache
def _loader(kind: Any) -> Callable[[Any], Any]:
    """A function from parsed JSON (never None) to `kind`, worked out once per type.

    Reading a stored conversation walked its type hints value by value; the projection
    reads one for every conversation a page touches, so the walk is done once per type.
    """
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        if len(options) == 1:
            return _loader(options[0])
        # Unions of dataclasses: the first whose fields fit.
        candidates = [
            (frozenset(_hints(option)), _loader(option))
            for option in options
            if dataclasses.is_dataclass(option)
        ]

        def union(data: Any) -> Any:
            if isinstance(data, dict):
                keys = data.keys()
                for fields, loader in candidates:
                    if keys <= fields:
                        return loader(data)
            return data

        return union
    if origin is tuple:
        item = _loader(typing.get_args(kind)[0])
        if item is _same:
            return tuple
        return lambda data: tuple(None if value is None else item(value) for value in data)
    if kind is datetime:
        return datetime.fromisoformat
    if dataclasses.is_dataclass(kind):
        return _dataclass_loader(kind)
    return _same  # str, int, bool, float, Literal, plain dict and list


def _dataclass_loader(kind: Any) -> Callable[[Any], Any]:
    fields = {name: _loader(hint) for name, hint in _hints(kind).items()}

    def build(data: Any) -> Any:
        values = {}
        for name, value in data.items():
            convert = fields.get(name)
            if convert is None:
                continue  # a field this version no longer has
            values[name] = value if value is None or convert is _same else convert(value)
        return kind(**values)

    return build


class UnknownEvent(ValueError):
    """A stored event whose name no event type has (written by a newer version)."""


def dump_event(event: object | None) -> str:
    """What ingest understood of a delivery, stored beside its raw body: the event's name
    and fields, or `{"event": null}` for a delivery of a type ticketsync does not act on."""
    if event is None:
        return '{"event":null}'
    return dumps({"event": EVENT_NAMES[type(event)], "data": event})


def load_event(text: str) -> object | None:
    """The typed event `dump_event` stored, or None when it stored none.

    Raises UnknownEvent for a name no event type has.
    """
    stored = orjson.loads(text)
    name = stored.get("event")
    if name is None:
        return None
    kind = EVENT_TYPES.get(name)
    if kind is None:
        raise UnknownEvent(f"no event type is named {name!r}")
    return load(kind, stored["data"])


def load_record(kind: type[T], text: str, occurred_at: datetime) -> T:
    """ticketsync's own entry (an outcome, an agent's action on the built-in desk) as its
    event: the entry's fields that the event has, at the entry's time."""
    return load(kind, {"occurred_at": occurred_at.isoformat(), **orjson.loads(text)})
