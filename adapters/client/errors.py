"""What the client raises; the hierarchy is drawn in ticketsync/client/__init__.py."""

from __future__ import annotations

from ticketsync.events.errors import TicketsyncError


class ClientError(TicketsyncError):
    """Base of every error the client raises on purpose."""


class Refused(ClientError):
    """ticketsync answered the event with a 4xx: it stored nothing, and sending the same
    event again would be refused again, so the client does not retry.

    `status` is the HTTP status; `code` the error body's `error` (`invalid_data`,
    `invalid_signature`, `conflict`, ...), None when the answer had no such body;
    `detail` what is wrong, for a person; `field` the path at fault (`data.role`) or None.
    """

    def __init__(self, status: int, code: str | None, detail: str, field: str | None = None):
        where = f" ({field})" if field else ""
        super().__init__(f"ticketsync refused the event: {status} {code or ''}{where}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


class Unavailable(ClientError):
    """ticketsync did not take the event on any attempt: no connection, a timeout or 5xx.

    `status` is the last attempt's HTTP status, None when it got no answer. The event may
    still have been stored (a timeout after sending); sending it again with the same
    `event_id` is safe, as ticketsync answers a repeat `duplicate`.
    """

    def __init__(self, detail: str, *, status: int | None, attempts: int):
        super().__init__(detail)
        self.status = status
        self.attempts = attempts


class InvalidSignature(ClientError):
    """A delivery that is not one ticketsync signed, or not one to trust now.

    `code` is stable: `missing_signature`, `malformed_signature`, `malformed_timestamp`,
    `stale_timestamp`, `invalid_signature`, or `invalid_payload` (signed, but not a
    payload in ticketsync's shape); `reason` says what is wrong, for a person.
    """

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
