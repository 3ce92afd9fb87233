"""The AI chat platform's webhook payloads turned into typed chat events.

signing.py checks a delivery's Standard Webhooks signature before `parse` sees the body.
`parse` is a pure function of its argument; it raises Refused with the stable
error code that CONTRACT section 2 gives (service/http/errors.py answers it with its status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ticketsync.adapters import strict_json
from ticketsync.events import conversation_ids
from ticketsync.events.chat import (
    CHAT_EVENT_TYPES,
    RESOLUTIONS,
    ROLES,
    TOOL_STATUSES,
    ChatEvent,
    ConversationEscalated,
    ConversationResolved,
    ConversationStarted,
    Customer,
    IntentsDetected,
    MessageCreated,
    NoteAdded,
    ToolExecuted,
)
from ticketsync.events.errors import Refused

MAX_ID_LENGTH = 255


@dataclass(frozen=True, kw_only=True)
class ChatDelivery:
    """A verified, well-formed chat payload: its envelope, and its event when the type is known."""

    type: str
    occurred_at: datetime
    conversation_id: str
    event: ChatEvent | None  # None: a well-formed payload of a type ticketsync does not know
    data: dict[str, Any]


def _bad_request(code: str, detail: str, field: str | None = None) -> Refused:
    return Refused(code, detail, field)


def _invalid(detail: str, field: str) -> Refused:
    return Refused("invalid_data", detail, field)


def parse_timestamp(value: object, field: str = "timestamp") -> datetime:
    """An aware UTC datetime from an ISO-8601 string; naive times are taken as UTC."""
    if not isinstance(value, str):
        raise _bad_request("invalid_payload", f"{field} must be an ISO-8601 string", field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_request(
            "invalid_payload", f"{field} is not an ISO-8601 time: {value[:40]!r}", field
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def parse(body: bytes, *, stored: bool = False) -> ChatDelivery:
    """Parse and validate a chat payload; `stored` for one accepted before today's rules.

    Raises Refused: 400 when the body is not a JSON object (or repeats a key) or the envelope
    (`type`, `timestamp`, `data`, `data.conversation_id`) is missing or mistyped, or the
    conversation id is one no address can name (events/conversation_ids.py),
    422 when a known type's `data` is invalid. A `stored` body was accepted already: it is
    read as it was then, a repeated key and all.
    """
    payload = strict_json.loads_stored(body) if stored else strict_json.loads(body)
    return _delivery(payload, stored=stored)


def _delivery(payload: Any, *, stored: bool = False) -> ChatDelivery:
    """`parse` after the JSON: the envelope's checks, then the event's."""
    event_type, data, conversation_id, occurred_at = _envelope(payload, stored=stored)
    return ChatDelivery(
        type=event_type,
        occurred_at=occurred_at,
        conversation_id=conversation_id,
        event=_event(event_type, data, conversation_id, occurred_at),
        data=data,
    )


def _envelope(payload: Any, *, stored: bool) -> tuple[str, dict[str, Any], str, datetime]:
    """The checked envelope: type, data, data.conversation_id and timestamp."""
    if not isinstance(payload, dict):
        raise _bad_request("invalid_payload", "body must be a JSON object")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise _bad_request("invalid_payload", "type must be a non-empty string", "type")
    if "timestamp" not in payload:
        raise _bad_request("invalid_payload", "timestamp is required", "timestamp")
    occurred_at = parse_timestamp(payload["timestamp"])
    data = payload.get("data")
    if not isinstance(data, dict):
        raise _bad_request("invalid_payload", "data must be a JSON object", "data")
    conversation_id = data.get("conversation_id")
    # A delivery stored before the id rule was kept, and is read as it was then: what was
    # accepted is never lost to a later rule.
    if stored and _is_id(conversation_id):
        problem = None
    else:
        problem = conversation_ids.problem(conversation_id)
    if problem is not None:
        raise _bad_request(
            "invalid_payload",
            f"data.conversation_id {problem}; an id is {conversation_ids.RULE}",
            "data.conversation_id",
        )
    return event_type, data, conversation_id, occurred_at


def _event(
    event_type: str, data: dict[str, Any], conversation_id: str, occurred_at: datetime
) -> ChatEvent | None:
    """The typed event of a known type (None for others); raises 422 for invalid data."""
    builder = _BUILDERS.get(event_type)
    return builder(_Fields(data), conversation_id, occurred_at) if builder else None


def parse_stored(raw: str, delivery_id: str, recorded_at: datetime) -> ChatEvent | None:
    """The event of a delivery stored before its typed event was kept beside it."""
    # Accepted already: read as it was then, a repeated key and all.
    return parse(raw.encode(), stored=True).event


def _is_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


class _Fields:
    """Typed access to `data`, raising 422 with the field's path."""

    def __init__(self, data: dict[str, Any], prefix: str = "data"):
        self.data = data
        self.prefix = prefix

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def id(self, name: str) -> str:
        value = self.data.get(name)
        if not _is_id(value):
            raise _invalid(
                f"{self.path(name)} must be a non-empty string of at most {MAX_ID_LENGTH}"
                " characters",
                self.path(name),
            )
        return value

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise _invalid(f"{self.path(name)} must be a string", self.path(name))
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, str):
            raise _invalid(f"{self.path(name)} must be a string or null", self.path(name))
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> Any:
        value = self.data.get(name)
        if value not in choices:
            allowed = ", ".join(choices)
            raise _invalid(f"{self.path(name)} must be one of: {allowed}", self.path(name))
        return value

    def object(self, name: str) -> _Fields:
        value = self.data.get(name)
        if not isinstance(value, dict):
            raise _invalid(f"{self.path(name)} must be an object", self.path(name))
        return _Fields(value, self.path(name))


