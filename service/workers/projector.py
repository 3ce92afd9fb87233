"""The conversation projection: reads the log in pages and applies the reconciliation policy.

For each page it loads the conversations the page touches, folds each entry into its
conversation with `projections.conversation.apply`, and then writes in one transaction:
the conversations, the ticket read models, the outbox calls the decisions asked for, a log
entry per call (so the audit trail shows what was decided and why), and its new position.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ticketsync.events.commands import COMMAND_KINDS, TELL_TYPES, Command, CreateTicket
from ticketsync.events.errors import Refused
from ticketsync.events.registry import OUTCOME_TYPES, TICKET_SIDE_TYPES
from ticketsync.projections.conversation import Conversation, Event, Policy, apply
from ticketsync.projections.view import Control
from ticketsync.service.store import codec
from ticketsync.service.store.calls import Call, new_call
from ticketsync.service.store.entries import LogEntry, NewEntry
from ticketsync.service.store.read_models import LIVE, ModelTables
from ticketsync.service.store.tables import Store, Tx

logger = logging.getLogger(__name__)

NAME = "conversations"
PAGE = 500


# What the projection reads of a delivery stored before ingest kept its typed event:
# source -> (raw body, delivery id, recorded at) -> the event, or None. Bootstrap hands in
# the adapters' readers; a log written since needs none.
ParseStored = Callable[[str, str, datetime], object | None]

TICKET_SIDE = tuple(TICKET_SIDE_TYPES.values())
TELL_COMMANDS = tuple(TELL_TYPES)


def decoder(parse_stored: Mapping[str, ParseStored]) -> Callable[[LogEntry], Event | None]:
    """The typed event of a log entry, or None for entries the projection does not read."""

    def decode(entry: LogEntry) -> Event | None:
        try:
            if entry.raw is not None:
                # A delivery: what ingest understood of it, or (older logs) its body read again.
                if entry.data is not None:
                    return codec.load_event(entry.data)  # type: ignore[return-value]
                parse = parse_stored.get(entry.source)
                if parse is None:
                    return None
                return parse(entry.raw, entry.delivery_id, entry.recorded_at)  # type: ignore[return-value]
            if entry.source == "ticketsync" and entry.data is not None:
                kind = RECORDED.get(entry.type)
                if kind is not None:
                    return codec.load_record(kind, entry.data, entry.occurred_at)
        except (Refused, codec.UnknownEvent) as error:
            # Stored under older, looser rules, or by a newer version: passed over.
            logger.warning(
                "projection.unreadable_entry",
                extra={"position": entry.position, "error": str(error)},
            )
        return None

    return decode


# ticketsync's own entries that the projection reads: the built-in desk's agent actions
# and the outbox's outcomes.
RECORDED: dict[str, type] = {**TICKET_SIDE_TYPES, **OUTCOME_TYPES}


def call_id(position: int, index: int) -> str:
    """Deterministic: the same decision always names its calls the same."""
    return f"call-{position}-{index}"


def describe(command: Command) -> dict[str, object]:
    """What the audit trail shows of a queued call."""
    if isinstance(command, CreateTicket):
        ticket = command.ticket
        return {
            "subject": ticket.subject,
            "group": ticket.group,
            "priority": ticket.priority,
            "tags": list(ticket.tags),
            "follow_up_of": ticket.follow_up_of,
        }
    if isinstance(command, TELL_COMMANDS):
        told = orjson.loads(codec.dumps(command))
        return {
            "type": TELL_TYPES[type(command)],
            **{k: v for k, v in told.items() if k not in ("conversation_id", "occurred_at")},
        }
    described: dict[str, object] = {"ticket_id": command.ticket_id}
    if hasattr(command, "comment"):
        described["public"] = command.comment.public  # type: ignore[union-attr]
        if command.comment.keep_status is not None:  # type: ignore[union-attr]
            described["keep_status"] = command.comment.keep_status  # type: ignore[union-attr]
    if hasattr(command, "change"):
        change = command.change  # type: ignore[union-attr]
        described.update(
            {k: v for k, v in orjson.loads(codec.dumps(change)).items() if v not in (None, [])}
        )
    return described


def _control_changed(cause: LogEntry, view: Conversation, now: float) -> NewEntry:
    """The audit's record of a hand-over, whether or not the chat is told of it."""
    ticket = view.ticket
    at = datetime.fromtimestamp(now, UTC)
    return NewEntry(
        source="ticketsync",
        delivery_id=f"control-{cause.position}",
        type="control.changed",
        occurred_at=at,
        recorded_at=at,
        conversation_id=view.conversation_id,
        ticket=f"{ticket.system}:{ticket.id}" if ticket is not None else None,
        caused_by=cause.key,
        data=codec.dumps({"holder": view.control.holder, "reason": view.control.reason}),
    )


@dataclass
class Page:
    """What one page of the log produced, to be written in one transaction."""

    conversations: dict[str, Conversation]
    entries: list[NewEntry]
    calls: list[Call]
    decided: list[tuple[str, str]]  # (call id, kind) of every call decided, also unrecorded


