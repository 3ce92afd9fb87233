"""The audit table's one-line summaries: help-desk events read as sentences, not JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from ticketsync.service.queries.audit import render, summarize
from ticketsync.service.store.entries import LogEntry


def event(
    event_type: str, source: str = "ticketsync", ticket: str = "local:1", /, **data: Any
) -> dict:
    system, _, ticket_id = ticket.partition(":")
    return {
        "type": event_type,
        "source": source,
        "ticket": {"system": system, "id": ticket_id},
        "data": data,
    }


def local(event_type: str, **data: Any) -> dict:
    """An event of the built-in desk: the typed event's fields, as the log keeps them."""
    common = {"system": "local", "ticket_id": "1", "external_id": "conv_42"}
    return event(event_type, **common, occurred_at="2026-11-25T10:00:00+00:00", **data)


def zendesk(what: str, change: dict[str, Any]) -> dict:
    """A Zendesk event-subscription payload, the whole of it (it has no `data` envelope)."""
    return event(
        f"zen:event-type:ticket.{what}",
        "zendesk",
        "zendesk:5158",
        id="01JDQ8W5Y3S9K7H2M4N6P8R0TV",
        type=f"zen:event-type:ticket.{what}",
        time="2026-11-25T10:00:00.123456789Z",
        detail={"id": "5158", "external_id": "conv_42", "status": "OPEN"},
        event=change,
    )


def zendesk_comment(body: str, *, public: bool, name: str | None, staff: bool = True) -> dict:
    author = {"id": "366001", "is_staff": staff, "name": name}
    comment = {"id": "54509363035291", "body": body, "is_public": public, "author": author}
    return zendesk("comment_added", {"comment": comment})


def comment(body: str, *, public: bool, author: str | None = "Dana", agent: bool = True) -> dict:
    return local(
        "ticket.comment_added",
        comment_id="7",
        body=body,
        public=public,
        author_id=None,
        author_name=author,
        author_is_agent=agent,
    )


