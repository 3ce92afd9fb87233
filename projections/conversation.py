"""The conversation read model and the reconciliation policy, as pure functions.

`apply(view, event, policy)` returns the conversation after the event and the outbox
commands the event asks for ("given this, the ticket should now be ..."). Nothing here
performs I/O; the projection runner stores the view and the commands in one transaction.

Duplicates are harmless: the log stores a delivery once, and messages are also keyed by
their `message_id`. Events may arrive before `conversation.started`; nothing is dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from ticketsync.events.chat import (
    ChatEvent,
    ConversationEscalated,
    ConversationResolved,
    ConversationStarted,
    Customer,
    IntentsDetected,
    MessageCreated,
    ToolExecuted,
)
from ticketsync.events.commands import AddComment, ChangeTicket, Command, CreateTicket, SendReply
from ticketsync.events.outcomes import TicketCreated, TicketFoundClosed, TicketFoundGone
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketCommentAdded,
    TicketEvent,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import Comment, NewTicket, Requester, TicketChange, TicketStatus
from ticketsync.projections import notes
from ticketsync.projections.routing import BUILT_IN, RoutingTable, ticket_tags

T = TypeVar("T")
ItemKind = Literal["user", "assistant", "tool", "escalation"]
Event = ChatEvent | TicketCreated | TicketFoundClosed | TicketFoundGone | TicketEvent

# What each resolution asks of the ticket (CONTRACT section 4).
RESOLUTION_STATUS: dict[str, TicketStatus] = {
    "resolved": "solved",
    "pending_customer": "pending",
    "duplicate": "closed",
}
# Resolutions that also lower the ticket's priority one step (CONTRACT section 4).
LOWERS_PRIORITY = frozenset({"resolved", "duplicate"})
LOWER_PRIORITY: dict[str, str] = {"urgent": "high", "high": "medium", "medium": "low"}
MAX_NOTE_PART = 2000
# Status changes ticketsync asked for whose webhooks have not come back yet. Few are ever
# outstanding; the bound only keeps a help desk that never echoes from growing the list.
MAX_EXPECTED = 16

# Conversation statuses that a customer's new message undoes.
SETTLED = frozenset(
    {
        "resolved",
        "pending_customer",
        "duplicate",
        "resolved_by_agent",
        "awaiting_customer",
        "closed",
    }
)

# How an agent's status change reads on the conversation (CONTRACT section 4).
AGENT_STATUS: dict[str, str] = {
    "solved": "resolved_by_agent",
    "pending": "awaiting_customer",
    "open": "with_agent",
    "hold": "with_agent",
    "closed": "closed",
}


@dataclass(frozen=True, kw_only=True)
class Item:
    """One step of the conversation that a ticket should show: a message, a tool run, an escalation."""

    key: str
    kind: ItemKind
    text: str


@dataclass(frozen=True, kw_only=True)
class Ticket:
    system: str
    id: str
    url: str | None = None
    # The help desk's status, or "deleted" for a ticket the help desk no longer has.
    status: TicketStatus | Literal["deleted"] | None = None
    priority: str | None = None
    group: str | None = None
    assignee: str | None = None


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """What ticketsync knows of one conversation, and of the ticket that follows it."""

    conversation_id: str
    status: str = "open"
    customer: Customer | None = None
    subject: str | None = None
    channel: str | None = None
    items: tuple[Item, ...] = ()
    tools: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    primary_intent: str | None = None
    primary_intent_at: datetime | None = None
    escalation_reason: str | None = None
    resolution: str | None = None
    ticket: Ticket | None = None
    ticket_requested: bool = False
    tickets_requested: int = 0
    previous_tickets: tuple[Ticket, ...] = ()
    synced: tuple[str, ...] = ()  # item keys the current ticket already shows
    tagged: tuple[str, ...] = ()  # tags the current ticket already has (as far as we sent)
    pending_create: CreateTicket | None = None
    resolved_at: datetime | None = None  # when the latest resolution happened (chat's clock)
    # "status:<s>" and "priority:<p>" changes we asked for, until their echo
    expected: tuple[str, ...] = ()
    replied: tuple[str, ...] = ()  # comment ids already sent to the chat
    lowered: str | None = None  # the ticket whose priority a resolution lowered already

    @property
    def user_messages(self) -> int:
        return [item.kind for item in self.items].count("user")

    @property
    def message_count(self) -> int:
        kinds = [item.kind for item in self.items]
        return kinds.count("user") + kinds.count("assistant")

    def intents_by_priority(self) -> tuple[str, ...]:
        """Detected intents with the primary one first."""
        if self.primary_intent is None:
            return self.intents
        return (self.primary_intent, *(i for i in self.intents if i != self.primary_intent))


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How the reconciliation is configured: when a ticket is due, and where it goes."""

    system: str = "local"
    ticket_policy: Literal["default", "always"] = "default"
    routing: RoutingTable = BUILT_IN
    own_user_ids: tuple[str, ...] = ()  # the help-desk users ticketsync acts as
    replies: bool = True  # whether agents' replies go to the chat (a reply URL is set)
    # Whether the help desk reopens a closed ticket (Jira's done issues take comments and
    # transitions). Where it cannot (Zendesk, the built-in desk), a customer writing to a
    # closed ticket opens a follow-up ticket instead.
    closed_reopens: bool = False


