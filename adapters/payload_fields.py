"""Typed reading of a webhook payload's fields, refusing (`invalid_data`) with the path of
the field at fault (`detail.status`, `changelog.items[0]`). Shared by the help desks'
webhook parsers; each adds the fields only its system has."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from ticketsync.events.errors import Refused

MAX_ID_LENGTH = 255


class Fields:
    """One object of a payload, at `prefix` (empty for the payload itself)."""

    def __init__(self, data: Mapping[str, Any], prefix: str):
        self.data = data
        self.prefix = prefix

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, what: str) -> Refused:
        return Refused("invalid_data", f"{self.path(name)} must be {what}", self.path(name))

    def id(self, name: str) -> str:
        """An id, sent as a string or a number."""
        value = self.data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
            raise self.fail(name, f"a string or number id of at most {MAX_ID_LENGTH} characters")
        return value

    def optional_id(self, name: str) -> str | None:
        if self.data.get(name) in (None, ""):
            return None
        return self.id(name)

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise self.fail(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, str):
            raise self.fail(name, "a string or null")
        return value or None

    def boolean(self, name: str) -> bool:
        value = self.data.get(name)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false")
        return value

    def object(self, name: str) -> Self:
        value = self.data.get(name)
        if not isinstance(value, dict):
            raise self.fail(name, "an object")
        return type(self)(value, self.path(name))

    def optional_object(self, name: str) -> Self | None:
        if self.data.get(name) is None:
            return None
        return self.object(name)

    def list(self, name: str) -> list[Self]:
        value = self.data.get(name)
        if not isinstance(value, list):
            raise self.fail(name, "a list")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{name}[{index}]", "an object")
            items.append(type(self)(item, f"{self.path(name)}[{index}]"))
        return items
