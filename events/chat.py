"""What the AI chat agent tells ticketsync: one frozen dataclass per event type.

Every event names its conversation and the time the chat platform says it happened.
Free-form JSON (a tool's input and output) is kept as canonical JSON text, so events
stay immutable and hashable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["user", "assistant"]
ToolStatus = Literal["ok", "error"]
Resolution = Literal["resolved", "pending_customer", "duplicate"]

ROLES: tuple[Role, ...] = ("user", "assistant")
TOOL_STATUSES: tuple[ToolStatus, ...] = ("ok", "error")
RESOLUTIONS: tuple[Resolution, ...] = ("resolved", "pending_customer", "duplicate")


@dataclass(frozen=True, kw_only=True)
class Customer:
    id: str
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConversationStarted:
    conversation_id: str
    customer: Customer
    subject: str | None
    channel: str | None
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class MessageCreated:
    conversation_id: str
    message_id: str
    role: Role
    content: str
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class ToolExecuted:
    conversation_id: str
    tool: str
    input_json: str
    output_json: str
    status: ToolStatus
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class IntentsDetected:
    conversation_id: str
    intents: tuple[str, ...]
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class ConversationEscalated:
    conversation_id: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class ConversationResolved:
    conversation_id: str
    resolution: Resolution
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class NoteAdded:
    """The AI agent's note for the people on the ticket: an internal note, never shown to the
    customer, kept until the ticket exists."""

    conversation_id: str
    text: str
    occurred_at: datetime


ChatEvent = (
    ConversationStarted
    | MessageCreated
    | ToolExecuted
    | IntentsDetected
    | ConversationEscalated
    | ConversationResolved
    | NoteAdded
)

# The `type` each event arrives under on POST /webhooks/chat.
CHAT_EVENT_TYPES: dict[str, type] = {
    "conversation.started": ConversationStarted,
    "message.created": MessageCreated,
    "tool.executed": ToolExecuted,
    "intents.detected": IntentsDetected,
    "conversation.escalated": ConversationEscalated,
    "conversation.resolved": ConversationResolved,
    "note.added": NoteAdded,
}
