"""Agents acting on the built-in help desk, through the read API.

`POST /tickets/local/{id}/comments` and `PATCH /tickets/local/{id}` change the built-in
ticket and record the same ticket-side events a help desk's webhooks would bring, in one
transaction, so the two-way loop runs with no outside help desk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ticketsync.adapters.ports import AgentDesk, AgentTicket
from ticketsync.events.errors import Refused
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketCommentAdded,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import PRIORITIES, TICKET_STATUSES, TicketChange
from ticketsync.service.bootstrap import Container
from ticketsync.service.store import codec
from ticketsync.service.store.entries import NewEntry

MAX_TEXT = 64 * 1024
COMMENT_FIELDS = ("author", "body", "public")


def _invalid(detail: str, field: str) -> Refused:
    return Refused("invalid_data", detail, field)


def desk(container: Container) -> AgentDesk:
    if container.agent_desk is None:
        raise Refused("not_found", "the built-in help desk is not in use (TICKETSYNC_TICKETING)")
    return container.agent_desk


def _entry(
    container: Container, event: Any, kind: str, ticket: AgentTicket, now: datetime, suffix: str
) -> NewEntry:
    return NewEntry(
        source="ticketsync",
        delivery_id=f"local-{ticket.id}-{suffix}",
        type=kind,
        occurred_at=now,
        recorded_at=now,
        conversation_id=ticket.external_id,
        ticket=f"local:{ticket.id}",
        data=codec.dumps(event),
    )


def comment(container: Container, ticket_id: str, payload: Any) -> dict[str, Any]:
    """Add an agent's comment; returns what the API answers. Raises Refused, NotFound, TicketClosed."""
    if not isinstance(payload, dict):
        raise Refused("invalid_payload", "body must be a JSON object")
    # A misspelt "public" would otherwise send an internal note to the customer.
    unknown = sorted(set(payload) - set(COMMENT_FIELDS))
    if unknown:
        raise _invalid(
            f"unknown field {unknown[0]!r}; fields are {', '.join(COMMENT_FIELDS)}", unknown[0]
        )
    author, body, public = payload.get("author"), payload.get("body"), payload.get("public", True)
    if not isinstance(author, str) or not author.strip() or len(author) > 255:
        raise _invalid("author must be a non-empty string of at most 255 characters", "author")
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_TEXT:
        raise _invalid(f"body must be a non-empty string of at most {MAX_TEXT} characters", "body")
    if not isinstance(public, bool):
        raise _invalid("public must be true or false", "public")
    now = datetime.fromtimestamp(container.clock(), UTC)

    def record(cursor: Any, ticket: AgentTicket, comment_id: int) -> None:
        event = TicketCommentAdded(
            system="local",
            ticket_id=str(ticket.id),
            comment_id=str(comment_id),
            body=body,
            public=public,
            author_id=None,
            author_name=author,
            author_is_agent=True,
            external_id=ticket.external_id,
            occurred_at=now,
        )
        entry = _entry(
            container, event, "ticket.comment_added", ticket, now, f"comment-{comment_id}"
        )
        container.log._sql.insert_with(cursor, [entry])

    comment_id = desk(container).agent_comment(
        ticket_id, author=author, body=body, public=public, also=record
    )
    return {
        "ticket": {"system": "local", "id": ticket_id},
        "comment_id": str(comment_id),
        "public": public,
    }


FIELDS = ("status", "priority", "group", "assignee")


def change(container: Container, ticket_id: str, payload: Any) -> dict[str, Any]:
    """Change a ticket as an agent; returns the ticket after. Raises as `comment` does."""
    if not isinstance(payload, dict):
        raise Refused("invalid_payload", "body must be a JSON object")
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise _invalid(f"unknown field {unknown[0]!r}; fields are {', '.join(FIELDS)}", unknown[0])
    if not payload:
        raise _invalid(f"give at least one of {', '.join(FIELDS)}", "status")
    status, priority = payload.get("status"), payload.get("priority")
    if status is not None and status not in TICKET_STATUSES[1:]:
        raise _invalid(f"status must be one of {', '.join(TICKET_STATUSES[1:])}", "status")
    if priority is not None and priority not in PRIORITIES:
        raise _invalid(f"priority must be one of {', '.join(PRIORITIES)}", "priority")
    for name in ("group", "assignee"):
        value = payload.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise _invalid(f"{name} must be a string of at most 255 characters", name)
    now = datetime.fromtimestamp(container.clock(), UTC)
    stamp = f"{int(now.timestamp() * 1_000_000)}"

    def record(cursor: Any, before: AgentTicket, after: AgentTicket) -> None:
        common = {
            "system": "local",
            "ticket_id": str(after.id),
            "actor_id": None,
            "external_id": after.external_id,
            "occurred_at": now,
        }
        entries = []
        if after.status != before.status:
            event = TicketStatusChanged(status=after.status, previous=before.status, **common)  # type: ignore[arg-type]
            entries.append(
                _entry(container, event, "ticket.status_changed", after, now, f"status-{stamp}")
            )
        if after.priority != before.priority:
            event = TicketPriorityChanged(priority=after.priority, **common)  # type: ignore[arg-type]
            entries.append(
                _entry(container, event, "ticket.priority_changed", after, now, f"priority-{stamp}")
            )
        if after.group != before.group:
            event = TicketGroupChanged(group_id=after.group, group=after.group, **common)  # type: ignore[arg-type]
            entries.append(
                _entry(container, event, "ticket.group_changed", after, now, f"group-{stamp}")
            )
        if after.assignee != before.assignee:
            event = TicketAssigneeChanged(
                assignee_id=after.assignee, assignee=after.assignee, **common
            )  # type: ignore[arg-type]
            entries.append(
                _entry(container, event, "ticket.assignee_changed", after, now, f"assignee-{stamp}")
            )
        if entries:
            container.log._sql.insert_with(cursor, entries)

    requested = TicketChange(
        status=status,
        priority=priority,
        group=payload.get("group"),
        assignee=payload.get("assignee"),
    )
    after = desk(container).agent_change(ticket_id, requested, also=record)
    return {
        "system": "local",
        "id": str(after.id),
        "status": after.status,
        "priority": after.priority,
        "group": after.group,
        "assignee": after.assignee,
    }
