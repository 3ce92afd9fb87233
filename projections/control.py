"""Who should answer the customer: the hand-over between the AI agent and people.

A conversation starts held by the AI agent. It passes to a human when the conversation is
escalated, when an agent replies publicly on its ticket, and when the customer's message
reopens a solved ticket or opens a follow-up of a closed one; it returns to the agent when
the ticket is solved or closed on the help desk, and when the chat resolves the conversation
(docs/behaviour.md, Control). A change is a change of holder: the same holder again for
another reason changes nothing, so the chat is told only when the holder changes.

`change(before, after, event)` is pure: it compares the conversation before and after
the event's step of the projection, as that step left it.
"""

from __future__ import annotations

from ticketsync.events.chat import ConversationEscalated, ConversationResolved, MessageCreated
from ticketsync.events.outcomes import TicketFoundClosed
from ticketsync.projections.view import Conversation, Holder

# Every reason a conversation changes hands, with the holder it hands it to.
REASONS: dict[str, Holder] = {
    "escalated": "human",
    "agent_replied": "human",
    "reopened": "human",
    "ticket_solved": "agent",
    "ticket_closed": "agent",
    "conversation_resolved": "agent",
}
# Statuses that end a ticket's work: the customer is the agent's again.
SETTLED = ("solved", "closed")


def change(before: Conversation, after: Conversation, event: object) -> str | None:
    """The reason the conversation changes hands with this event, or None when it stays."""
    reason = _reason(before, after, event)
    if reason is None or REASONS[reason] == before.control.holder:
        return None
    return reason


def _reason(before: Conversation, after: Conversation, event: object) -> str | None:
    if isinstance(event, ConversationEscalated):
        return "escalated"
    if isinstance(event, ConversationResolved):
        return "conversation_resolved"
    if isinstance(event, MessageCreated | TicketFoundClosed) and _reopened(before, after):
        return "reopened"
    # From the help desk, one change at a time or several in one read of the ticket: a
    # settled ticket outweighs a reply that came with it.
    was = before.ticket.status if before.ticket else None
    now = after.ticket.status if after.ticket else None
    if now != was and now in SETTLED and not isinstance(event, MessageCreated):
        if isinstance(event, TicketFoundClosed) and after.status == "escalated":
            # Found closed by the call an escalation made: the customer asked for a person,
            # and finding the ticket closed does not give them back to the AI agent.
            return None
        return "ticket_solved" if now == "solved" else "ticket_closed"
    if len(after.replied) > len(before.replied):
        # An agent's public reply that reached the conversation (not an echo, not a repeat).
        return "agent_replied"
    return None


def _reopened(before: Conversation, after: Conversation) -> bool:
    """Whether the customer's message took the conversation back to people: it reopened
    a settled ticket, or asked for a follow-up ticket."""
    if after.tickets_requested > before.tickets_requested and before.ticket is not None:
        return True
    old, new = before.ticket, after.ticket
    return (
        old is not None
        and new is not None
        and old.id == new.id
        and old.status in SETTLED
        and new.status not in SETTLED
    )
