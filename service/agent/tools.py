"""The AI agent's tools (CONTRACT section 7), as plain async functions over one container.

What a tool stores is a chat event like any other: the section 2 payload, read by the chat
webhook's own parser (without the signature: the agent's token, or the process the agent
started, vouches for the caller) and appended by the same ingestor, under source `chat`, so
the audit shows it as it shows a webhook's. The transport (mcp.py) turns a Refused into a
tool error; its `field` names the tool's argument at fault.

    get_ticket   the conversation's status, ticket and who holds it
    escalate     stores conversation.escalated, then waits a little for the ticket
    add_note     stores note.added
    resolve      stores conversation.resolved
    explain      GET /conversations/{id}/explain
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
import orjson
from typing_extensions import TypedDict

from ticketsync.events.errors import Refused
from ticketsync.service.bootstrap import Container
from ticketsync.service.queries import views
from ticketsync.service.store import codec
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.log import AuditQuery

CHAT_PATH = "/webhooks/chat"
DEFAULT_WAIT = 5.0
MAX_WAIT = 30.0
# How often `escalate` looks at the read model while it waits: the projector runs in
# another process (serve's worker child, or serve beside `ticketsync mcp`), so there is no
# commit to wake on here, and a look is one indexed read.
WAIT_STEP = 0.05
MAX_KEY_LENGTH = 200
# A tool's deliveries share the chat's delivery ids; this prefix keeps them apart.
DELIVERY_PREFIX = "mcp:"


class TicketShown(TypedDict):
    system: str
    id: str
    url: str | None
    status: str | None


class Control(TypedDict):
    holder: str
    reason: str | None
    since: str | None


class TicketAnswer(TypedDict):
    conversation_id: str
    status: str
    ticket: TicketShown | None
    control: Control


class Accepted(TypedDict):
    accepted: bool
    position: int


class Escalated(TypedDict):
    accepted: bool
    position: int
    ticket: TicketShown | None


class Route(TypedDict):
    group: str
    priority: str
    tags: list[str]
    because: str


class Explanation(TypedDict):
    conversation_id: str
    needs_ticket: bool
    reasons: list[str]
    route: Route
    pending: list[str]
    control: str


def control_of(conversation: dict[str, Any]) -> Control:
    """Who should answer the customer, as GET /conversations/{id} shows it
    (docs/behaviour.md, Control)."""
    control = conversation["control"]
    return {"holder": control["holder"], "reason": control["reason"], "since": control["since"]}


def _ticket(shown: dict[str, Any] | None) -> TicketShown | None:
    """The four fields of section 7's `ticket`, from GET /conversations/{id}'s."""
    if shown is None:
        return None
    return {
        "system": shown["system"],
        "id": shown["id"],
        "url": shown["url"],
        "status": shown["status"],
    }


def _argument(error: Refused) -> Refused:
    """The parser's refusal, naming the tool's argument (`resolution`) in place of the
    payload's path (`data.resolution`) it came in."""
    field = error.field
    if field is None or not field.startswith("data."):
        return error
    argument = field.removeprefix("data.")
    return Refused(error.code, error.detail.replace(field, argument), argument)


def _unknown(conversation_id: str) -> Refused:
    return Refused(
        "not_found",
        f"ticketsync has no conversation {conversation_id!r}: nothing was stored or sent for it",
        "conversation_id",
    )