def write_models(tx: Tx, page: Page, position: int, tables: ModelTables = LIVE) -> None:
    """Store the conversations a page changed, and their tickets' read models."""
    tx.put_conversations(
        {cid: codec.dumps(view) for cid, view in page.conversations.items()}, position, tables
    )
    # Every ticket the conversation has had, not only the current one: what a page writes
    # must not depend on where the page boundaries fell.
    tx.put_tickets(
        (
            (ticket.system, ticket.id, cid, codec.dumps(ticket))
            for cid, view in page.conversations.items()
            for ticket in (*view.previous_tickets, *((view.ticket,) if view.ticket else ()))
        ),
        tables,
    )


class ConversationProjector:
    """Applies the log to the conversations, one page per transaction."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        clock: Callable[[], float],
        *,
        name: str = NAME,
        start: Callable[[], int | None] | None = None,
        parse_stored: Mapping[str, ParseStored] | None = None,
    ):
        self.store = store
        self.policy = policy
        self.clock = clock
        self.name = name
        self.queued = 0  # calls the last page queued (once it committed)
        # Run before the first page until it succeeds: the start-up build of a projection
        # new to the database (bootstrap hands in the rebuild's), returning the entries it
        # read, or None when there was nothing to build.
        self._start = start
        self.parse_stored: Mapping[str, ParseStored] = dict(parse_stored or {})
        self.decode = decoder(self.parse_stored)

    def run_once(self, limit: int = PAGE) -> int:
        """Apply the next page of the log; returns how many entries it read."""
        self.queued = 0
        if self._start is not None:
            built = self._start()
            self._start = None
            if built is not None:
                return built
        with self.store.transaction(durable=False) as tx:
            tx.lock_projection(self.name)
            position = tx.position(self.name)
            entries = tx.read(position, limit)
            if not entries:
                return 0
            page = self.fold(tx, entries)
            tx.move(self.name, position, entries[-1].position)
            # The writes go out together: nothing below reads a row count, and only the
            # log's positions are waited for.
            with tx.pipeline():
                tx.add_calls(page.calls)
                write_models(tx, page, entries[-1].position)
                # Last: on PostgreSQL appending takes the log's exclusive lock until commit,
                # and webhooks wait on it; hold it as briefly as possible.
                tx.append(page.entries)
        self.queued = len(page.calls)
        return len(entries)

    def fold(
        self,
        tx: Tx,
        entries: list[LogEntry],
        tables: ModelTables = LIVE,
        *,
        record: bool = True,
        known: Mapping[str, Conversation] | None = None,
    ) -> Page:
        """Apply entries to their conversations (read from `tables`); nothing is written.

        Without `record` (a rebuild), decided calls are only named in `decided`: no outbox
        row or log entry is prepared for them. `known` conversations are taken as they are
        instead of being read (the previous page's, while it is still being written).
        """
        ids = {entry.conversation_id for entry in entries if entry.conversation_id}
        views = {cid: known[cid] for cid in ids & known.keys()} if known else {}
        stored = tx.conversations(ids - views.keys(), tables)
        views.update((cid, codec.loads(Conversation, state)) for cid, state in stored.items())
        page = Page(conversations={}, entries=[], calls=[], decided=[])
        now = self.clock()
        for entry in entries:
            event = self.decode(entry)
            if event is None or entry.conversation_id is None:
                continue
            cid = entry.conversation_id
            before = views.get(cid)
            view, commands = apply(before or Conversation(conversation_id=cid), event, self.policy)
            if before is None and isinstance(event, TICKET_SIDE) and not commands:
                # A webhook about a ticket ticketsync did not make: stored, and nothing more.
                continue
            views[cid] = view
            page.conversations[cid] = view
            held = before.control.holder if before is not None else Control().holder
            if record and view.control.holder != held:
                page.entries.append(_control_changed(entry, view, now))
            for index, command in enumerate(commands):
                identifier = call_id(entry.position, index)
                page.decided.append((identifier, COMMAND_KINDS[type(command)]))
                if record:
                    self._queue(page, entry, view, identifier, command, now)
        return page

    def _queue(
        self,
        page: Page,
        cause: LogEntry,
        view: Conversation,
        identifier: str,
        command: Command,
        now: float,
    ) -> None:
        kind = COMMAND_KINDS[type(command)]
        ticket = None
        if isinstance(command, TELL_COMMANDS):
            told = command.ticket
            ticket = f"{told.system}:{told.id}" if told is not None else None
        elif not isinstance(command, CreateTicket):
            ticket = f"{view.ticket.system}:{command.ticket_id}"  # type: ignore[union-attr]
        queued = NewEntry(
            source="ticketsync",
            delivery_id=f"{identifier}.queued",
            type="ticket.requested" if isinstance(command, CreateTicket) else "call.queued",
            occurred_at=datetime.fromtimestamp(now, UTC),
            recorded_at=datetime.fromtimestamp(now, UTC),
            conversation_id=view.conversation_id,
            ticket=ticket,
            caused_by=cause.key,
            data=codec.dumps({"call_id": identifier, "kind": kind, **describe(command)}),
        )
        page.entries.append(queued)
        page.calls.append(
            new_call(
                call_id=identifier,
                conversation_id=view.conversation_id,
                kind=kind,
                command=codec.dumps(command),
                now=now,
                queued_key=queued.key,
                cause_position=cause.position,
            )
        )
