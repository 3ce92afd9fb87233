"""The read API's shapes (CONTRACT section 6), built from the stored read models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ticketsync.projections.explain import Waiting
from ticketsync.projections.explain import explain as explained
from ticketsync.projections.view import Conversation, Ticket
from ticketsync.service.bootstrap import Container
from ticketsync.service.store import codec
from ticketsync.service.store.calls import Call


def _ticket(ticket: Ticket | None) -> dict[str, Any] | None:
    if ticket is None:
        return None
    return {
        "system": ticket.system,
        "id": ticket.id,
        "url": ticket.url,
        # CONTRACT section 4: Jira's tickets show Jira's own status name.
        "status": ticket.status_name or ticket.status,
        "priority": ticket.priority,
        "group": ticket.group,
        "assignee": ticket.assignee,
    }


def conversation(container: Container, conversation_id: str) -> dict[str, Any] | None:
    """GET /conversations/{id}, or None when ticketsync has never heard of it."""
    state = container.store.conversation_state(conversation_id)
    if state is None:
        return None
    view = codec.loads(Conversation, state)
    route = container.projector.policy.routing.route_for(view.intents_by_priority())
    customer = view.customer
    return {
        "conversation_id": view.conversation_id,
        "status": view.status,
        "customer": None
        if customer is None
        else {"id": customer.id, "email": customer.email, "name": customer.name},
        "subject": view.subject,
        "channel": view.channel,
        "intents": list(view.intents),
        "route": {"group": route.group, "priority": route.priority, "tags": list(route.tags)},
        "message_count": view.message_count,
        "tools": list(view.tools),
        "escalation_reason": view.escalation_reason,
        "resolution": view.resolution,
        "ticket": _ticket(view.ticket),
        "ticket_requested": view.ticket_requested,
        "previous_tickets": [_ticket(t) for t in view.previous_tickets],
        "pending_calls": container.store.pending_calls(conversation_id),
        "control": control(view),
    }


def control(view: Conversation) -> dict[str, Any]:
    """Who should answer the customer, as GET /conversations/{id} and MCP's get_ticket show it."""
    since = view.control.since
    return {
        "holder": view.control.holder,
        "reason": view.control.reason,
        "since": None if since is None else since.isoformat().replace("+00:00", "Z"),
    }


def ticket(container: Container, system: str, ticket_id: str) -> dict[str, Any] | None:
    """GET /tickets/{system}/{id}: the ticket's read model, with the built-in desk's details."""
    found_state = container.store.ticket_state(system, ticket_id)
    if found_state is None:
        return None
    conversation_id, state = found_state
    data = orjson.loads(state)
    body: dict[str, Any] = {
        "system": system,
        "id": ticket_id,
        "url": data.get("url"),
        # CONTRACT section 4: Jira's tickets show Jira's own status name.
        "status": data.get("status_name") or data.get("status"),
        "conversation_id": conversation_id,
        # As ticketsync last set or saw them; the built-in desk's own record follows.
        "priority": data.get("priority"),
        "group": data.get("group"),
        "assignee": data.get("assignee"),
    }
    local = getattr(container.help_desk, "ticket", None)
    if system == "local" and local is not None:
        found = local(ticket_id)
        if found is not None:
            body.update(
                {
                    "status": found.status,
                    "subject": found.subject,
                    "priority": found.priority,
                    "group": found.group,
                    "assignee": found.assignee,
                    "tags": list(found.tags),
                    "requester": found.requester,
                    "follow_up_of": str(found.follow_up_of) if found.follow_up_of else None,
                    "comments": [
                        {"id": c.id, "author": c.author, "body": c.body, "public": c.public}
                        for c in found.comments
                    ],
                }
            )
    return body


def _at(seconds: float) -> str:
    """Unix seconds as the rest of the API shows times: ISO-8601 UTC with `Z`."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def call(call: Call) -> dict[str, Any]:
    """One outbox call, as GET /outbox and `ticketsync outbox list --json` show it."""
    return {
        "id": call.call_id,
        "conversation_id": call.conversation_id,
        "kind": call.kind,
        "state": call.state,
        "attempts": call.attempts,
        "next_attempt_at": _at(call.next_attempt_at),
        "last_error": call.last_error,
        "created_at": _at(call.created_at),
        "updated_at": _at(call.updated_at),
        "command": orjson.loads(call.command),
    }


def explain(container: Container, conversation_id: str) -> dict[str, Any] | None:
    """GET /conversations/{id}/explain and `ticketsync explain`, or None when ticketsync
    has never heard of the conversation."""
    state = container.store.conversation_state(conversation_id)
    if state is None:
        return None
    view = codec.loads(Conversation, state)
    now = container.clock()
    calls = [
        Waiting(
            call_id=call.call_id,
            kind=call.kind,
            state=call.state,
            attempts=call.attempts,
            last_error=call.last_error,
            due_in=call.next_attempt_at - now,
        )
        for call in container.store.unfinished_calls_of(conversation_id)
    ]
    return explained(view, container.projector.policy, calls)


def find(container: Container, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Conversations whose id or customer (name, email or id) holds `text`, newest first:
    each as its id, customer, subject and status."""
    found = []
    for conversation_id, state in container.store.find_conversations(text, limit):
        view = codec.loads(Conversation, state)
        customer = view.customer
        found.append(
            {
                "conversation_id": conversation_id,
                "customer": None
                if customer is None
                else {"id": customer.id, "email": customer.email, "name": customer.name},
                "subject": view.subject,
                "status": view.status,
            }
        )
    return found
