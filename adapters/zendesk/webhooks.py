"""Zendesk webhook payloads turned into ticket-side events.

Facts relied on are in docs/zendesk.md §1-2; the Zendesk-side setup is in
docs/zendesk-webhooks.md. Two payload families reach `POST /webhooks/zendesk`:

- Event-subscription webhooks: Zendesk's fixed envelope (`"type": "zen:event-type:ticket.…"`,
  `id`, `time`, `subject`, `detail`, `event`). The dedup key is the payload's `id`.
- Trigger webhooks: the JSON body ticketsync publishes for trigger-based accounts
  (trigger.TRIGGER_BODY), marked `"ticketsync": "trigger/2"` (or `trigger/1`, the body
  published before). Zendesk applies no envelope, so the dedup key is the
  `x-zendesk-webhook-invocation-id` header. Zendesk renders the body from a template into
  which it pastes what people wrote, so a delivery is believed for one thing only: that the
  ticket it names changed. It becomes a TicketChangeNoticed, on which the projection reads
  the ticket from the API (projections/from_reads.py); nothing else in the body is used.

Both are signed alike; signature.py checks that before `parse` sees the body. `parse` is a
pure function of its arguments; it raises Refused with the stable error code of
CONTRACT sections 2 and 3 (service/http/errors.py answers it with its status).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ticketsync.adapters import strict_json
from ticketsync.adapters.payload_fields import Fields
from ticketsync.adapters.zendesk.signature import INVOCATION_HEADER, TIMESTAMP_HEADER
from ticketsync.adapters.zendesk.trigger import (
    TRIGGER_MARKER,
    TRIGGER_NOTICE_TYPE,
    TRIGGER_VERSIONS,
)
from ticketsync.events.errors import Refused
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketChangeNoticed,
    TicketCommentAdded,
    TicketEvent,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import PRIORITIES, TICKET_STATUSES, Priority, TicketStatus

SYSTEM = "zendesk"
MAX_ID_LENGTH = 255

TICKET_EVENT_PREFIX = "zen:event-type:ticket."
COMMENT_ADDED = "zen:event-type:ticket.comment_added"
STATUS_CHANGED = "zen:event-type:ticket.status_changed"
PRIORITY_CHANGED = "zen:event-type:ticket.priority_changed"
GROUP_CHANGED = "zen:event-type:ticket.group_assignment_changed"
ASSIGNEE_CHANGED = "zen:event-type:ticket.agent_assignment_changed"

# Zendesk's "normal" is ticketsync's "medium" (CONTRACT section 4).
_PRIORITY_FROM_ZENDESK: Mapping[str, Priority] = {
    "low": "low",
    "normal": "medium",
    "high": "high",
    "urgent": "urgent",
}
assert set(_PRIORITY_FROM_ZENDESK.values()) == set(PRIORITIES)

# Payload times: RFC 3339 with up to nanoseconds (`time`), or minutes only
# ({{ticket.updated_at_with_timestamp}}).
_PAYLOAD_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<clock>[0-9]{2}:[0-9]{2}(?::[0-9]{2})?)"
    r"(?:\.(?P<fraction>[0-9]+))?(?P<zone>[Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)


@dataclass(frozen=True, kw_only=True)
class ZendeskDelivery:
    """A verified, well-formed Zendesk payload: its envelope, and its event when ticketsync acts on it."""

    delivery_id: str  # the dedup key
    type: str
    occurred_at: datetime
    ticket_id: str | None
    external_id: str | None  # the ticket's external_id: ticketsync's conversation id
    # None: a well-formed payload ticketsync does not act on; a notice for a trigger body.
    event: TicketEvent | TicketChangeNoticed | None
    data: dict[str, Any]  # what the audit trail shows


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    # HTTP header names are case-insensitive; Starlette's Headers already lower-cases them,
    # a plain dict in a test may not.
    return {name.lower(): value for name, value in headers.items()}


def _bad_request(code: str, detail: str, field: str | None = None) -> Refused:
    return Refused(code, detail, field)


def _invalid(detail: str, field: str) -> Refused:
    return Refused("invalid_data", detail, field)


def parse(body: bytes, headers: Mapping[str, str]) -> ZendeskDelivery:
    """Parse and validate an event-subscription payload or a ticketsync trigger body.

    Raises Refused: 400 `invalid_json` when the body is not JSON or repeats a key, 400
    `invalid_payload` when it is not an object or its envelope is missing or mistyped
    (event subscriptions: `id`, `type`, `time`, `detail`, `detail.id`; triggers: the
    version, `ticket_id`, `updated_at`, the invocation-id header), 422 `invalid_data` when
    a type ticketsync acts on carries an invalid field (a trigger body's `external_id`).
    """
    return _parse_payload(strict_json.loads(body), headers)


def _parse_payload(payload: Any, headers: Mapping[str, str]) -> ZendeskDelivery:
    """`parse` after the JSON."""
    if not isinstance(payload, dict):
        raise _bad_request("invalid_payload", "body must be a JSON object")
    if TRIGGER_MARKER in payload:
        return _parse_trigger(payload, _lowered(headers))
    return _parse_subscription(payload)


def _parse_time(text: str) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text, or None; naive times are taken as UTC."""
    match = _PAYLOAD_TIME.fullmatch(text)
    if not match:
        return None
    # datetime takes microseconds; Zendesk's `time` carries nanoseconds.
    fraction = (match["fraction"] or "")[:6]
    zone = match["zone"] or ""
    if zone in ("Z", "z"):
        zone = "+00:00"
    try:
        parsed = datetime.fromisoformat(
            f"{match['date']}T{match['clock']}{'.' + fraction if fraction else ''}{zone}"
        )
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _id_text(value: object) -> str | None:
    """An id as text: Zendesk sends ids as strings or as numbers."""
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _status(value: object) -> TicketStatus | None:
    """ticketsync's status for Zendesk's spelling of it (`OPEN`, `Open`, `On-hold`)."""
    if not isinstance(value, str):
        return None
    word = value.strip().lower().replace("_", "-").replace(" ", "-")
    if word == "on-hold":
        word = "hold"
    for status in TICKET_STATUSES:
        if word == status:
            return status
    return None


class _Fields(Fields):
    """Typed access to one object of a Zendesk payload: its statuses and priorities too."""

    def status(self, name: str) -> TicketStatus:
        value = _status(self.data.get(name))
        if value is None:
            raise self.fail(name, "a ticket status: " + ", ".join(TICKET_STATUSES))
        return value

    def optional_status(self, name: str) -> TicketStatus | None:
        if self.data.get(name) in (None, ""):
            return None
        return self.status(name)

    def optional_priority(self, name: str) -> Priority | None:
        value = self.data.get(name)
        if value in (None, ""):
            return None
        priority = _PRIORITY_FROM_ZENDESK.get(value.lower()) if isinstance(value, str) else None
        if priority is None:
            raise self.fail(name, "a priority: " + ", ".join(_PRIORITY_FROM_ZENDESK))
        return priority


# ---------------------------------------------------------------- event subscriptions


@dataclass(frozen=True)
class _Ticket:
    """What every ticket event shares, read from the envelope's `detail`."""

    ticket_id: str
    external_id: str | None
    actor_id: str | None
    occurred_at: datetime


def _parse_subscription(payload: dict[str, Any]) -> ZendeskDelivery:
    delivery_id = payload.get("id")
    if not isinstance(delivery_id, str) or not 0 < len(delivery_id) <= MAX_ID_LENGTH:
        raise _bad_request(
            "invalid_payload",
            f"id must be a non-empty string of at most {MAX_ID_LENGTH} characters",
            "id",
        )
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise _bad_request("invalid_payload", "type must be a non-empty string", "type")
    time_text = payload.get("time")
    occurred_at = _parse_time(time_text) if isinstance(time_text, str) else None
    if occurred_at is None:
        raise _bad_request("invalid_payload", "time must be an ISO-8601 time", "time")
    detail = payload.get("detail")
    if not isinstance(detail, dict):
        raise _bad_request("invalid_payload", "detail must be a JSON object", "detail")
    detail_id = _id_text(detail.get("id"))
    if detail_id is None:
        raise _bad_request(
            "invalid_payload", "detail.id must be a string or number id", "detail.id"
        )
    builder = _SUBSCRIPTION_BUILDERS.get(event_type)
    if builder is None:
        # Stored and answered 202 "ignored". Only ticket events describe a ticket; other
        # families (users, organizations) put other objects, and their external ids, in `detail`.
        is_ticket = event_type.startswith(TICKET_EVENT_PREFIX)
        external_id = detail.get("external_id")
        return ZendeskDelivery(
            delivery_id=delivery_id,
            type=event_type,
            occurred_at=occurred_at,
            ticket_id=detail_id if is_ticket else None,
            external_id=(external_id or None)
            if is_ticket and isinstance(external_id, str)
            else None,
            event=None,
            data=payload,
        )
    # For a type ticketsync acts on, a bad `detail` field is invalid data (422), like `event`.
    details = _Fields(detail, "detail")
    ticket = _Ticket(
        ticket_id=detail_id,
        external_id=details.optional_id("external_id"),
        actor_id=details.optional_id("actor_id"),
        occurred_at=occurred_at,
    )
    if not isinstance(payload.get("event"), dict):
        raise _invalid("event must be an object", "event")
    return ZendeskDelivery(
        delivery_id=delivery_id,
        type=event_type,
        occurred_at=occurred_at,
        ticket_id=ticket.ticket_id,
        external_id=ticket.external_id,
        event=builder(_Fields(payload["event"], "event"), ticket),
        data=payload,
    )


def _comment_added(f: _Fields, ticket: _Ticket) -> TicketCommentAdded:
    comment = f.object("comment")
    author = comment.object("author")
    return TicketCommentAdded(
        system=SYSTEM,
        ticket_id=ticket.ticket_id,
        comment_id=comment.id("id"),
        body=comment.text("body"),
        public=comment.boolean("is_public"),
        author_id=author.optional_id("id"),
        author_name=author.optional_text("name"),
        author_is_agent=author.boolean("is_staff"),
        external_id=ticket.external_id,
        occurred_at=ticket.occurred_at,
    )


def _status_changed(f: _Fields, ticket: _Ticket) -> TicketStatusChanged:
    return TicketStatusChanged(
        system=SYSTEM,
        ticket_id=ticket.ticket_id,
        status=f.status("current"),
        previous=f.optional_status("previous"),
        actor_id=ticket.actor_id,
        external_id=ticket.external_id,
        occurred_at=ticket.occurred_at,
    )


def _priority_changed(f: _Fields, ticket: _Ticket) -> TicketPriorityChanged:
    return TicketPriorityChanged(
        system=SYSTEM,
        ticket_id=ticket.ticket_id,
        priority=f.optional_priority("current"),
        actor_id=ticket.actor_id,
        external_id=ticket.external_id,
        occurred_at=ticket.occurred_at,
    )


def _group_changed(f: _Fields, ticket: _Ticket) -> TicketGroupChanged:
    return TicketGroupChanged(
        system=SYSTEM,
        ticket_id=ticket.ticket_id,
        group_id=f.optional_id("current"),
        group=None,  # the event carries the group's id only
        actor_id=ticket.actor_id,
        external_id=ticket.external_id,
        occurred_at=ticket.occurred_at,
    )


def _assignee_changed(f: _Fields, ticket: _Ticket) -> TicketAssigneeChanged:
    return TicketAssigneeChanged(
        system=SYSTEM,
        ticket_id=ticket.ticket_id,
        assignee_id=f.optional_id("current"),
        assignee=None,  # the event carries the agent's id only
        actor_id=ticket.actor_id,
        external_id=ticket.external_id,
        occurred_at=ticket.occurred_at,
    )


_SUBSCRIPTION_BUILDERS: Mapping[str, Callable[[_Fields, _Ticket], TicketEvent]] = {
    COMMENT_ADDED: _comment_added,
    STATUS_CHANGED: _status_changed,
    PRIORITY_CHANGED: _priority_changed,
    GROUP_CHANGED: _group_changed,
    ASSIGNEE_CHANGED: _assignee_changed,
}


# ---------------------------------------------------------------- trigger bodies


def _blank_to_none(value: Any) -> Any:
    """The body with every blank string (a placeholder with no value) read as None."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dict):
        return {key: _blank_to_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank_to_none(item) for item in value]
    return value


def _parse_trigger(payload: dict[str, Any], headers: Mapping[str, str]) -> ZendeskDelivery:
    """A delivery of TRIGGER_BODY, as Zendesk rendered it: a notice that a ticket changed.

    Only what comes before any text a person wrote is read: the ticket's id, its external
    id (which routes the notice to its conversation) and when it was updated. Even those
    may have been written by a customer's comment that closed its string (a later key wins
    in a JSON object), which is why a notice asks only for the ticket it names to be read,
    and the conversation applies the read only to its own current ticket. The comment's id
    is kept for the audit trail. The rest (a trigger/1 body's comment text, author, role and
    the ticket's fields) is neither checked nor used: the API is the truth.
    """
    if payload.get(TRIGGER_MARKER) not in TRIGGER_VERSIONS:
        raise _bad_request(
            "invalid_payload",
            f"{TRIGGER_MARKER} must be one of " + ", ".join(map(repr, TRIGGER_VERSIONS)),
            TRIGGER_MARKER,
        )
    # Zendesk adds no envelope to a trigger body, so a retry is recognised by its
    # invocation id (docs/zendesk.md §1).
    delivery_id = headers.get(INVOCATION_HEADER)
    if not delivery_id or len(delivery_id) > MAX_ID_LENGTH or not delivery_id.isprintable():
        raise _bad_request(
            "invalid_payload",
            f"a trigger delivery needs the {INVOCATION_HEADER} header",
            INVOCATION_HEADER,
        )
    data = _blank_to_none(payload)
    ticket_id = _id_text(data.get("ticket_id"))
    if ticket_id is None:
        raise _bad_request(
            "invalid_payload", "ticket_id must be a ticket id ({{ticket.id}})", "ticket_id"
        )
    occurred_at = _trigger_time(data.get("updated_at"), headers)
    external_id = _Fields(data, "").optional_id("external_id")
    comment = data.get("comment")
    named = comment.get("id") if isinstance(comment, dict) else data.get("comment_id")
    return ZendeskDelivery(
        delivery_id=delivery_id,
        type=TRIGGER_NOTICE_TYPE,
        occurred_at=occurred_at,
        ticket_id=ticket_id,
        external_id=external_id,
        event=TicketChangeNoticed(
            system=SYSTEM,
            ticket_id=ticket_id,
            comment_id=_id_text(named),
            external_id=external_id,
            occurred_at=occurred_at,
        ),
        data=data,
    )


def _trigger_time(value: object, headers: Mapping[str, str]) -> datetime:
    """When the ticket was updated; the signing time when the body leaves it out."""
    if value is not None:
        parsed = _parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            raise _bad_request(
                "invalid_payload", "updated_at must be an ISO-8601 time", "updated_at"
            )
        return parsed
    signed = headers.get(TIMESTAMP_HEADER)
    parsed = _parse_time(signed) if signed else None
    if parsed is None:
        raise _bad_request("invalid_payload", "updated_at is required", "updated_at")
    return parsed


def parse_stored(
    raw: str, delivery_id: str, recorded_at: datetime
) -> TicketEvent | TicketChangeNoticed | None:
    """The event of a delivery stored before its typed event was kept beside it.

    A trigger's body does not carry its delivery id or time: they came in headers, of which
    the log kept the invocation id (the delivery id) and the time it was recorded. It reads
    as the notice it is, like every trigger delivery.
    """
    headers = {
        INVOCATION_HEADER: delivery_id,
        TIMESTAMP_HEADER: recorded_at.isoformat(),
    }
    # Accepted already: read as it was then, a repeated key and all.
    return _parse_payload(strict_json.loads_stored(raw), headers).event
