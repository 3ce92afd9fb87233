"""Why a conversation has (or has no) ticket, where it is routed and why, and what waits:
in sentences, from the same rules that decide (projections/policy.py `ticket_rules`,
projections/routing.py `route_and_why`), never from a second copy of them."""

from __future__ import annotations

from dataclasses import dataclass

from ticketsync.projections.policy import Policy, ticket_rules
from ticketsync.projections.routing import ticket_tags
from ticketsync.projections.view import Conversation


@dataclass(frozen=True, kw_only=True)
class Waiting:
    """A call not done yet, as the outbox holds it."""

    call_id: str
    kind: str
    state: str  # pending | parked
    attempts: int
    last_error: str | None
    due_in: float  # seconds from now until its next attempt (negative: due already)


def reasons(view: Conversation, policy: Policy) -> tuple[bool, list[str]]:
    """Whether the conversation needs a ticket, and the sentences that say why."""
    rules = ticket_rules(view, policy)
    holding = [rule for rule in rules if rule.holds]
    if not holding:
        return False, ["no ticket: " + ", ".join(rule.says for rule in rules)]
    said = [f"ticket requested because {rule.says}" for rule in holding]
    ticket = view.ticket
    if ticket is not None:
        status = ticket.status_name or ticket.status
        said.append(f"the ticket is {ticket.system}:{ticket.id} ({status})")
    elif view.ticket_requested:
        said.append("the ticket is being created")
    if view.previous_tickets:
        earlier = ", ".join(f"{t.system}:{t.id}" for t in view.previous_tickets)
        said.append(f"earlier tickets: {earlier}")
    return True, said


def holder(view: Conversation) -> str:
    """Who should answer the customer, and since what, in a sentence."""
    held = view.control
    if held.reason is None:
        return "the AI agent answers the customer (no one has taken the conversation over)"
    if held.holder == "human":
        return f"people answer the customer: {HANDED[held.reason]}; the AI agent stays quiet"
    return f"the AI agent answers the customer again: {HANDED[held.reason]}"


# Why the conversation changed hands, as `holder` says it (projections/control.py REASONS).
HANDED: dict[str, str] = {
    "escalated": "the conversation was escalated",
    "agent_replied": "an agent replied on the ticket",
    "reopened": "the customer wrote again after the ticket was settled",
    "ticket_solved": "the ticket was solved",
    "ticket_closed": "the ticket was closed",
    "conversation_resolved": "the chat resolved the conversation",
}


def route(view: Conversation, policy: Policy) -> dict[str, object]:
    """Where the conversation's ticket goes, and which intent chose it."""
    chosen, why = policy.routing.route_and_why(view.intents_by_priority())
    return {
        "group": chosen.group,
        "priority": chosen.priority,
        "tags": list(ticket_tags(chosen, view.intents)),
        "because": f"{chosen.group}, {chosen.priority}: {why}",
    }


def waiting(call: Waiting) -> str:
    """One call that waits, in a sentence: what, how many attempts, what the other side
    said, and when the next try is (or that an operator must retry it)."""
    what = call.kind
    attempts = f"attempt {call.attempts}" if call.attempts else "not tried yet"
    answer = f", {call.last_error}" if call.last_error else ""
    if call.state == "parked":
        return (
            f"{what}, parked after {call.attempts} attempts{answer}; "
            f"retry it with `ticketsync outbox retry {call.call_id}`"
        )
    when = "due now" if call.due_in <= 0 else f"next try in {round(call.due_in)} s"
    return f"{what}, {attempts}{answer}, {when}"


def explain(view: Conversation, policy: Policy, calls: list[Waiting]) -> dict[str, object]:
    """GET /conversations/{id}/explain (CONTRACT section 6)."""
    needs, said = reasons(view, policy)
    return {
        "conversation_id": view.conversation_id,
        "needs_ticket": needs,
        "reasons": said,
        "route": route(view, policy),
        "pending": [waiting(call) for call in calls],
        "control": holder(view),
    }