def _evolve(value: T, **changes: object) -> T:
    """A copy of a frozen dataclass with `changes`: `dataclasses.replace` without the
    introspection it repeats on every call, which dominated a rebuild's profile. The copy
    gets a dictionary of its own, built whole: filling the new object's empty one key by
    key took half as long again."""
    copy = object.__new__(type(value))
    fields = value.__dict__.copy()
    fields.update(changes)
    object.__setattr__(copy, "__dict__", fields)
    return copy


def needs_ticket(view: Conversation, policy: Policy) -> bool:
    """Whether the conversation should have a ticket (CONTRACT section 4)."""
    # `always` adds every conversation with a user message; it never opens fewer tickets.
    if policy.ticket_policy == "always" and view.user_messages > 0:
        return True
    return view.escalation_reason is not None or bool(view.tools) or view.user_messages > 3


def _clip(text: str, limit: int = MAX_NOTE_PART) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _comment_for(item: Item) -> Comment:
    if item.kind == "user":
        return Comment(body=item.text, public=True, by_requester=True)
    if item.kind == "assistant":
        return Comment(body=f"AI agent: {item.text}", public=False)
    if item.kind == "tool":
        return Comment(body=item.text, public=False)
    return Comment(body=f"Escalated by the AI agent: {item.text}", public=False)


def _requester(customer: Customer | None) -> Requester | None:
    if customer is None:
        return None
    return Requester(name=customer.name, email=customer.email, external_id=customer.id)


def _set_requester(view: Conversation) -> tuple[Conversation, list[Command]]:
    """The customer became known after their ticket was made without them: tell the ticket."""
    ticket = view.ticket
    if ticket is None or view.ticket_requested or ticket.status == "closed":
        return view, []  # none yet (the create carries them), being made, or frozen
    return view, [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            change=TicketChange(requester=_requester(view.customer)),
        )
    ]


def _create(
    view: Conversation, policy: Policy, *, lead: Item | None = None, replaces: str | None = None
) -> tuple[Conversation, CreateTicket]:
    """Ask for the conversation's next ticket.

    `lead` is a customer's message that the new ticket must show as its first public
    comment, from the requester: it is left out of what the create covers, so it is sent
    once the ticket exists. A follow-up's summary leads with it.
    """
    route = policy.routing.route_for(view.intents_by_priority())
    tags = ticket_tags(route, view.intents)
    users = [item.text for item in view.items if item.kind == "user"]
    assistants = [item.text for item in view.items if item.kind == "assistant"]
    requester = _requester(view.customer)
    number = view.tickets_requested + 1
    follows = view.ticket.id if view.ticket and view.ticket.status == "closed" else None
    known = tuple(ticket.id for ticket in view.previous_tickets)
    if view.ticket is not None:
        known += (view.ticket.id,)
    if follows is not None and lead is not None:
        issue: str | None = lead.text
    else:
        issue = users[0] if users else None
    command = CreateTicket(
        conversation_id=view.conversation_id,
        number=number,
        ticket=NewTicket(
            external_id=view.conversation_id,
            subject=notes.subject(view.primary_intent, view.subject, view.conversation_id),
            requester=requester,
            group=route.group,
            priority=route.priority,
            tags=tags,
            summary=notes.summary_note(
                first_user_message=issue,
                last_assistant_message=assistants[-1] if assistants else None,
                message_count=view.message_count,
                tools=view.tools,
                escalation_reason=view.escalation_reason,
                follows=follows,
                replaces=replaces,
            ),
            follow_up_of=follows,
        ),
        included=tuple(item.key for item in view.items if lead is None or item.key != lead.key),
        tags=tags,
        known_tickets=known,
    )
    return (
        _evolve(
            view,
            ticket_requested=True,
            tickets_requested=number,
            pending_create=command,
        ),
        command,
    )


