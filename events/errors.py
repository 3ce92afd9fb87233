"""Errors shared by every layer.

TicketsyncError
 +-- ConfigError          a setting is missing or invalid (names the variable)
 +-- Refused              a request is refused: a stable code, what is wrong, the field at fault
 +-- StoreUnavailable     the database cannot be reached; nothing was stored
"""

from __future__ import annotations

from collections.abc import Mapping


class TicketsyncError(Exception):
    """Base of every error ticketsync raises on purpose."""


class ConfigError(TicketsyncError):
    """A configuration value is missing or invalid."""


class Refused(TicketsyncError):
    """A request (a webhook delivery, an agent's action, a query) is refused before
    anything is stored.

    `code` is a stable machine-readable name (`invalid_signature`, `invalid_data`, ...),
    `detail` says what is wrong for a person, and `field` is the path at fault when one
    field is (`data.role`, `webhook-timestamp`). `facts` are further fields of the answer
    for a machine (a call's `state`). Which HTTP status a code answers is the HTTP layer's
    business (service/http/errors.py).
    """

    def __init__(
        self,
        code: str,
        detail: str,
        field: str | None = None,
        *,
        facts: Mapping[str, str] | None = None,
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.facts = dict(facts or {})


class StoreUnavailable(TicketsyncError):
    """The event log's database could not be reached."""