CASES = [
    pytest.param(
        comment("On it!", public=True), "Dana commented publicly: On it!", id="local-public"
    ),
    pytest.param(
        comment("Refund needs approval", public=False),
        "Dana added an internal note: Refund needs approval",
        id="local-internal-note",
    ),
    pytest.param(
        comment("Thanks", public=True, author=None, agent=False),
        "the requester commented publicly: Thanks",
        id="local-nameless-requester",
    ),
    pytest.param(
        local("ticket.status_changed", status="solved", previous="new", actor_id=None),
        "status new → solved",
        id="local-status",
    ),
    pytest.param(
        local("ticket.status_changed", status="open", previous=None, actor_id=None),
        "status set to open",
        id="local-status-previous-unknown",
    ),
    pytest.param(
        local("ticket.priority_changed", priority="urgent", actor_id=None),
        "priority set to urgent",
        id="local-priority",
    ),
    pytest.param(
        local("ticket.group_changed", group_id="Billing Team", group="Billing Team", actor_id=None),
        "group set to Billing Team",
        id="local-group",
    ),
    pytest.param(
        local("ticket.group_changed", group_id=None, group=None, actor_id=None),
        "group cleared",
        id="local-group-cleared",
    ),
    pytest.param(
        local("ticket.assignee_changed", assignee_id="Sam", assignee="Sam", actor_id=None),
        "assigned to Sam",
        id="local-assignee",
    ),
    pytest.param(
        local("ticket.assignee_changed", assignee_id=None, assignee=None, actor_id=None),
        "unassigned",
        id="local-unassigned",
    ),
    pytest.param(
        zendesk_comment("Your refund is on its way.", public=True, name="Ana Agent"),
        "Ana Agent commented publicly: Your refund is on its way.",
        id="zendesk-public",
    ),
    pytest.param(
        zendesk_comment("Customer sounds upset", public=False, name=None),
        "an agent added an internal note: Customer sounds upset",
        id="zendesk-nameless-internal-note",
    ),
    pytest.param(
        zendesk("status_changed", {"previous": "OPEN", "current": "SOLVED"}),
        "status open → solved",
        id="zendesk-status",
    ),
    pytest.param(
        zendesk("priority_changed", {"previous": "HIGH", "current": "URGENT"}),
        "priority high → urgent",
        id="zendesk-priority",
    ),
    pytest.param(
        zendesk("priority_changed", {"previous": None, "current": "URGENT"}),
        "priority set to urgent",
        id="zendesk-priority-first-set",
    ),
    pytest.param(
        zendesk("group_assignment_changed", {"previous": "360001", "current": "360005555"}),
        "group set to group #360005555",
        id="zendesk-group-by-id",
    ),
    pytest.param(
        zendesk("agent_assignment_changed", {"previous": None, "current": "366001"}),
        "assigned to agent #366001",
        id="zendesk-assignee-by-id",
    ),
    pytest.param(
        event(
            "trigger.comment_added",
            "zendesk",
            "zendesk:5158",
            ticketsync="trigger/1",
            ticket_id="5158",
            status="open",
            comment={
                "id": "1",
                "body": "Replying from a trigger.",
                "public": "true",
                "author_name": "Ana Agent",
                "author_role": "Agent",
            },
        ),
        "ticket 5158 changed: a notice, read from the help desk",
        id="zendesk-trigger-comment-is-not-repeated",
    ),
    pytest.param(
        event(
            "trigger.status_changed",
            "zendesk",
            "zendesk:5158",
            ticketsync="trigger/1",
            ticket_id="5158",
            status="pending",
            comment=None,
        ),
        "ticket 5158 changed: a notice, read from the help desk",
        id="zendesk-trigger-status",
    ),
    pytest.param(
        event(
            "trigger.ticket_changed",
            "zendesk",
            "zendesk:5158",
            ticketsync="trigger/2",
            ticket_id="5158",
            comment_id="54509363035291",
        ),
        "ticket 5158 changed: a notice, read from the help desk",
        id="zendesk-trigger-notice",
    ),
    pytest.param(
        event(
            "ticket.read",
            "ticketsync",
            "zendesk:5158",
            call_id="call-9-0",
            kind="read_ticket",
            snapshot={"status": "open", "priority": "medium", "comments": [{"id": "1"}]},
        ),
        "read zendesk:5158: status open, priority medium, 1 comment",
        id="ticket-read",
    ),
    pytest.param(
        event("ticket.read", "ticketsync", "zendesk:5158", kind="read_ticket", snapshot=None),
        "read zendesk:5158: not on the help desk",
        id="ticket-read-gone",
    ),
    pytest.param(
        event("call.queued", call_id="local:1:c1", kind="send_reply", ticket_id="1"),
        "send_reply local:1",
        id="call-queued-without-details-has-no-colon",
    ),
    pytest.param(
        event("call.queued", call_id="local:1:c2", kind="add_comment", public=False),
        "add_comment local:1: public=False",
        id="call-queued-with-details",
    ),
    pytest.param(
        event(
            "alert.queued",
            call_id="alert:parked:call-7-0:raised",
            kind="send_alert",
            incident="parked:call-7-0",
            recovered=False,
            system="zendesk",
        ),
        "an admin is told of it (zendesk, parked:call-7-0)",
        id="alert-queued",
    ),
    pytest.param(
        event(
            "alert.queued",
            call_id="alert:failing:jira:1:recovered",
            kind="send_alert",
            incident="failing:jira:1",
            recovered=True,
            system="jira",
        ),
        "an admin is told of its end (jira, failing:jira:1)",
        id="alert-recovery-queued",
    ),
    pytest.param(
        event("control.changed", holder="human", reason="escalated"),
        "people hold the conversation now (escalated)",
        id="control-to-people",
    ),
    pytest.param(
        event("control.changed", holder="agent", reason="ticket_solved"),
        "the AI agent holds the conversation again (ticket_solved)",
        id="control-to-the-agent",
    ),
    pytest.param(
        event(
            "call.queued",
            call_id="call-9-0",
            kind="tell_ticket_created",
            type="ticket.created",
            ticket={"system": "zendesk", "id": "42", "status": "new"},
            follows={"system": "zendesk", "id": "41"},
        ),
        "tell the chat: its ticket is zendesk:42 (new), following zendesk:41",
        id="tell-ticket-created",
    ),
    pytest.param(
        event(
            "call.queued",
            call_id="call-9-1",
            kind="tell_status_changed",
            type="ticket.status_changed",
            ticket={"system": "zendesk", "id": "42", "status": "solved"},
            previous_status="open",
        ),
        "tell the chat: zendesk:42 is solved (was open)",
        id="tell-status",
    ),
    pytest.param(
        event(
            "call.queued",
            call_id="call-9-2",
            kind="tell_control_changed",
            type="control.changed",
            holder="human",
            reason="agent_replied",
        ),
        "tell the chat: a human holds the conversation (agent_replied)",
        id="tell-control",
    ),
]


@pytest.mark.parametrize("rendered, expected", CASES)
def test_summarize(rendered: dict, expected: str) -> None:
    assert summarize(rendered) == expected


def test_a_help_desk_delivery_is_shown_whole_and_a_chat_one_by_its_data() -> None:
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    payload = zendesk("status_changed", {"previous": "OPEN", "current": "SOLVED"})["data"]
    delivery = LogEntry(
        position=1,
        source="zendesk",
        delivery_id=payload["id"],
        type=payload["type"],
        occurred_at=at,
        recorded_at=at,
        ticket="zendesk:5158",
        raw=orjson.dumps(payload).decode(),
    )
    rendered = render(delivery)
    assert rendered["data"] == payload
    assert summarize(rendered) == "status open → solved"
    chat = {"type": "conversation.escalated", "data": {"conversation_id": "c", "reason": "r"}}
    message = replace(delivery, source="chat", type=chat["type"], raw=orjson.dumps(chat).decode())
    assert render(message)["data"] == chat["data"]