def _status_wanted(view: Conversation) -> TicketStatus | None:
    """The status the conversation's latest turn asks of its ticket, if any."""
    if view.resolution is not None:
        return RESOLUTION_STATUS[view.resolution]
    return None


def _after_created(view: Conversation, event: TicketCreated) -> tuple[Conversation, list[Command]]:
    """Link the new ticket, then send what happened while it was being created."""
    create = view.pending_create
    previous = view.previous_tickets
    if view.ticket is not None and view.ticket.id != event.ticket.id:
        previous = (*previous, view.ticket)
    ticket = Ticket(
        system=event.ticket.system,
        id=event.ticket.id,
        url=event.ticket.url,
        status=event.ticket.status or "new",
        priority=create.ticket.priority if create else None,
        group=create.ticket.group if create else None,
    )
    included = create.included if create else ()
    tagged = create.tags if create else ()
    view = _evolve(
        view,
        ticket=ticket,
        ticket_requested=False,
        pending_create=None,
        previous_tickets=previous,
        synced=included,
        tagged=tagged,
        expected=(),
    )
    commands: list[Command] = [
        AddComment(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            comment=Comment(
                body=notes.link_note(
                    conversation_id=view.conversation_id,
                    message_count=view.message_count,
                    tools=view.tools,
                    intents=view.intents,
                    transcript=[
                        (item.kind, item.text)
                        for item in view.items
                        if item.key in included and item.kind in ("user", "assistant")
                    ],
                ),
                public=False,
            ),
        )
    ]
    if create is not None and create.ticket.requester is None and view.customer is not None:
        # Known since the create was sent; set first, so the customer's comments are theirs.
        view, more = _set_requester(view)
        commands += more
    for item in view.items:
        if item.key not in included:
            view, more = _sync_item(view, item)
            commands += more
    view, more = _sync_tags(view)
    commands += more
    wanted = _status_wanted(view)
    # An escalation the create did not cover asks for `open`, even when an earlier one was covered.
    if wanted is None and any(i.kind == "escalation" and i.key not in included for i in view.items):
        wanted = "open"
    if wanted is not None and wanted != ticket.status:
        view, more = _settle(view, wanted)
        commands += more
    return view, commands


def _sync_item(
    view: Conversation, item: Item, *, reopen: bool = True
) -> tuple[Conversation, list[Command]]:
    """Put one conversation item on the current ticket."""
    ticket = view.ticket
    assert ticket is not None
    commands: list[Command] = []
    comment = _comment_for(item)
    # A closed ticket gets here only on a help desk that reopens closed tickets.
    if item.kind == "user" and ticket.status in ("solved", "pending", "closed"):
        if reopen:
            view, commands = _set_status(view, "open")
        else:
            # Written before the resolution: on the ticket, without the reopen a help desk
            # makes of its requester writing to a solved ticket.
            comment = _evolve(comment, keep_status=ticket.status)
    commands.append(
        AddComment(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            comment=comment,
            item=item.key,
        )
    )
    return _evolve(view, synced=(*view.synced, item.key)), commands


def _sync_tags(view: Conversation) -> tuple[Conversation, list[Command]]:
    assert view.ticket is not None
    new_tags = tuple(intent for intent in view.intents if intent not in view.tagged)
    if not new_tags:
        return view, []
    return _evolve(view, tagged=(*view.tagged, *new_tags)), [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=view.ticket.id,
            change=TicketChange(add_tags=new_tags),
        )
    ]


