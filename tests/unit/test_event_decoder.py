"""Parse once: what ingest understood is stored beside the raw body and read back as the
same typed event, by one decoder; older entries (raw body only) still read as before."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from datetime import UTC, datetime

import orjson
import pytest

from ticketsync.adapters.chat import webhooks as chat
from ticketsync.events import chat as chat_events
from ticketsync.events import outcomes, registry, ticket_side
from ticketsync.events.chat import (
    ConversationEscalated,
    ConversationResolved,
    ConversationStarted,
    Customer,
    IntentsDetected,
    MessageCreated,
    NoteAdded,
    ToolExecuted,
)
from ticketsync.events.outcomes import (
    TicketCreated,
    TicketFoundClosed,
    TicketFoundGone,
    TicketRead,
)
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketChangeNoticed,
    TicketCommentAdded,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import DeskComment, TicketRef, TicketSnapshot
from ticketsync.service.bootstrap import PARSE_STORED
from ticketsync.service.store import codec
from ticketsync.service.store.entries import LogEntry
from ticketsync.service.workers.projector import decoder

AT = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)
TICKET = {"system": "zendesk", "ticket_id": "42", "external_id": "conv_1", "occurred_at": AT}

SAMPLES = [
    ConversationStarted(
        conversation_id="conv_1",
        customer=Customer(id="u1", email="a@example.com", name="Ann"),
        subject="Refund",
        channel="web",
        occurred_at=AT,
    ),
    MessageCreated(
        conversation_id="conv_1", message_id="m1", role="user", content="hi", occurred_at=AT
    ),
    ToolExecuted(
        conversation_id="conv_1",
        tool="refund_lookup",
        input_json='{"order":"A1"}',
        output_json="null",
        status="ok",
        occurred_at=AT,
    ),
    IntentsDetected(conversation_id="conv_1", intents=("billing_problem", "bug"), occurred_at=AT),
    ConversationEscalated(conversation_id="conv_1", reason="a human please", occurred_at=AT),
    ConversationResolved(conversation_id="conv_1", resolution="resolved", occurred_at=AT),
    NoteAdded(conversation_id="conv_1", text="Customer is a reseller", occurred_at=AT),
    TicketCommentAdded(
        comment_id="7",
        body="On it",
        public=True,
        author_id="99",
        author_name="Dana",
        author_is_agent=True,
        **TICKET,
    ),
    TicketStatusChanged(
        status="solved",
        previous="open",
        actor_id="99",
        status_name="Done",
        change_id="10071",
        **TICKET,
    ),
    TicketPriorityChanged(priority="high", actor_id=None, change_id="10072", **TICKET),
    TicketGroupChanged(group="Billing Team", group_id="5", actor_id="99", **TICKET),
    TicketAssigneeChanged(assignee="Dana", assignee_id="99", actor_id="99", **TICKET),
    TicketCreated(
        conversation_id="conv_1",
        call_id="call-3-0",
        ticket=TicketRef(system="jira", id="OPS-1", status="new", status_name="To Do"),
        occurred_at=AT,
    ),
    TicketFoundClosed(conversation_id="conv_1", call_id="c", ticket_id="42", occurred_at=AT),
    TicketFoundGone(
        conversation_id="conv_1", call_id="c", ticket_id="42", item="m:m1", occurred_at=AT
    ),
    TicketChangeNoticed(comment_id="7", **TICKET),
    TicketRead(
        conversation_id="conv_1",
        call_id="call-9-0",
        system="zendesk",
        ticket_id="42",
        snapshot=TicketSnapshot(
            status="open",
            priority="medium",
            group_id="5",
            group="Billing Team",
            assignee_id="99",
            assignee="Dana",
            updated_at=AT,
            comments=(
                DeskComment(
                    id="7",
                    body="On it",
                    public=True,
                    author_id="99",
                    author_name="Dana",
                    author_is_agent=True,
                    created_at=AT,
                ),
            ),
        ),
        awaited=("status:solved",),
        occurred_at=AT,
    ),
]


def event_classes() -> set[type]:
    """Every event dataclass the domain defines (Customer is a value, not an event)."""
    found = set()
    for module in (chat_events, ticket_side, outcomes):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
                and "occurred_at" in {f.name for f in dataclasses.fields(value)}
            ):
                found.add(value)
    return found


def test_every_event_type_has_exactly_one_stored_name() -> None:
    assert set(registry.EVENT_TYPES.values()) == event_classes()
    assert len(registry.EVENT_NAMES) == len(registry.EVENT_TYPES)


def test_the_samples_cover_every_type() -> None:
    assert {type(sample) for sample in SAMPLES} == event_classes()


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: type(event).__name__)
def test_every_event_reads_back_as_it_was_stored(event: object) -> None:
    stored = codec.dump_event(event)
    assert orjson.loads(stored)["event"] == registry.EVENT_NAMES[type(event)]
    assert codec.load_event(stored) == event


def test_a_change_stored_before_change_ids_reads_as_naming_none() -> None:
    stored = codec.dump_event(
        TicketStatusChanged(status="open", previous=None, actor_id=None, **TICKET)
    )
    older = orjson.loads(stored)
    del older["data"]["change_id"]
    event = codec.load_event(orjson.dumps(older).decode())
    assert isinstance(event, TicketStatusChanged)
    assert event.change_id is None


def test_a_delivery_ticketsync_does_not_act_on_stores_no_event() -> None:
    assert codec.load_event(codec.dump_event(None)) is None


def test_an_unknown_name_is_refused_by_name() -> None:
    with pytest.raises(codec.UnknownEvent, match=r"ticket\.merged"):
        codec.load_event('{"event": "ticket.merged", "data": {}}')


def entry(**fields: object) -> LogEntry:
    defaults: dict[str, object] = {
        "position": 1,
        "source": "chat",
        "delivery_id": "evt_1",
        "type": "message.created",
        "occurred_at": AT,
        "recorded_at": AT,
        "conversation_id": "conv_1",
    }
    return LogEntry(**{**defaults, **fields})  # type: ignore[arg-type]


MESSAGE = orjson.dumps(
    {
        "type": "message.created",
        "timestamp": "2026-11-25T10:00:05Z",
        "data": {"conversation_id": "conv_1", "message_id": "m1", "role": "user", "content": "hi"},
    }
).decode()


def test_the_projection_reads_the_stored_event_and_never_the_body() -> None:
    decode = decoder({})  # no parser at all: the body cannot be read again
    stored = entry(raw="not even JSON", data=codec.dump_event(SAMPLES[1]))
    assert decode(stored) == SAMPLES[1]


def test_an_entry_from_before_is_read_from_its_body_by_its_sources_parser() -> None:
    old = entry(raw=MESSAGE)
    assert decoder(PARSE_STORED)(old) == chat.parse(MESSAGE.encode()).event
    # Without a parser for its source, the projection cannot read it; it says nothing false.
    assert decoder({})(old) is None


def test_ticketsyncs_own_entries_read_as_their_events() -> None:
    created = entry(
        source="ticketsync",
        type="ticket.created",
        data=orjson.dumps(
            {
                "call_id": "call-3-0",
                "kind": "create_ticket",
                "conversation_id": "conv_1",
                "ticket": {"system": "zendesk", "id": "42", "url": None, "status": "new"},
                "attempt": 1,
            }
        ).decode(),
    )
    assert decoder({})(created) == TicketCreated(
        conversation_id="conv_1",
        call_id="call-3-0",
        ticket=TicketRef(system="zendesk", id="42", status="new"),
        occurred_at=AT,
    )


def test_a_read_of_a_ticket_reads_back_from_the_outbox_entry() -> None:
    """The outbox records a read's answer as the event's fields beside the call's; the
    projection reads the same snapshot back, nested comments and all."""
    read = SAMPLES[-1]
    assert isinstance(read, TicketRead)
    fields = {name: getattr(read, name) for name in read.__dataclass_fields__}
    del fields["occurred_at"]
    stored = entry(
        source="ticketsync",
        type="ticket.read",
        data=codec.dumps({"kind": "read_ticket", "attempt": 1, **fields}),
    )
    assert decoder({})(stored) == read
    gone = TicketRead(**{**fields, "snapshot": None, "occurred_at": AT})
    assert (
        decoder({})(
            entry(
                source="ticketsync",
                type="ticket.read",
                data=codec.dumps({**fields, "snapshot": None}),
            )
        )
        == gone
    )


def test_an_unreadable_entry_is_passed_over_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    newer = entry(raw=MESSAGE, data='{"event": "conversation.merged", "data": {}}')
    with caplog.at_level(logging.WARNING):
        assert decoder(PARSE_STORED)(newer) is None
    assert "projection.unreadable_entry" in caplog.messages