def _json_text(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _started(f: _Fields, conversation_id: str, at: datetime) -> ConversationStarted:
    customer = f.object("customer")
    return ConversationStarted(
        conversation_id=conversation_id,
        customer=Customer(
            id=customer.id("id"),
            email=customer.optional_text("email"),
            name=customer.optional_text("name"),
        ),
        subject=f.optional_text("subject"),
        channel=f.optional_text("channel"),
        occurred_at=at,
    )


def _message(f: _Fields, conversation_id: str, at: datetime) -> MessageCreated:
    return MessageCreated(
        conversation_id=conversation_id,
        message_id=f.id("message_id"),
        role=f.choice("role", ROLES),
        content=f.text("content"),
        occurred_at=at,
    )


def _tool(f: _Fields, conversation_id: str, at: datetime) -> ToolExecuted:
    f.object("input")
    return ToolExecuted(
        conversation_id=conversation_id,
        tool=f.id("tool"),
        input_json=_json_text(f.data["input"]),
        output_json=_json_text(f.data.get("output")),
        status=f.choice("status", TOOL_STATUSES),
        occurred_at=at,
    )


def _intents(f: _Fields, conversation_id: str, at: datetime) -> IntentsDetected:
    intents = f.data.get("intents")
    if not isinstance(intents, list) or not all(_is_id(intent) for intent in intents):
        raise _invalid("data.intents must be a list of non-empty strings", "data.intents")
    return IntentsDetected(conversation_id=conversation_id, intents=tuple(intents), occurred_at=at)


def _escalated(f: _Fields, conversation_id: str, at: datetime) -> ConversationEscalated:
    return ConversationEscalated(
        conversation_id=conversation_id, reason=f.text("reason"), occurred_at=at
    )


def _resolved(f: _Fields, conversation_id: str, at: datetime) -> ConversationResolved:
    return ConversationResolved(
        conversation_id=conversation_id,
        resolution=f.choice("resolution", RESOLUTIONS),
        occurred_at=at,
    )


def _note(f: _Fields, conversation_id: str, at: datetime) -> NoteAdded:
    text = f.data.get("text")
    if not isinstance(text, str) or not text.strip():
        # A blank note would reach the ticket as an empty comment, which help desks refuse.
        raise _invalid("data.text must be a non-empty string, not only whitespace", "data.text")
    return NoteAdded(conversation_id=conversation_id, text=text, occurred_at=at)


_BUILDERS = {
    "conversation.started": _started,
    "message.created": _message,
    "tool.executed": _tool,
    "intents.detected": _intents,
    "conversation.escalated": _escalated,
    "conversation.resolved": _resolved,
    "note.added": _note,
}
assert set(_BUILDERS) == set(CHAT_EVENT_TYPES)