def _set_status(view: Conversation, status: TicketStatus) -> tuple[Conversation, list[Command]]:
    assert view.ticket is not None
    if view.ticket.status == status:
        return view, []
    expected = (*view.expected, f"status:{status}")[-MAX_EXPECTED:]
    return _evolve(view, ticket=_evolve(view.ticket, status=status), expected=expected), [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=view.ticket.id,
            change=TicketChange(status=status),
        )
    ]


def _settle(view: Conversation, status: TicketStatus) -> tuple[Conversation, list[Command]]:
    """Give the ticket the status the conversation's resolution asks for.

    `resolved` and `duplicate` also lower the ticket's priority one step, in the same
    change, once per ticket: a conversation that is reopened and resolved again does not
    sink its ticket further.
    """
    ticket = view.ticket
    assert ticket is not None
    lowered = LOWER_PRIORITY.get(ticket.priority or "")
    if (
        view.resolution not in LOWERS_PRIORITY
        or lowered is None
        or view.lowered == ticket.id
        or ticket.status == status
    ):
        return _set_status(view, status)
    expected = (*view.expected, f"status:{status}", f"priority:{lowered}")[-MAX_EXPECTED:]
    return _evolve(
        view,
        ticket=_evolve(ticket, status=status, priority=lowered),
        expected=expected,
        lowered=ticket.id,
    ), [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            change=TicketChange(status=status, priority=lowered),  # type: ignore[arg-type]
        )
    ]


def _seen(view: Conversation, key: str) -> bool:
    return key in [item.key for item in view.items]


def _before_resolution(view: Conversation, occurred_at: datetime) -> bool:
    """Whether something happened before the resolution now in force."""
    return (
        view.resolution is not None
        and view.resolved_at is not None
        and occurred_at < view.resolved_at
    )


def _add_item(
    view: Conversation, item: Item, policy: Policy, *, late: bool = False, new: bool = False
) -> tuple[Conversation, list[Command]]:
    """A new item: on the ticket if there is one, or the reason to open one.

    A `late` item happened before the resolution now in force: it goes on the ticket as it
    is, but reopens nothing and opens no follow-up ticket. `new`: the caller has already
    checked that the item is not a repeat.
    """
    if not new and _seen(view, item.key):
        return view, []
    view = _evolve(view, items=(*view.items, item))
    ticket = view.ticket
    if view.ticket_requested:
        return view, []  # sent once the ticket exists (see _after_created)
    if ticket is not None and ticket.status == "closed" and not policy.closed_reopens:
        if item.kind != "user" or late:
            return view, []
        # A closed ticket takes no more changes: the customer's follow-up opens a new ticket,
        # which shows their message first.
        view, create = _create(view, policy, lead=item)
        return view, [create]
    if ticket is not None:
        return _sync_item(view, item, reopen=not late)
    if needs_ticket(view, policy):
        view, create = _create(view, policy)
        return view, [create]
    return view, []


