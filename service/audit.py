"""The audit trail as people and machines read it: query parsing and event rendering.

Shared by GET /audit and `ticketsync audit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from ticketsync.events.errors import TicketsyncError
from ticketsync.service.log import AuditQuery, LogEntry

MAX_LIMIT = 1000
# The parameters of GET /audit; the HTTP layer refuses any other.
FILTERS = ("conversation_id", "ticket", "type", "since", "until", "after", "limit")
MAX_POSITION = 2**63 - 1  # the largest position either database can hold


def _whole(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²', which int() refuses."""
    return text.isascii() and text.isdigit() and len(text) <= 19


class BadQuery(TicketsyncError):
    """A filter of the audit query is invalid; `field` names it."""

    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field = field
        self.detail = detail


def parse_time(name: str, value: str) -> datetime:
    """An aware datetime from ISO-8601 (naive times are UTC); raises BadQuery."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(
            name, f"{name} must be an ISO-8601 time, e.g. 2026-11-25T10:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_ticket(value: str) -> str:
    """'SYSTEM:ID' checked for form; raises BadQuery."""
    system, colon, ticket_id = value.partition(":")
    if not colon or not system or not ticket_id:
        raise BadQuery("ticket", "ticket must look like SYSTEM:ID, e.g. zendesk:123")
    return value


def _given(params: Mapping[str, str], name: str) -> str | None:
    """A filter's value, None when it is left out; raises BadQuery when it is empty, which
    would otherwise read as no filter and widen the query."""
    value = params.get(name)
    if value is not None and not value:
        raise BadQuery(name, f"{name} is empty; leave it out or give it a value")
    return value


def query_from(params: Mapping[str, str]) -> AuditQuery:
    """An AuditQuery from GET /audit's parameters; raises BadQuery on a bad or empty value."""
    after_text = _given(params, "after") or "0"
    if not _whole(after_text) or int(after_text) > MAX_POSITION:
        raise BadQuery("after", "after must be the 'next' cursor of a previous page")
    limit_text = _given(params, "limit") or "100"
    if not _whole(limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise BadQuery("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    ticket = _given(params, "ticket")
    since = _given(params, "since")
    until = _given(params, "until")
    return AuditQuery(
        conversation_id=_given(params, "conversation_id"),
        ticket=parse_ticket(ticket) if ticket else None,
        type=_given(params, "type"),
        since=parse_time("since", since) if since else None,
        until=parse_time("until", until) if until else None,
        after=int(after_text),
        limit=int(limit_text),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render(entry: LogEntry) -> dict[str, Any]:
    """One event as GET /audit shows it (CONTRACT section 6)."""
    if entry.raw is not None:
        payload = orjson.loads(entry.raw)
        data = payload.get("data") if isinstance(payload, dict) else None
    else:
        data = orjson.loads(entry.data) if entry.data else None
    ticket = None
    if entry.ticket:
        system, _, ticket_id = entry.ticket.partition(":")
        ticket = {"system": system, "id": ticket_id}
    return {
        "position": entry.position,
        "id": entry.delivery_id,
        "type": entry.type,
        "source": entry.source,
        "occurred_at": _iso(entry.occurred_at),
        "recorded_at": _iso(entry.recorded_at),
        "conversation_id": entry.conversation_id,
        "ticket": ticket,
        "data": data,
        "caused_by": entry.caused_by,
    }


def _clip(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summarize(event: Mapping[str, Any]) -> str:
    """A one-line account of a rendered event, for the audit table."""
    data = event.get("data")
    if not isinstance(data, dict):
        return ""
    kind = event["type"]
    if kind == "conversation.started":
        customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
        who = customer.get("email") or customer.get("name") or customer.get("id") or "?"
        return _clip(f"{who}: {data.get('subject') or ''}")
    if kind == "message.created":
        return _clip(f"{data.get('role')}: {data.get('content')}")
    if kind == "tool.executed":
        return _clip(f"{data.get('tool')} ({data.get('status')})")
    if kind == "intents.detected" and isinstance(data.get("intents"), list):
        return _clip(", ".join(str(intent) for intent in data["intents"]))
    if kind == "conversation.escalated":
        return _clip(f"reason: {data.get('reason')}")
    if kind == "conversation.resolved":
        return _clip(f"resolution: {data.get('resolution')}")
    if event["source"] == "ticketsync":
        return _clip(_own(kind, data, event.get("ticket")))
    shown = {key: value for key, value in data.items() if key != "conversation_id"}
    return _clip(orjson.dumps(shown).decode())


def _own(kind: str, data: Mapping[str, Any], ticket: Mapping[str, str] | None) -> str:
    """What ticketsync decided or did, in words."""
    where = f" {ticket['system']}:{ticket['id']}" if ticket else ""
    call = data.get("kind", "")
    if kind == "ticket.requested":
        follow = f", follow-up of #{data['follow_up_of']}" if data.get("follow_up_of") else ""
        return f"create ticket for {data.get('group')} ({data.get('priority')}{follow}): {data.get('subject')}"
    if kind == "call.queued":
        details = ", ".join(
            f"{key}={value}"
            for key, value in data.items()
            if key not in ("call_id", "kind", "ticket_id")
        )
        return f"{call}{where}: {details}"
    if kind == "ticket.created":
        created = data.get("ticket") or {}
        return (
            f"created {created.get('system')}:{created.get('id')} (attempt {data.get('attempt')})"
        )
    if kind == "call.sent":
        return f"{call}{where} done (attempt {data.get('attempt')})"
    if kind == "call.failed":
        status = f" {data['status']}" if data.get("status") else ""
        return f"{call} attempt {data.get('attempt')} failed{status}: {data.get('error')}; retry in {data.get('retry_in')} s"
    if kind == "call.parked":
        return f"{call} parked after {data.get('attempt')} attempts: {data.get('error')}"
    if kind == "call.retried":
        return f"{call} made due again by an operator"
    if kind == "ticket.found_closed":
        return f"{where.strip()} is closed"
    return orjson.dumps(dict(data)).decode()
