"""Errors shared by every layer.

TicketsyncError
 +-- ConfigError          a setting is missing or invalid (names the variable)
 +-- RejectedDelivery     an incoming webhook is refused; carries an HTTP status and a code
 +-- StoreUnavailable     the database cannot be reached; nothing was stored
"""

from __future__ import annotations


class TicketsyncError(Exception):
    """Base of every error ticketsync raises on purpose."""


class ConfigError(TicketsyncError):
    """A configuration value is missing or invalid."""


class RejectedDelivery(TicketsyncError):
    """A webhook delivery is refused before anything is stored.

    `status` is the HTTP status to answer, `code` a stable machine-readable name,
    `field` the JSON path at fault when one field is.
    """

    def __init__(self, status: int, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


class StoreUnavailable(TicketsyncError):
    """The event log's database could not be reached."""