def apply(view: Conversation, event: Event, policy: Policy) -> tuple[Conversation, list[Command]]:
    """The conversation after `event`, and the calls the event asks for."""
    if isinstance(event, ConversationStarted):
        known = view.customer is not None
        view = _evolve(
            view,
            customer=event.customer,
            subject=event.subject or view.subject,
            channel=event.channel or view.channel,
        )
        if known:
            return view, []
        # Delivered after the ticket was made (deliveries may arrive in any order).
        return _set_requester(view)
    if isinstance(event, MessageCreated):
        # Built as _evolve copies: a rebuild makes one per message, and the generated
        # __init__ of a frozen dataclass sets each field through object.__setattr__.
        item = object.__new__(Item)
        item.__dict__.update(key=f"message:{event.message_id}", kind=event.role, text=event.content)
        if _seen(view, item.key):
            return view, []  # a repeat must not reopen the conversation either
        if _before_resolution(view, event.occurred_at):
            # Written before the resolution, delivered after it: it belongs on the ticket,
            # but it is no customer writing *again*, so it reopens nothing.
            return _add_item(view, item, policy, late=True, new=True)
        if event.role == "user" and view.status in SETTLED:
            # The customer writing again opens the conversation, however it was settled.
            view = _evolve(view, status="open", resolution=None)
        return _add_item(view, item, policy, new=True)
    if isinstance(event, ToolExecuted):
        view = _evolve(
            view, tools=view.tools if event.tool in view.tools else (*view.tools, event.tool)
        )
        text = _clip(
            f"Tool {event.tool} ({event.status})\nInput: {event.input_json}\nOutput: {event.output_json}"
        )
        key = f"tool:{event.tool}:{event.occurred_at.isoformat()}:{hash_text(text)}"
        return _add_item(view, Item(key=key, kind="tool", text=text), policy)
    if isinstance(event, IntentsDetected):
        return _intents(view, event)
    if isinstance(event, ConversationEscalated):
        key = f"escalation:{event.occurred_at.isoformat()}:{hash_text(event.reason)}"
        if _seen(view, key):
            return view, []  # a repeat must not undo a later resolution, nor reopen the ticket
        if _before_resolution(view, event.occurred_at):
            # An escalation the resolution already answered: shown, and nothing undone.
            view = _evolve(view, escalation_reason=event.reason)
            return _add_item(
                view,
                Item(key=key, kind="escalation", text=event.reason),
                policy,
                late=True,
                new=True,
            )
        view = _evolve(view, escalation_reason=event.reason, status="escalated", resolution=None)
        view, commands = _add_item(
            view, Item(key=key, kind="escalation", text=event.reason), policy, new=True
        )
        if view.ticket is not None and not view.ticket_requested and view.ticket.status != "closed":
            view, more = _set_status(view, "open")
            commands += more
        return view, commands
    if isinstance(event, ConversationResolved):
        if _before_resolution(view, event.occurred_at):
            return view, []  # an older resolution than the one in force
        view = _evolve(
            view,
            resolution=event.resolution,
            status=event.resolution,
            resolved_at=event.occurred_at,
        )
        if view.ticket is None or view.ticket_requested or view.ticket.status == "closed":
            return view, []
        return _settle(view, RESOLUTION_STATUS[event.resolution])
    if isinstance(event, TicketCreated):
        if view.ticket is not None and view.ticket.id == event.ticket.id:
            return view, []
        return _after_created(view, event)
    if isinstance(
        event,
        TicketCommentAdded
        | TicketStatusChanged
        | TicketPriorityChanged
        | TicketGroupChanged
        | TicketAssigneeChanged,
    ):
        return _ticket_side(view, event, policy)
    if isinstance(event, TicketFoundClosed | TicketFoundGone):
        return _refused(view, event, policy)
    raise TypeError(f"unknown event {type(event).__name__}")


