"""What the chat is told of its conversation: the ticket made, its status, who holds it.

After each step of the projection, `facts(before, after, event, policy)` compares the
conversation before and after and names what the chat should learn: `ticket.created` when
a ticket (first, follow-up or replacement) was linked, `ticket.status_changed` when the
current ticket's status moved (whoever moved it, ticketsync included), and
`control.changed` when the conversation changed hands (projections/control.py). Each fact
is numbered in the conversation, so its webhook-id is stable; a fact the configuration
does not send (`TICKETSYNC_CHAT_EVENTS`, or no reply URL) is numbered all the same, so the
numbers do not depend on the configuration (docs/behaviour.md, What the chat is told).

The calls go out in the conversation's order: a ticket made and a change of hands are told
before the step's other calls, so the chat learns them first; a status change after them,
once the calls that make it are done.
"""

from __future__ import annotations

from datetime import datetime

from ticketsync.events.commands import (
    TELL_TYPES,
    Command,
    Tell,
    TellControlChanged,
    TellStatusChanged,
    TellTicketCreated,
)
from ticketsync.events.outcomes import TicketCreated
from ticketsync.events.tickets import TicketRef
from ticketsync.projections import control
from ticketsync.projections.policy import Policy
from ticketsync.projections.view import Control, Conversation, Ticket, with_changes


def facts(
    before: Conversation, after: Conversation, event: object, policy: Policy, at: datetime
) -> tuple[Conversation, list[Command], list[Command]]:
    """The conversation with its control and fact count brought up to date, and the calls
    that tell the chat: those to send before the step's own calls, and those after."""
    first: list[Tell] = []
    last: list[Tell] = []
    number = after.facts

    def next_number() -> int:
        nonlocal number
        number += 1
        return number

    created = None
    if (
        isinstance(event, TicketCreated)
        and after.ticket is not None
        and (before.ticket is None or before.ticket.id != after.ticket.id)
    ):
        created = event.ticket.status or "new"
        follows = after.previous_tickets[-1] if after.previous_tickets else None
        first.append(
            TellTicketCreated(
                conversation_id=after.conversation_id,
                number=next_number(),
                occurred_at=at,
                ticket=_ref(after.ticket, status=created),
                group=after.ticket.group,
                priority=after.ticket.priority,
                tags=after.tagged,
                follows=_ref(follows) if follows is not None else None,
            )
        )
    reason = control.change(before, after, event)
    if reason is not None:
        after = with_changes(
            after, control=Control(holder=control.REASONS[reason], reason=reason, since=at)
        )
        first.append(
            TellControlChanged(
                conversation_id=after.conversation_id,
                number=next_number(),
                occurred_at=at,
                holder=control.REASONS[reason],
                reason=reason,
                ticket=_ref(after.ticket) if after.ticket is not None else None,
            )
        )
    ticket = after.ticket
    # The status the step started from: the new ticket's as made, else the same ticket's
    # before the step (another ticket, or none, has nothing to compare with).
    previous: str | None = created
    compared = created is not None
    if not compared and before.ticket is not None and ticket is not None:
        compared = before.ticket.id == ticket.id
        previous = before.ticket.status
    if (
        compared
        and previous != "deleted"  # never told, so never the status a change is told from
        and ticket is not None
        and ticket.status not in (None, "deleted")
        and ticket.status != previous
    ):
        last.append(
            TellStatusChanged(
                conversation_id=after.conversation_id,
                number=next_number(),
                occurred_at=at,
                ticket=_ref(ticket),
                previous_status=previous,
                conversation_status=after.status,
            )
        )
    if number != after.facts:
        after = with_changes(after, facts=number)
    wanted = policy.chat_events if policy.replies else frozenset()
    return (
        after,
        [tell for tell in first if TELL_TYPES[type(tell)] in wanted],
        [tell for tell in last if TELL_TYPES[type(tell)] in wanted],
    )


def _ref(ticket: Ticket, *, status: str | None = None) -> TicketRef:
    return TicketRef(
        system=ticket.system,
        id=ticket.id,
        url=ticket.url,
        status=status or ticket.status,  # type: ignore[arg-type]
        status_name=ticket.status_name if status is None else None,
    )
