"""The audit trail as people and machines read it: query parsing and event rendering.

Shared by GET /audit and `ticketsync audit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from ticketsync.events import conversation_ids
from ticketsync.events.errors import TicketsyncError
from ticketsync.service.store.log import AuditQuery, EventLog, LogEntry

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
    conversation_id = _given(params, "conversation_id")
    problem = conversation_ids.problem(conversation_id) if conversation_id else None
    if problem is not None:
        # No such id was ever accepted: say so, rather than answer an empty page.
        raise BadQuery(
            "conversation_id", f"conversation_id {problem}; an id is {conversation_ids.RULE}"
        )
    ticket = _given(params, "ticket")
    since = _given(params, "since")
    until = _given(params, "until")
    return AuditQuery(
        conversation_id=conversation_id,
        ticket=parse_ticket(ticket) if ticket else None,
        type=_given(params, "type"),
        since=parse_time("since", since) if since else None,
        until=parse_time("until", until) if until else None,
        after=int(after_text),
        limit=int(limit_text),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page(log: EventLog, query: AuditQuery) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the audit trail, rendered, and the cursor of the next (or None).

    Each entry's `caused_by` names its cause by key; one look-up finds those entries'
    positions, so a reader can follow the chain.
    """
    entries, cursor = log.query(query)
    causes = log.positions(entry.caused_by for entry in entries if entry.caused_by)
    return [render(entry, causes) for entry in entries], cursor


def cause(key: str | None, causes: Mapping[str, int]) -> dict[str, Any] | None:
    """`caused_by` as the contract shows it: the position and id of the entry it names."""
    if key is None:
        return None
    _, _, delivery_id = key.partition(":")
    return {"position": causes.get(key), "id": delivery_id}


def render(entry: LogEntry, causes: Mapping[str, int] | None = None) -> dict[str, Any]:
    """One event as GET /audit shows it (CONTRACT section 6); `causes` are the positions
    of the entries that `caused_by` keys name (see `page`)."""
    if entry.raw is not None:
        payload = orjson.loads(entry.raw)
        # A chat delivery's facts are its `data`; a help desk's payload has no such envelope.
        if entry.source != "chat":
            data = payload
        else:
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
        "caused_by": cause(entry.caused_by, causes or {}),
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
    if kind == "note.added":
        return _clip(f"note: {data.get('text')}")
    desk = _desk(kind, data)
    if desk is not None:
        return _clip(desk)
    if event["source"] == "ticketsync":
        return _clip(_own(kind, data, event.get("ticket")))
    shown = {key: value for key, value in data.items() if key != "conversation_id"}
    return _clip(orjson.dumps(shown).decode())


def _commented(author: object, public: object, body: object, *, agent: object = True) -> str:
    who = author or ("an agent" if agent else "the requester")
    if public in (True, "true"):
        return f"{who} commented publicly: {body}"
    return f"{who} added an internal note: {body}"


def _status(previous: object, current: object) -> str:
    return f"status {previous} → {current}" if previous else f"status set to {current}"


def _priority(previous: object, current: object) -> str:
    if not current:
        return "priority cleared"
    return f"priority {previous} → {current}" if previous else f"priority set to {current}"


def _lower(value: object) -> object:
    # Zendesk spells its enums in capitals (`OPEN`, `HIGH`); the trail uses ticketsync's words.
    return value.lower() if isinstance(value, str) else value