def _refused(
    view: Conversation, event: TicketFoundClosed | TicketFoundGone, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """A help desk refused a call because its ticket is closed or gone: carry on without it.

    What the refused call carried is not lost: a customer's message goes to the ticket that
    takes the conversation next (a follow-up of a closed ticket, a new ticket for a deleted
    one), as its first public comment; the rest is in that ticket's summary and transcript.
    """
    found = [item for item in view.items if item.key == event.item]
    carried = found[0] if found and found[0].kind == "user" else None
    ticket = view.ticket
    if ticket is None or ticket.id != event.ticket_id:
        if view.ticket_requested and event.ticket_id in [t.id for t in view.previous_tickets]:
            # The ticket being made replaces the refused one: it takes the message too.
            return _carry_to_pending(view, carried), []
        # The conversation had moved on already: the message goes to its ticket now.
        if (
            carried is None
            or carried.key in view.synced  # on it already, or in its transcript
            or event.ticket_id not in [t.id for t in view.previous_tickets]
            or ticket is None
            or view.ticket_requested
            or ticket.status in ("closed", "deleted")
        ):
            return view, []
        return _sync_item(view, carried)
    gone = isinstance(event, TicketFoundGone)
    view = _evolve(view, ticket=_evolve(ticket, status="deleted" if gone else "closed"))
    if view.ticket_requested:
        # A next ticket is being made already: it takes the message once it exists.
        return _carry_to_pending(view, carried), []
    if gone:
        view = _evolve(
            view,
            ticket=None,
            previous_tickets=(*view.previous_tickets, view.ticket),
            synced=(),
            tagged=(),
            expected=(),
        )
        view, create = _create(view, policy, lead=carried, replaces=ticket.id)
        return view, [create]
    if carried is None:
        return view, []  # a closed ticket waits for the customer to write again
    if policy.closed_reopens:
        return _sync_item(view, carried)
    view, create = _create(view, policy, lead=carried)
    return view, [create]


def _carry_to_pending(view: Conversation, carried: Item | None) -> Conversation:
    """The ticket being created sends `carried` as a comment once it exists, instead of
    covering it only in its notes."""
    create = view.pending_create
    if carried is None or create is None or carried.key not in create.included:
        return view
    included = tuple(key for key in create.included if key != carried.key)
    return _evolve(view, pending_create=_evolve(create, included=included))


def _ticket_side(
    view: Conversation, event: TicketEvent, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """What a change on the help desk's side means for the conversation."""
    ticket = view.ticket
    if ticket is None or ticket.system != event.system or ticket.id != event.ticket_id:
        return view, []  # not this conversation's current ticket: kept in the log, no more
    echo = (
        f"status:{event.status}"
        if isinstance(event, TicketStatusChanged)
        else f"priority:{event.priority}"
        if isinstance(event, TicketPriorityChanged)
        else None
    )
    if echo is not None and echo in view.expected:
        # The help desk confirming a change ticketsync asked for. Used up whoever it names as
        # actor: a leftover would swallow an agent's later change to the same value.
        index = view.expected.index(echo)
        return _evolve(view, expected=view.expected[:index] + view.expected[index + 1 :]), []
    actor = event.author_id if isinstance(event, TicketCommentAdded) else event.actor_id
    if actor is not None and actor in policy.own_user_ids:
        return view, []  # ticketsync's own change coming back: no echo
    if isinstance(event, TicketCommentAdded):
        if not (event.public and event.author_is_agent) or event.comment_id in view.replied:
            return view, []
        view = _evolve(view, replied=(*view.replied, event.comment_id))
        if not policy.replies:
            return view, []
        return view, [
            SendReply(
                conversation_id=view.conversation_id,
                system=event.system,
                ticket_id=event.ticket_id,
                comment_id=event.comment_id,
                author_name=event.author_name,
                body=event.body,
                sent_at=event.occurred_at,
            )
        ]
    if isinstance(event, TicketStatusChanged):
        status = AGENT_STATUS.get(event.status, view.status)
        return _evolve(view, ticket=_evolve(ticket, status=event.status), status=status), []
    if isinstance(event, TicketPriorityChanged):
        # A person's change supersedes a lowered priority whose echo never came (the
        # built-in desk sends none): waiting for it would swallow their next change.
        expected = tuple(e for e in view.expected if not e.startswith("priority:"))
        return _evolve(view, ticket=_evolve(ticket, priority=event.priority), expected=expected), []
    if isinstance(event, TicketGroupChanged):
        return _evolve(view, ticket=_evolve(ticket, group=event.group or event.group_id)), []
    return _evolve(view, ticket=_evolve(ticket, assignee=event.assignee or event.assignee_id)), []


def _intents(view: Conversation, event: IntentsDetected) -> tuple[Conversation, list[Command]]:
    merged = view.intents + tuple(i for i in event.intents if i not in view.intents)
    primary, primary_at = view.primary_intent, view.primary_intent_at
    # The latest detection names the primary intent, whatever order deliveries arrive in.
    if event.intents and (primary_at is None or event.occurred_at >= primary_at):
        primary, primary_at = event.intents[0], event.occurred_at
    view = _evolve(view, intents=merged, primary_intent=primary, primary_intent_at=primary_at)
    if view.ticket is None or view.ticket_requested or view.ticket.status == "closed":
        return view, []
    return _sync_tags(view)


def hash_text(text: str) -> str:
    """A short stable digest, to key items that carry no id of their own."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]