class Tools:
    """The five tools over one container (its ingestor started)."""

    def __init__(self, container: Container, *, monotonic: Any = time.monotonic):
        self.container = container
        self.source = container.webhooks[CHAT_PATH]
        self._monotonic = monotonic

    # ------------------------------------------------------------------ reading

    async def get_ticket(self, conversation_id: str) -> TicketAnswer:
        """Raises Refused when the id is malformed or no conversation has it."""
        self._check_id(conversation_id)
        shown = await anyio.to_thread.run_sync(views.conversation, self.container, conversation_id)
        if shown is None:
            raise _unknown(conversation_id)
        return {
            "conversation_id": shown["conversation_id"],
            "status": shown["status"],
            "ticket": _ticket(shown["ticket"]),
            "control": control_of(shown),
        }

    async def explain(self, conversation_id: str) -> Explanation:
        """Raises Refused when the id is malformed or no conversation has it."""
        self._check_id(conversation_id)
        explained = await anyio.to_thread.run_sync(views.explain, self.container, conversation_id)
        if explained is None:
            raise _unknown(conversation_id)
        return explained  # type: ignore[return-value]

    # ------------------------------------------------------------------ storing

    async def escalate(
        self,
        conversation_id: str,
        reason: str,
        wait_seconds: float = DEFAULT_WAIT,
        idempotency_key: str | None = None,
    ) -> Escalated:
        """Store conversation.escalated, then wait up to `wait_seconds` for the ticket.

        A conversation ticketsync has not heard of yet is accepted, as the webhook accepts
        it: an escalation may be the first thing the chat says of a conversation, and it is
        reason enough for a ticket. Raises Refused for a bad argument.
        """
        if (
            isinstance(wait_seconds, bool)
            or not isinstance(wait_seconds, int | float)
            or not math.isfinite(wait_seconds)
            or not 0 <= wait_seconds <= MAX_WAIT
        ):
            raise Refused(
                "invalid_data",
                f"wait_seconds must be a number from 0 to {MAX_WAIT:g}",
                "wait_seconds",
            )
        position = await self._store(
            "conversation.escalated", conversation_id, {"reason": reason}, idempotency_key
        )
        ticket = await self._ticket_within(conversation_id, float(wait_seconds))
        return {"accepted": True, "position": position, "ticket": ticket}

    async def add_note(
        self, conversation_id: str, text: str, idempotency_key: str | None = None
    ) -> Accepted:
        """Store note.added. Raises Refused for a bad argument or an unknown conversation."""
        await self._require_known(conversation_id)
        position = await self._store("note.added", conversation_id, {"text": text}, idempotency_key)
        return {"accepted": True, "position": position}

    async def resolve(self, conversation_id: str, resolution: str) -> Accepted:
        """Store conversation.resolved. Raises Refused for a bad argument or an unknown
        conversation."""
        await self._require_known(conversation_id)
        position = await self._store(
            "conversation.resolved", conversation_id, {"resolution": resolution}, None
        )
        return {"accepted": True, "position": position}

    # ------------------------------------------------------------------ the parts

    def _payload(self, event_type: str, conversation_id: str, data: dict[str, Any]) -> bytes:
        now = datetime.fromtimestamp(self.container.clock(), UTC)
        return orjson.dumps(
            {
                "type": event_type,
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "data": {"conversation_id": conversation_id, **data},
            }
        )

    def _check_id(self, conversation_id: str) -> None:
        """The chat webhook's own rules for a conversation id, for a tool that stores nothing:
        the envelope of a payload of a type ticketsync does not act on, read by its parser."""
        body = self._payload("agent.asked", conversation_id, {})
        try:
            self.source.parse(body, {"webhook-id": DELIVERY_PREFIX + "check"})
        except Refused as error:
            raise _argument(error) from None

    async def _require_known(self, conversation_id: str) -> None:
        """Refuse a conversation that ticketsync has never heard of: neither the read model
        nor the log (whose newest entries the projector may not have read yet) has it."""
        self._check_id(conversation_id)
        store, log = self.container.store, self.container.log

        def known() -> bool:
            if store.conversation_state(conversation_id) is not None:
                return True
            entries, _ = log.query(AuditQuery(conversation_id=conversation_id, limit=1))
            return bool(entries)

        if not await anyio.to_thread.run_sync(known):
            raise _unknown(conversation_id)

    async def _store(
        self,
        event_type: str,
        conversation_id: str,
        data: dict[str, Any],
        idempotency_key: str | None,
    ) -> int:
        """Parse the payload as the chat webhook would, append it; its position.

        The same `idempotency_key` twice stores once: the second call's body differs from
        the first's in its timestamp alone, and is answered with the first's position.
        Raises Refused: the parser's refusals, and `conflict` for a key already used for
        another call.
        """
        delivery_id = DELIVERY_PREFIX + (
            uuid.uuid4().hex if idempotency_key is None else _key(idempotency_key)
        )
        body = self._payload(event_type, conversation_id, data)
        try:
            delivery = self.source.parse(body, {"webhook-id": delivery_id})
        except Refused as error:
            raise _argument(error) from None
        text = body.decode()
        entry = NewEntry(
            source=self.source.source,  # type: ignore[arg-type]
            delivery_id=delivery_id,
            type=delivery.type,
            occurred_at=delivery.occurred_at,
            recorded_at=datetime.fromtimestamp(self.container.clock(), UTC),
            conversation_id=delivery.conversation_id,
            raw=text,
            data=codec.dump_event(delivery.event),
        )
        outcome = await self.container.ingestor.append(entry)
        if outcome.status == "conflict":
            first = await anyio.to_thread.run_sync(self._entry_at, outcome.position)
            if first is None or not _same_call(first.raw, text):
                raise Refused(
                    "conflict",
                    f"idempotency_key {idempotency_key!r} was used for another call; "
                    "nothing was stored",
                    "idempotency_key",
                )
        return outcome.position

    def _entry_at(self, position: int) -> Any:
        found = self.container.log.read(position - 1, 1)
        return found[0] if found and found[0].position == position else None

    async def _ticket_within(self, conversation_id: str, seconds: float) -> TicketShown | None:
        """The conversation's ticket as soon as the read model has one, or None after
        `seconds`."""
        deadline = self._monotonic() + seconds
        while True:
            shown = await anyio.to_thread.run_sync(
                views.conversation, self.container, conversation_id
            )
            ticket = _ticket(shown["ticket"]) if shown is not None else None
            left = deadline - self._monotonic()
            if ticket is not None or left <= 0:
                return ticket
            await anyio.sleep(min(WAIT_STEP, left))


def _key(idempotency_key: str) -> str:
    """The key as a delivery id's tail; Refused when it cannot be one."""
    if not 0 < len(idempotency_key) <= MAX_KEY_LENGTH or not idempotency_key.isprintable():
        raise Refused(
            "invalid_data",
            f"idempotency_key must be 1 to {MAX_KEY_LENGTH} printable characters",
            "idempotency_key",
        )
    return idempotency_key


def _same_call(first: str | None, second: str) -> bool:
    """Whether two bodies ask for the same thing: the same type and data, whatever their
    timestamps."""
    if first is None:
        return False
    before, now = orjson.loads(first), orjson.loads(second)
    return (before.get("type"), before.get("data")) == (now.get("type"), now.get("data"))