def _desk(kind: str, data: Mapping[str, Any]) -> str | None:
    """What happened on a help desk, in words: the built-in desk's events (the typed event's
    fields), Zendesk's event subscriptions and trigger bodies; None for anything else."""
    if kind == "ticket.comment_added":
        return _commented(
            data.get("author_name"),
            data.get("public"),
            data.get("body"),
            agent=data.get("author_is_agent"),
        )
    if kind == "ticket.status_changed":
        return _status(data.get("previous"), data.get("status"))
    if kind == "ticket.priority_changed":
        return _priority(None, data.get("priority"))
    if kind == "ticket.group_changed":
        group = data.get("group") or data.get("group_id")
        return f"group set to {group}" if group else "group cleared"
    if kind == "ticket.assignee_changed":
        assignee = data.get("assignee") or data.get("assignee_id")
        return f"assigned to {assignee}" if assignee else "unassigned"
    if kind.startswith("zen:event-type:ticket."):
        change = data.get("event") if isinstance(data.get("event"), dict) else {}
        previous, current = _lower(change.get("previous")), _lower(change.get("current"))
        what = kind.removeprefix("zen:event-type:ticket.")
        if what == "comment_added" and isinstance(change.get("comment"), dict):
            comment = change["comment"]
            author = comment.get("author") if isinstance(comment.get("author"), dict) else {}
            return _commented(
                author.get("name"),
                comment.get("is_public"),
                comment.get("body"),
                agent=author.get("is_staff"),
            )
        if what == "status_changed":
            return _status(previous, current)
        if what == "priority_changed":
            return _priority(previous, current)
        # These two carry ids only: Zendesk's group and agent ids.
        if what == "group_assignment_changed":
            return f"group set to group #{current}" if current else "group cleared"
        if what == "agent_assignment_changed":
            return f"assigned to agent #{current}" if current else "unassigned"
        return None
    if kind.startswith("trigger."):
        # A trigger body is a template filled with what people wrote: whatever else it says
        # is not repeated here as if it were so. What the API said is the `ticket.read`.
        return f"ticket {data.get('ticket_id')} changed: a notice, read from the help desk"
    return None


def _told_ticket(data: Mapping[str, Any]) -> str:
    ticket = data.get("ticket") or {}
    return f"{ticket.get('system')}:{ticket.get('id')}"


# What the chat is told, in words, by the type of what it is told.
TOLD: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "ticket.created": lambda data: (
        f"its ticket is {_told_ticket(data)} ({(data.get('ticket') or {}).get('status')})"
        + (
            f", following {_told_ticket({'ticket': data['follows']})}"
            if data.get("follows")
            else ""
        )
    ),
    "ticket.status_changed": lambda data: (
        f"{_told_ticket(data)} is {(data.get('ticket') or {}).get('status')} "
        f"(was {data.get('previous_status')})"
    ),
    "control.changed": lambda data: (
        f"a human holds the conversation ({data.get('reason')})"
        if data.get("holder") == "human"
        else f"the AI agent holds the conversation ({data.get('reason')})"
    ),
}


def _own(kind: str, data: Mapping[str, Any], ticket: Mapping[str, str] | None) -> str:
    """What ticketsync decided or did, in words."""
    where = f" {ticket['system']}:{ticket['id']}" if ticket else ""
    call = data.get("kind", "")
    if kind == "ticket.requested":
        follow = f", follow-up of #{data['follow_up_of']}" if data.get("follow_up_of") else ""
        return f"create ticket for {data.get('group')} ({data.get('priority')}{follow}): {data.get('subject')}"
    if kind == "control.changed":
        if data.get("holder") == "human":
            return f"people hold the conversation now ({data.get('reason')})"
        return f"the AI agent holds the conversation again ({data.get('reason')})"
    if kind == "call.queued" and data.get("type") in TOLD:
        return "tell the chat: " + TOLD[str(data["type"])](data)
    if kind == "call.queued":
        details = ", ".join(
            f"{key}={value}"
            for key, value in data.items()
            if key not in ("call_id", "kind", "ticket_id")
        )
        return f"{call}{where}: {details}" if details else f"{call}{where}"
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
    if kind == "call.refused":
        status = f" {data['status']}" if data.get("status") else ""
        return f"{call}{where} refused{status}: {data.get('error')}; {data.get('next')}"
    if kind == "alert.queued":
        told = "its end" if data.get("recovered") else "it"
        return f"an admin is told of {told} ({data.get('system')}, {data.get('incident')})"
    if kind == "ticket.found_closed":
        return f"{where.strip()} is closed"
    if kind == "ticket.found_gone":
        return f"{where.strip()} is gone from the help desk"
    if kind == "ticket.read":
        snapshot = data.get("snapshot")
        if not isinstance(snapshot, dict):
            return f"read{where}: not on the help desk"
        comments = snapshot.get("comments") if isinstance(snapshot.get("comments"), list) else []
        return (
            f"read{where}: status {snapshot.get('status')}, priority {snapshot.get('priority')},"
            f" {len(comments)} comment{'' if len(comments) == 1 else 's'}"
        )
    return orjson.dumps(dict(data)).decode()
