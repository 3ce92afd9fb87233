"""The reconciliation rules of CONTRACT section 4, chat to ticket: `apply` and `needs_ticket`.

Each row folds a short history through `apply` and shows the calls the last event asks for,
written as one line per call (see `show`), so a row reads like the contract.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from operator import attrgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from ticketsync.events.commands import AddComment, ChangeTicket, Command, CreateTicket
from ticketsync.events.outcomes import TicketCreated, TicketFoundClosed, TicketFoundGone
from ticketsync.events.tickets import Requester, TicketRef
from ticketsync.projections.conversation import Conversation, Event, Policy, apply
from ticketsync.projections.policy import needs_ticket
from ticketsync.projections.routing import Route, RoutingTable
from ticketsync.projections.view import Ticket

CID = "conv_1"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ANA = Customer(id="cus_7", email="ana@example.com", name="Ana Lima")
# The chat is told only of replies here: tests/unit/test_telling.py covers the rest.
REPLIES = frozenset({"agent.replied"})
DEFAULT = Policy(chat_events=REPLIES)
ALWAYS = Policy(ticket_policy="always", chat_events=REPLIES)

_seconds = itertools.count(1)
_ids = itertools.count(1)


# -- builders: every field has a default, so a row names only what matters -------------------


def later() -> datetime:
    """A time after every time handed out before, so events keep the order they are built in."""
    return T0 + timedelta(seconds=next(_seconds))


def started(*, customer: Customer = ANA, subject: str | None = "Charged twice") -> Event:
    return ConversationStarted(
        conversation_id=CID, customer=customer, subject=subject, channel="web", occurred_at=later()
    )


def user(text: str = "I need help", *, id: str | None = None) -> Event:
    return MessageCreated(
        conversation_id=CID,
        message_id=id or f"u{next(_ids)}",
        role="user",
        content=text,
        occurred_at=later(),
    )


def users(n: int) -> list[Event]:
    return [user(f"Message {i}") for i in range(1, n + 1)]


def assistant(text: str = "Let me check.", *, id: str | None = None) -> Event:
    return MessageCreated(
        conversation_id=CID,
        message_id=id or f"a{next(_ids)}",
        role="assistant",
        content=text,
        occurred_at=later(),
    )


def tool(name: str = "lookup_invoice", *, status: str = "ok") -> Event:
    return ToolExecuted(
        conversation_id=CID,
        tool=name,
        input_json='{"invoice":"INV-1"}',
        output_json='{"paid":true}',
        status=status,  # type: ignore[arg-type]
        occurred_at=later(),
    )


def intents(*names: str, at: datetime | None = None) -> Event:
    return IntentsDetected(conversation_id=CID, intents=names, occurred_at=at or later())


def escalated(reason: str = "Refund needs approval") -> Event:
    return ConversationEscalated(conversation_id=CID, reason=reason, occurred_at=later())


def resolved(resolution: str = "resolved") -> Event:
    return ConversationResolved(
        conversation_id=CID,
        resolution=resolution,  # type: ignore[arg-type]
        occurred_at=later(),
    )


def note(text: str = "Customer is a reseller") -> Event:
    return NoteAdded(conversation_id=CID, text=text, occurred_at=later())


def created(ticket_id: str = "42", *, status: str | None = None) -> Event:
    return TicketCreated(
        conversation_id=CID,
        call_id=f"call-{ticket_id}",
        ticket=TicketRef(system="local", id=ticket_id, status=status),  # type: ignore[arg-type]
        occurred_at=later(),
    )


def found_closed(ticket_id: str = "42", *, item: str | None = None) -> Event:
    return TicketFoundClosed(
        conversation_id=CID, call_id="call-x", ticket_id=ticket_id, item=item, occurred_at=later()
    )


def found_gone(ticket_id: str = "42", *, item: str | None = None) -> Event:
    return TicketFoundGone(
        conversation_id=CID, call_id="call-x", ticket_id=ticket_id, item=item, occurred_at=later()
    )


def after(events: tuple[Event, ...]) -> list[Event]:
    """`events`, re-timed to follow what was just built.

    Arguments are built before the history they are passed into; without this, an event
    meant to come after a resolution would carry an earlier time than it.
    """
    for event in events:
        if id(event) not in RETIMED:  # one event delivered twice keeps one time
            RETIMED[id(event)] = (event, dataclasses.replace(event, occurred_at=later()))  # type: ignore[type-var]
    return [RETIMED[id(event)][1] for event in events]


# id(original) -> (original, re-timed); the original is kept so that its id stays its own.
RETIMED: dict[int, tuple[Event, Event]] = {}


def retimed(event: Event) -> Event:
    """The event as `after` re-timed it, if it did."""
    found = RETIMED.get(id(event))
    return found[1] if found and found[0] is event else event


def ticketed(*more: Event) -> list[Event]:
    """A conversation whose ticket 42 exists (status new), then `more`."""
    history = [started(), user("My invoice is wrong"), escalated(), created("42")]
    return [*history, *after(more)]


def closed(*more: Event) -> list[Event]:
    """A conversation whose ticket 42 was closed, then `more`."""
    history = ticketed(resolved("duplicate"))
    return [*history, *after(more)]


def following_up(*more: Event) -> list[Event]:
    """A conversation whose ticket 42 is closed and whose follow-up ticket is being created."""
    history = closed()
    return [*history, *after((user("It is broken again", id="back"),)), *after(more)]


# -- folding ----------------------------------------------------------------------------------


def fold(
    events: list[Event], policy: Policy = DEFAULT, view: Conversation | None = None
) -> tuple[Conversation, list[Command]]:
    """Apply each event in turn; the conversation at the end and every call asked for."""
    view = view or Conversation(conversation_id=CID)
    commands: list[Command] = []
    for event in events:
        view, more = apply(view, retimed(event), policy)
        commands += more
    return view, commands


def then(history: list[Event], event: Event, policy: Policy = DEFAULT) -> list[str]:
    """The calls `event` asks for after `history`, shown one per line."""
    view, _ = fold(history, policy)
    _, commands = apply(view, retimed(event), policy)
    return [show(command) for command in commands]


def creates(events: list[Event], policy: Policy = DEFAULT) -> list[CreateTicket]:
    _, commands = fold(events, policy)
    return [command for command in commands if isinstance(command, CreateTicket)]


def the_create(events: list[Event], policy: Policy = DEFAULT) -> CreateTicket:
    (create,) = creates(events, policy)
    return create


def show(command: Command) -> str:
    """One line per call: `create #2 follow-up of 42`, `42 public by requester: Hi` (with
    `(keeps solved)` after `requester` when the comment holds the status),
    `42 note: <first line>`, `42 status open`, `42 add tags a, b`."""
    if isinstance(command, CreateTicket):
        follow_up = command.ticket.follow_up_of
        return f"create #{command.number}" + (f" follow-up of {follow_up}" if follow_up else "")
    if isinstance(command, AddComment):
        comment = command.comment
        if comment.public:
            author = "requester" if comment.by_requester else "agent"
            keeps = f" (keeps {comment.keep_status})" if comment.keep_status else ""
            return f"{command.ticket_id} public by {author}{keeps}: {comment.body}"
        return f"{command.ticket_id} note: {comment.body.splitlines()[0]}"
    assert isinstance(command, ChangeTicket)
    change = command.change
    parts = [f"status {change.status}"] if change.status else []
    parts += [f"add tags {', '.join(change.add_tags)}"] if change.add_tags else []
    parts += [
        f"{name} {value}"
        for name in ("priority", "group", "assignee")
        if (value := getattr(change, name)) is not None
    ]
    if change.requester is not None:
        person = change.requester
        parts.append(f"requester {person.name} <{person.email}> ({person.external_id})")
    return f"{command.ticket_id} {'; '.join(parts)}"


def section(note: str, heading: str) -> str:
    """What the summary note says under a heading (`CUSTOMER ISSUE:`) or after it (`TOOLS USED:`)."""
    lines = note.split("\n")
    for index, line in enumerate(lines):
        if line == heading:
            return lines[index + 1]
        if line.startswith(heading + " "):
            return line[len(heading) + 1 :]
    raise AssertionError(f"no {heading!r} in the note")


ANA_REQUESTER = "Ana Lima <ana@example.com> (cus_7)"
WANTS_HUMAN = escalated("Wants a human")  # one event, to deliver twice
RESELLER = note("Reseller")  # one note, to deliver twice
NOTED = "42 note: Note from the AI agent: "
LINK = "42 note: AI Conversation: conv_1"
CREATE = ["create #1"]


# -- when a ticket is due ---------------------------------------------------------------------

DUE_CASES = [
    # policy `default`: escalated, more than 3 user messages, or a tool run
    pytest.param([], started(), DEFAULT, [], id="start-opens-nothing"),
    pytest.param([started()], user(), DEFAULT, [], id="first-user-message-opens-nothing"),
    pytest.param([started(), *users(2)], user(), DEFAULT, [], id="third-user-message-not-enough"),
    pytest.param([started(), *users(3)], user(), DEFAULT, CREATE, id="fourth-user-message-opens"),
    pytest.param(
        [started(), *users(3), assistant(), assistant()],
        assistant(),
        DEFAULT,
        [],
        id="assistant-messages-do-not-count",
    ),
    pytest.param(
        [started(), *users(2), user("Hello", id="m3")],
        user("Hello", id="m3"),
        DEFAULT,
        [],
        id="repeated-message-id-does-not-count",
    ),
    pytest.param([started(), user()], escalated(), DEFAULT, CREATE, id="escalation-opens"),
    pytest.param([started()], escalated(), DEFAULT, CREATE, id="escalation-before-any-message"),
    pytest.param([started(), user()], tool(), DEFAULT, CREATE, id="tool-run-opens"),
    pytest.param([started()], tool(status="error"), DEFAULT, CREATE, id="failed-tool-run-opens"),
    pytest.param(
        [started(), user()], intents("billing_problem"), DEFAULT, [], id="intents-open-nothing"
    ),
    pytest.param([started(), user()], resolved(), DEFAULT, [], id="resolution-opens-nothing"),
    pytest.param([started(), user()], assistant(), DEFAULT, [], id="assistant-opens-nothing"),
    pytest.param([started(), user()], note(), DEFAULT, [], id="note-opens-nothing"),
    pytest.param([started(), user()], note(), ALWAYS, [], id="always-note-opens-nothing"),
    pytest.param(
        [started(), *users(3), note(), note("Another")],
        note("A third"),
        DEFAULT,
        [],
        id="notes-are-no-user-messages",
    ),
    # policy `always`: every conversation with a user message
    pytest.param([started()], user(), ALWAYS, CREATE, id="always-first-user-message-opens"),
    pytest.param([started()], assistant(), ALWAYS, [], id="always-needs-a-user-message"),
    pytest.param([], user(), ALWAYS, CREATE, id="always-user-message-before-start"),
    # `always` opens at least whenever `default` would.
    pytest.param([started()], escalated(), ALWAYS, CREATE, id="always-escalation-opens"),
    pytest.param([started()], tool(), ALWAYS, CREATE, id="always-tool-run-opens"),
    # exactly one CreateTicket while one is requested or exists
    pytest.param([started(), user()], user(), ALWAYS, [], id="always-second-message-no-create"),
    pytest.param([started(), *users(4)], user(), DEFAULT, [], id="fifth-message-while-requested"),
    pytest.param([started(), *users(4)], escalated(), DEFAULT, [], id="escalation-while-requested"),
    pytest.param([started(), escalated()], tool(), DEFAULT, [], id="tool-run-while-requested"),
    pytest.param([started(), tool()], escalated(), DEFAULT, [], id="escalation-after-tool-run"),
    pytest.param(
        [started(), escalated()], escalated("Again"), DEFAULT, [], id="second-escalation-requested"
    ),
    pytest.param(
        ticketed(),
        escalated("Again"),
        DEFAULT,
        ["42 note: Escalated by the AI agent: Again", "42 status open"],
        id="escalation-once-ticket-exists",
    ),
    pytest.param(
        ticketed(*users(4)),
        user("Fifth"),
        DEFAULT,
        ["42 public by requester: Fifth"],
        id="more-messages-once-ticket-exists",
    ),
    pytest.param(
        ticketed(),
        tool(),
        ALWAYS,
        ["42 note: Tool lookup_invoice (ok)"],
        id="tool-run-once-ticket-exists",
    ),
]


@pytest.mark.parametrize("history, event, policy, expected", DUE_CASES)
def test_when_a_ticket_is_requested(history, event, policy, expected) -> None:
    assert then(history, event, policy) == expected


NEEDS_CASES = [
    pytest.param([started(), *users(3)], DEFAULT, False, id="three-user-messages"),
    pytest.param([started(), *users(4)], DEFAULT, True, id="four-user-messages"),
    pytest.param([*users(3), assistant(), assistant()], DEFAULT, False, id="only-users-count"),
    pytest.param([escalated()], DEFAULT, True, id="escalated"),
    pytest.param([tool()], DEFAULT, True, id="tool-run"),
    pytest.param([intents("security_report"), resolved()], DEFAULT, False, id="intents-resolved"),
    pytest.param([], ALWAYS, False, id="always-empty"),
    pytest.param([assistant()], ALWAYS, False, id="always-assistant-only"),
    pytest.param([user()], ALWAYS, True, id="always-one-user-message"),
    pytest.param([escalated()], ALWAYS, True, id="always-escalated"),
]


@pytest.mark.parametrize("events, policy, expected", NEEDS_CASES)
def test_needs_ticket(events, policy, expected) -> None:
    view, _ = fold(events, policy)
    assert needs_ticket(view, policy) is expected


# -- what the ticket is created with ----------------------------------------------------------


def routed(*names: str) -> list[Event]:
    return [started(), intents(*names), escalated()] if names else [started(), escalated()]


CREATE_CASES = [
    # routing by the primary intent; tags = route tags + all detected intents
    pytest.param(
        routed("billing_problem"),
        {
            "group": "Billing Team",
            "priority": "high",
            "tags": ("billing", "urgent", "billing_problem"),
        },
        id="route-billing",
    ),
    pytest.param(
        routed("bug_report"),
        {"group": "Engineering", "priority": "high", "tags": ("bug", "engineering", "bug_report")},
        id="route-bug",
    ),
    pytest.param(
        routed("feature_request"),
        {
            "group": "Product",
            "priority": "low",
            "tags": ("feature-request", "product", "feature_request"),
        },
        id="route-feature",
    ),
    pytest.param(
        routed("usage_help"),
        {
            "group": "Support Tier 2",
            "priority": "medium",
            "tags": ("documentation", "help", "usage_help"),
        },
        id="route-usage",
    ),
    pytest.param(
        routed("cancellation_intent"),
        {
            "group": "Retention",
            "priority": "urgent",
            "tags": ("churn", "cancellation", "cancellation_intent"),
        },
        id="route-cancellation",
    ),
    pytest.param(
        routed("security_report"),
        {
            "group": "Security",
            "priority": "urgent",
            "tags": ("security", "compliance", "security_report"),
        },
        id="route-security",
    ),
    pytest.param(
        routed(),
        {"group": "Support Tier 1", "priority": "medium", "tags": ("unclassified",)},
        id="no-intent-default-route",
    ),
    pytest.param(
        routed("weather_chat"),
        {"group": "Support Tier 1", "priority": "medium", "tags": ("unclassified", "weather_chat")},
        id="unknown-intent-default-route",
    ),
    pytest.param(
        routed("feature_request", "billing_problem"),
        {
            "group": "Product",
            "tags": ("feature-request", "product", "feature_request", "billing_problem"),
        },
        id="primary-intent-routes-others-tag",
    ),
    pytest.param(
        routed("weather_chat", "billing_problem"),
        {"group": "Support Tier 1", "tags": ("unclassified", "weather_chat", "billing_problem")},
        id="unknown-primary-default-route",
    ),
    pytest.param(
        routed("billing_problem", "billing"),
        {"tags": ("billing", "urgent", "billing_problem")},
        id="intent-named-like-a-route-tag-sent-once",
    ),
    pytest.param(
        [started(), intents("usage_help"), intents("bug_report", "usage_help"), tool()],
        {
            "group": "Engineering",
            "tags": ("bug", "engineering", "usage_help", "bug_report"),
        },
        id="latest-detection-names-primary",
    ),
    pytest.param(
        [
            started(),
            intents("bug_report", at=T0 + timedelta(days=1)),
            intents("usage_help", at=T0),
            tool(),
        ],
        {"group": "Engineering"},
        id="late-delivery-of-older-detection-not-primary",
    ),
    # subject: [<primary intent or general_inquiry>] <conversation subject>
    pytest.param(
        routed("billing_problem"),
        {"subject": "[billing_problem] Charged twice"},
        id="subject-with-intent",
    ),
    pytest.param(routed(), {"subject": "[general_inquiry] Charged twice"}, id="subject-no-intent"),
    pytest.param(
        [started(subject=None), escalated()],
        {"subject": "[general_inquiry] AI conversation conv_1"},
        id="subject-missing",
    ),
    # requester = the customer; external id = the conversation
    pytest.param(
        routed(),
        {
            "requester": Requester(name="Ana Lima", email="ana@example.com", external_id="cus_7"),
            "external_id": CID,
            "follow_up_of": None,
        },
        id="requester-is-the-customer",
    ),
    pytest.param(
        [*users(3), started(), user()],
        {
            "requester": Requester(name="Ana Lima", email="ana@example.com", external_id="cus_7"),
            "subject": "[general_inquiry] Charged twice",
        },
        id="customer-from-late-start",
    ),
    pytest.param(
        [*users(4)],
        {"requester": None, "subject": "[general_inquiry] AI conversation conv_1"},
        id="no-start-yet-no-requester",
    ),
]


@pytest.mark.parametrize("events, expected", CREATE_CASES)
def test_ticket_created_with(events, expected) -> None:
    ticket = the_create(events).ticket
    assert {field: getattr(ticket, field) for field in expected} == expected


def test_create_remembers_what_it_covers() -> None:
    create = the_create([started(), intents("bug_report"), user("It crashes", id="m1"), tool()])
    assert create.conversation_id == CID
    assert create.number == 1
    assert create.tags == create.ticket.tags
    assert create.included[0] == "message:m1"
    assert len(create.included) == 2


def test_routing_table_comes_from_the_policy() -> None:
    table = RoutingTable(
        default=Route(group="Front Desk", priority="low", tags=("triage",)),
        intents={"billing_problem": Route(group="Money", priority="urgent", tags=("money",))},
    )
    policy = Policy(routing=table, chat_events=REPLIES)
    billing = the_create(routed("billing_problem"), policy).ticket
    other = the_create(routed("bug_report"), policy).ticket
    assert (billing.group, billing.priority, billing.tags) == (
        "Money",
        "urgent",
        ("money", "billing_problem"),
    )
    assert (other.group, other.priority, other.tags) == (
        "Front Desk",
        "low",
        ("triage", "bug_report"),
    )


# -- the summary note ------------------------------------------------------------------------


def test_summary_note_of_a_typical_conversation() -> None:
    events = [
        started(),
        user("I was charged twice."),
        assistant("Let me look."),
        user("Any news?"),
        assistant("I have asked billing to refund you."),
        escalated("Refund needs approval"),
    ]
    assert the_create(events).ticket.summary == (
        "CUSTOMER ISSUE:\n"
        "I was charged twice.\n"
        "\n"
        "AI AGENT RESPONSE:\n"
        "I have asked billing to refund you.\n"
        "\n"
        "CONVERSATION LENGTH: 4 messages\n"
        "TOOLS USED: none\n"
        "ESCALATION REASON: Refund needs approval"
    )


SUMMARY_CASES = [
    pytest.param(
        [user("First"), user("Second"), escalated()],
        "CUSTOMER ISSUE:",
        "First",
        id="issue-is-first-user-message",
    ),
    pytest.param(
        [user("x" * 400), escalated()], "CUSTOMER ISSUE:", "x" * 300, id="issue-cut-at-300"
    ),
    pytest.param([escalated()], "CUSTOMER ISSUE:", "", id="no-user-message-empty-issue"),
    pytest.param(
        [user(), assistant("One"), assistant("Two"), escalated()],
        "AI AGENT RESPONSE:",
        "Two",
        id="response-is-last-assistant-message",
    ),
    pytest.param(
        [user(), assistant("y" * 301), escalated()],
        "AI AGENT RESPONSE:",
        "y" * 300,
        id="response-cut-at-300",
    ),
    pytest.param([user(), escalated()], "AI AGENT RESPONSE:", "", id="no-response-empty"),
    pytest.param(
        [*users(2), assistant(), escalated()],
        "CONVERSATION LENGTH:",
        "3 messages",
        id="length-counts-user-and-assistant-messages",
    ),
    pytest.param(
        [*users(3), user("Again", id="d"), user("Again", id="d")],
        "CONVERSATION LENGTH:",
        "4 messages",
        id="length-counts-a-repeated-message-once",
    ),
    pytest.param([user(), escalated()], "TOOLS USED:", "none", id="no-tools-none"),
    pytest.param(
        [user(), tool("issue_refund")],
        "TOOLS USED:",
        "issue_refund",
        id="tool-that-opened-the-ticket",
    ),
    pytest.param(
        [user(), escalated("Customer asks for a human")],
        "ESCALATION REASON:",
        "Customer asks for a human",
        id="escalation-reason",
    ),
    pytest.param([*users(4)], "ESCALATION REASON:", "None", id="no-escalation-none"),
]


@pytest.mark.parametrize("events, heading, expected", SUMMARY_CASES)
def test_summary_note(events, heading, expected) -> None:
    assert section(the_create([started(), *events]).ticket.summary, heading) == expected


def test_link_note_follows_the_created_ticket() -> None:
    view, _ = fold([started(), intents("billing_problem"), user("Charged twice"), tool()])
    view, _ = apply(view, assistant("Checking"), DEFAULT)  # after the create: not covered
    view, commands = apply(view, created("42"), DEFAULT)
    link = commands[0]
    assert isinstance(link, AddComment)
    assert (link.ticket_id, link.comment.public) == ("42", False)
    assert link.comment.body == (
        "AI Conversation: conv_1\n"
        "Messages: 2\n"
        "Tools used: lookup_invoice\n"
        "Intents: billing_problem\n"
        "\n"
        "Transcript:\n"
        "[user] Charged twice"
    )


# -- after the ticket exists -----------------------------------------------------------------

AFTER_CASES = [
    pytest.param(
        ticketed(),
        user("Any news?"),
        ["42 public by requester: Any news?"],
        id="user-message-public-comment-by-requester",
    ),
    pytest.param(
        ticketed(),
        assistant("I asked billing."),
        ["42 note: AI agent: I asked billing."],
        id="assistant-message-internal-note",
    ),
    pytest.param(
        ticketed(),
        tool("issue_refund", status="error"),
        ["42 note: Tool issue_refund (error)"],
        id="tool-run-internal-note",
    ),
    pytest.param(
        ticketed(), note("Reseller, 40 seats"), [NOTED + "Reseller, 40 seats"], id="note-internal"
    ),
    pytest.param(ticketed(RESELLER), RESELLER, [], id="repeated-note-not-resent"),
    pytest.param(
        ticketed(resolved()),
        note("Refund sent"),
        [NOTED + "Refund sent"],
        id="note-reopens-nothing",
    ),
    pytest.param(
        ticketed(),
        escalated("Wants a human"),
        ["42 note: Escalated by the AI agent: Wants a human", "42 status open"],
        id="escalation-note-and-open",
    ),
    pytest.param(
        ticketed(escalated("First")),
        escalated("Second"),
        ["42 note: Escalated by the AI agent: Second"],
        id="escalation-on-open-ticket-note-only",
    ),
    pytest.param(
        ticketed(resolved()),
        escalated("Back to a human"),
        ["42 note: Escalated by the AI agent: Back to a human", "42 status open"],
        id="escalation-reopens-solved",
    ),
    # new intents add tags, once
    pytest.param(
        ticketed(),
        intents("billing_problem"),
        ["42 add tags billing_problem"],
        id="new-intent-adds-tag",
    ),
    pytest.param(
        ticketed(intents("billing_problem")),
        intents("bug_report", "billing_problem"),
        ["42 add tags bug_report"],
        id="only-new-intents-tagged",
    ),
    pytest.param(
        ticketed(intents("billing_problem")), intents("billing_problem"), [], id="tag-added-once"
    ),
    pytest.param(
        [started(), intents("bug_report"), escalated(), created("42")],
        intents("bug_report"),
        [],
        id="intent-sent-with-create-not-added",
    ),
    pytest.param(ticketed(), intents(), [], id="empty-detection-nothing"),
    # resolution
    pytest.param(
        ticketed(), resolved("resolved"), ["42 status solved; priority low"], id="resolved-solves"
    ),
    pytest.param(
        ticketed(), resolved("pending_customer"), ["42 status pending"], id="pending-customer"
    ),
    pytest.param(
        ticketed(), resolved("duplicate"), ["42 status closed; priority low"], id="duplicate-closes"
    ),
    pytest.param(ticketed(resolved()), resolved(), [], id="same-resolution-sent-once"),
    pytest.param(
        ticketed(resolved()), resolved("pending_customer"), ["42 status pending"], id="re-resolved"
    ),
    # reopen
    pytest.param(
        ticketed(resolved()),
        user("It happened again"),
        ["42 status open", "42 public by requester: It happened again"],
        id="user-message-reopens-solved",
    ),
    pytest.param(
        ticketed(resolved("pending_customer")),
        user("Here is the invoice"),
        ["42 status open", "42 public by requester: Here is the invoice"],
        id="user-message-reopens-pending",
    ),
    pytest.param(
        ticketed(resolved(), user()),
        user("And another thing"),
        ["42 public by requester: And another thing"],
        id="reopened-once",
    ),
    pytest.param(
        ticketed(resolved()),
        assistant("Glad to help"),
        ["42 note: AI agent: Glad to help"],
        id="assistant-does-not-reopen",
    ),
    pytest.param(
        ticketed(resolved()),
        tool(),
        ["42 note: Tool lookup_invoice (ok)"],
        id="tool-run-does-not-reopen",
    ),
    pytest.param(ticketed(resolved(), user()), resolved(), ["42 status solved"], id="solved-again"),
    # closed: a user message opens a follow-up; nothing else reaches the closed ticket
    pytest.param(
        closed(),
        user("Hello again"),
        ["create #2 follow-up of 42"],
        id="user-message-on-closed-follows-up",
    ),
    pytest.param(
        ticketed(found_closed("42")),
        user("Hello again"),
        ["create #2 follow-up of 42"],
        id="user-message-on-found-closed-follows-up",
    ),
    pytest.param(closed(), assistant(), [], id="assistant-on-closed-nothing"),
    pytest.param(closed(), tool(), [], id="tool-run-on-closed-nothing"),
    pytest.param(closed(), intents("bug_report"), [], id="intents-on-closed-nothing"),
    pytest.param(closed(), resolved(), [], id="resolution-on-closed-nothing"),
    pytest.param(closed(), escalated(), [], id="escalation-on-closed-waits-for-customer"),
    pytest.param(following_up(), user("Hello?"), [], id="one-follow-up-while-requested"),
    pytest.param(following_up(), escalated(), [], id="escalation-while-follow-up-requested"),
    pytest.param(following_up(), resolved(), [], id="resolution-while-follow-up-requested"),
    pytest.param(
        following_up(created("43")),
        user("Thanks"),
        ["43 public by requester: Thanks"],
        id="conversation-moved-to-follow-up",
    ),
    pytest.param(
        following_up(created("43"), resolved("duplicate")),
        user("Once more"),
        ["create #3 follow-up of 43"],
        id="follow-up-of-follow-up",
    ),
    # duplicates and outcomes
    pytest.param(
        ticketed(user("Hi", id="m5")), user("Hi", id="m5"), [], id="repeated-message-id-nothing"
    ),
    pytest.param(
        ticketed(user("Hi", id="m5"), resolved()),
        user("Hi", id="m5"),
        [],
        id="repeated-message-does-not-reopen",
    ),
    pytest.param(
        closed(user("Hi", id="m5")), user("Hi", id="m5"), [], id="repeated-message-no-follow-up"
    ),
    pytest.param(
        ticketed(WANTS_HUMAN, resolved()), WANTS_HUMAN, [], id="repeated-escalation-does-not-reopen"
    ),
    pytest.param(ticketed(), created("42"), [], id="ticket-created-twice-nothing"),
    pytest.param(ticketed(user()), created("42"), [], id="ticket-created-again-later-nothing"),
    pytest.param(ticketed(), found_closed("42"), [], id="found-closed-no-calls"),
    # a help desk refused a call because the ticket was closed or deleted behind our back
    pytest.param(
        ticketed(user("Still broken", id="m9")),
        found_closed("42", item="message:m9"),
        ["create #2 follow-up of 42"],
        id="refused-message-on-closed-opens-follow-up",
    ),
    pytest.param(
        ticketed(assistant("Noted", id="a9")),
        found_closed("42", item="message:a9"),
        [],
        id="refused-note-on-closed-waits-for-customer",
    ),
    pytest.param(
        ticketed(user("Still broken", id="m9"), found_closed("42", item="message:m9")),
        found_closed("42", item="message:m9"),
        [],
        id="refused-message-twice-one-follow-up",
    ),
    pytest.param(
        ticketed(user("Still broken", id="m9")),
        found_gone("42", item="message:m9"),
        ["create #2"],
        id="refused-message-on-deleted-opens-new-ticket",
    ),
    pytest.param(
        ticketed(resolved()),
        found_gone("42"),
        ["create #2"],
        id="refused-change-on-deleted-opens-new-ticket",
    ),
    pytest.param(
        ticketed(user("Still broken", id="m9")),
        found_gone("41", item="message:m9"),
        [],
        id="refused-on-another-ticket-ignored",
    ),
    # the customer made known after their ticket: deliveries may arrive in any order
    pytest.param(
        [user("Refund please"), escalated(), created("42")],
        started(),
        [f"42 requester {ANA_REQUESTER}"],
        id="late-start-sets-the-requester",
    ),
    pytest.param(ticketed(), started(), [], id="second-start-changes-nothing"),
    pytest.param(
        [user("Refund please"), escalated(), created("42"), resolved("duplicate")],
        started(),
        [],
        id="late-start-on-closed-nothing",
    ),
    pytest.param(
        ticketed(found_closed("41")),
        user("Hi"),
        ["42 public by requester: Hi"],
        id="found-closed-of-another-ticket-ignored",
    ),
]


@pytest.mark.parametrize("history, event, expected", AFTER_CASES)
def test_after_the_ticket_exists(history, event, expected) -> None:
    assert then(history, event) == expected


def test_comments_name_their_conversation_item() -> None:
    _, commands = fold(ticketed(user("Hi", id="m9"), assistant("Hello", id="a9")))
    comments = [c for c in commands if isinstance(c, AddComment) and c.item is not None]
    assert [(c.ticket_id, c.item) for c in comments[-2:]] == [
        ("42", "message:m9"),
        ("42", "message:a9"),
    ]


# -- TicketCreated: what arrived while the ticket was being created --------------------------

CREATED_CASES = [
    pytest.param([started(), *users(4)], [LINK], id="nothing-new-link-note-only"),
    pytest.param(
        [started(), *users(4), user("One more thing")],
        [LINK, "42 public by requester: One more thing"],
        id="user-message-sent-after",
    ),
    pytest.param(
        [started(), *users(4), assistant("Hold on")],
        [LINK, "42 note: AI agent: Hold on"],
        id="assistant-message-sent-after",
    ),
    pytest.param(
        [started(), *users(4), tool()],
        [LINK, "42 note: Tool lookup_invoice (ok)"],
        id="tool-run-sent-after",
    ),
    pytest.param(
        [started(), *users(4), escalated("Wants a human")],
        [LINK, "42 note: Escalated by the AI agent: Wants a human", "42 status open"],
        id="escalation-sent-after-and-opens",
    ),
    pytest.param(
        [started(), user(), assistant(), escalated("Wants a human")],
        [LINK],
        id="covered-escalation-not-resent",
    ),
    pytest.param(
        [started(), note("Before"), user(), escalated(), note("While requested")],
        [LINK, NOTED + "Before", NOTED + "While requested"],
        id="notes-kept-until-the-ticket-exists-in-order",
    ),
    pytest.param(
        [started(), RESELLER, RESELLER, escalated()],
        [LINK, NOTED + "Reseller"],
        id="repeated-note-sent-once",
    ),
    pytest.param(
        [started(), intents("billing_problem"), escalated(), intents("bug_report")],
        [LINK, "42 add tags bug_report"],
        id="new-intent-tagged-after",
    ),
    pytest.param(
        [started(), intents("billing_problem"), escalated(), intents("billing_problem")],
        [LINK],
        id="covered-intent-not-retagged",
    ),
    pytest.param(
        [started(), escalated(), resolved()],
        [LINK, "42 status solved; priority low"],
        id="resolved-while-requested",
    ),
    pytest.param(
        [started(), escalated(), resolved("pending_customer")],
        [LINK, "42 status pending"],
        id="pending-customer-while-requested",
    ),
    pytest.param(
        [started(), escalated(), resolved("duplicate")],
        [LINK, "42 status closed; priority low"],
        id="duplicate-while-requested",
    ),
    pytest.param(
        [started(), escalated(), resolved(), user("Not fixed")],
        [LINK, "42 public by requester: Not fixed"],
        id="resolved-then-user-message-stays-open",
    ),
    pytest.param(
        [started(), escalated(), resolved(), escalated("Again")],
        [LINK, "42 note: Escalated by the AI agent: Again", "42 status open"],
        id="resolved-then-escalated-opens",
    ),
    pytest.param(
        [started(), user("Hi", id="m1"), escalated(), resolved(), user("Hi", id="m1")],
        [LINK, "42 status solved; priority low"],
        id="repeated-message-does-not-undo-resolution",
    ),
    pytest.param(
        [started(), user("Hi", id="m1"), escalated(), user("Hi", id="m1")],
        [LINK],
        id="repeated-covered-message-not-resent",
    ),
    pytest.param(
        [user("Refund please"), escalated(), started(), user("Still here")],
        [LINK, f"42 requester {ANA_REQUESTER}", "42 public by requester: Still here"],
        id="start-arrived-while-requested-requester-first",
    ),
]


@pytest.mark.parametrize("history, expected", CREATED_CASES)
def test_ticket_created_sends_what_arrived_meanwhile(history, expected) -> None:
    assert then(history, created("42")) == expected


def test_ticket_created_with_status_from_the_help_desk() -> None:
    history = [started(), *users(4), escalated("Wants a human")]
    assert then(history, created("42", status="open")) == [
        LINK,
        "42 note: Escalated by the AI agent: Wants a human",
    ]


FOLLOW_UP_LINK = "43 note: AI Conversation: conv_1"

FOLLOW_UP_CASES = [
    pytest.param(
        following_up(),
        [FOLLOW_UP_LINK, "43 public by requester: It is broken again"],
        id="link-note-then-the-message",
    ),
    pytest.param(
        following_up(assistant("Welcome back"), user("Still there?")),
        [
            FOLLOW_UP_LINK,
            "43 public by requester: It is broken again",
            "43 note: AI agent: Welcome back",
            "43 public by requester: Still there?",
        ],
        id="items-sent-after",
    ),
    pytest.param(
        following_up(escalated("Wants a human")),
        [
            FOLLOW_UP_LINK,
            "43 public by requester: It is broken again",
            "43 note: Escalated by the AI agent: Wants a human",
            "43 status open",
        ],
        id="escalation-sent-after-and-opens",
    ),
    pytest.param(
        following_up(intents("bug_report")),
        [FOLLOW_UP_LINK, "43 public by requester: It is broken again", "43 add tags bug_report"],
        id="new-intent-tagged-after",
    ),
    pytest.param(
        following_up(resolved()),
        [
            FOLLOW_UP_LINK,
            "43 public by requester: It is broken again",
            "43 status solved; priority low",
        ],
        id="resolved-while-requested",
    ),
    pytest.param(
        [
            *ticketed(note("On the first ticket"), resolved("duplicate")),
            *after((note("While closed"), user("It is broken again", id="back"))),
        ],
        [
            FOLLOW_UP_LINK,
            "43 note: Note from the AI agent: While closed",
            "43 public by requester: It is broken again",
        ],
        id="note-of-the-closed-ticket-not-repeated",
    ),
]


REFUSED_CASES = [
    pytest.param(
        ticketed(user("Still broken", id="m9"), found_closed("42", item="message:m9")),
        created("43"),
        [FOLLOW_UP_LINK, "43 public by requester: Still broken"],
        id="follow-up-shows-the-refused-message-first",
    ),
    pytest.param(
        ticketed(
            user("Still broken", id="m9"),
            user("Hello?", id="m10"),
            found_closed("42", item="message:m9"),
            found_closed("42", item="message:m10"),
        ),
        created("43"),
        [FOLLOW_UP_LINK, "43 public by requester: Still broken", "43 public by requester: Hello?"],
        id="every-refused-message-reaches-the-follow-up",
    ),
    pytest.param(
        ticketed(user("Still broken", id="m9"), found_gone("42", item="message:m9")),
        created("43"),
        [FOLLOW_UP_LINK, "43 public by requester: Still broken"],
        id="new-ticket-shows-the-refused-message",
    ),
    pytest.param(
        ticketed(
            user("Still broken", id="m9"),
            user("Hello?", id="m10"),
            found_gone("42", item="message:m9"),
            found_gone("42", item="message:m10"),
        ),
        created("43"),
        [FOLLOW_UP_LINK, "43 public by requester: Still broken", "43 public by requester: Hello?"],
        id="every-refused-message-reaches-the-new-ticket",
    ),
    pytest.param(
        ticketed(
            user("Still broken", id="m9"),
            found_closed("42", item="message:m9"),
            created("43"),
        ),
        found_closed("42", item="message:m9"),
        [],
        id="late-refusal-after-the-move-sends-nothing-twice",
    ),
]


@pytest.mark.parametrize("history, event, expected", REFUSED_CASES)
def test_after_a_refusal(history, event, expected) -> None:
    assert then(history, event) == expected


def test_a_refused_message_on_a_desk_that_reopens_closed_tickets() -> None:
    reopens = dataclasses.replace(DEFAULT, closed_reopens=True)
    history = ticketed(user("Still broken", id="m9"))
    assert then(history, found_closed("42", item="message:m9"), reopens) == [
        "42 status open",
        "42 public by requester: Still broken",
    ]
    assert then(closed(), user("Back again"), reopens) == [
        "42 status open",
        "42 public by requester: Back again",
    ]


def test_a_deleted_ticket_is_replaced() -> None:
    history = ticketed(user("Still broken", id="m9"), found_gone("42", item="message:m9"))
    view, commands = fold(history)
    replacement = [c for c in commands if isinstance(c, CreateTicket)][-1]
    assert replacement.number == 2
    assert replacement.ticket.follow_up_of is None
    assert replacement.known_tickets == ("42",)
    assert replacement.ticket.summary.startswith("REPLACES TICKET: 42 (deleted on the help desk)")
    assert "message:m9" not in replacement.included
    assert view.ticket is None
    assert view.ticket_requested
    view, _ = apply(view, created("43"), DEFAULT)
    assert view.ticket is not None
    assert view.ticket.id == "43"
    assert [(t.id, t.status) for t in view.previous_tickets] == [("42", "deleted")]


@pytest.mark.parametrize("history, expected", FOLLOW_UP_CASES)
def test_follow_up_created_sends_what_arrived_meanwhile(history, expected) -> None:
    assert then(history, created("43")) == expected


def test_follow_up_ticket() -> None:
    view, commands = fold(
        [
            started(),
            intents("billing_problem"),
            user("Charged twice", id="m1"),
            escalated(),
            created("42"),
            resolved("duplicate"),
            user("Charged again", id="m2"),
        ]
    )
    first, follow_up = (c for c in commands if isinstance(c, CreateTicket))
    assert follow_up.number == 2
    assert follow_up.ticket.follow_up_of == "42"
    assert follow_up.ticket.external_id == CID
    assert follow_up.ticket.requester == first.ticket.requester
    assert follow_up.ticket.group == "Billing Team"
    assert follow_up.ticket.subject == "[billing_problem] Charged twice"
    # The follow-up leads with the message that opened it, and names the ticket it follows.
    assert follow_up.ticket.summary.startswith("FOLLOW-UP OF TICKET: 42\n\nCUSTOMER ISSUE:\n")
    assert section(follow_up.ticket.summary, "CUSTOMER ISSUE:") == "Charged again"
    # That message is its first public comment, sent once the ticket exists.
    assert "message:m2" not in follow_up.included
    assert "message:m1" in follow_up.included
    assert follow_up.known_tickets == ("42",)
    routed = {"priority": "high", "group": "Billing Team"}
    # The duplicate resolution lowered the closed ticket's priority a step.
    was = Ticket(system="local", id="42", status="closed", priority="medium", group="Billing Team")
    assert view.ticket == was  # until it is created

    view, _ = apply(view, created("43"), DEFAULT)
    assert view.ticket == Ticket(system="local", id="43", status="new", **routed)
    assert view.previous_tickets == (was,)
    assert view.ticket_requested is False


# -- what the conversation remembers ---------------------------------------------------------

VIEW_CASES = [
    pytest.param(
        [user("Early", id="m1"), tool(), started()],
        attrgetter("customer", "user_messages", "tools"),
        (ANA, 1, ("lookup_invoice",)),
        id="events-before-start-kept-customer-later",
    ),
    pytest.param(
        [user(), started(subject=None), started(subject="Second try")],
        attrgetter("subject"),
        "Second try",
        id="start-repeated-fills-subject",
    ),
    pytest.param(
        [started(), *users(4), created("42"), created("42")],
        attrgetter("ticket.id", "previous_tickets", "ticket_requested"),
        ("42", (), False),
        id="ticket-created-twice",
    ),
    pytest.param(
        ticketed(found_closed("42")), attrgetter("ticket.status"), "closed", id="found-closed"
    ),
    pytest.param(
        ticketed(found_closed("41")), attrgetter("ticket.status"), "new", id="found-closed-other"
    ),
    pytest.param(
        ticketed(user("Hi", id="m5"), resolved(), user("Hi", id="m5")),
        attrgetter("status", "resolution", "user_messages"),
        ("resolved", "resolved", 2),
        id="repeated-message-changes-nothing",
    ),
    pytest.param(
        ticketed(resolved(), user("Not fixed")),
        attrgetter("status", "resolution", "ticket.status"),
        ("open", None, "open"),
        id="user-message-reopens-conversation",
    ),
    pytest.param(
        ticketed(resolved("pending_customer")),
        attrgetter("status", "ticket.status"),
        ("pending_customer", "pending"),
        id="resolution-recorded",
    ),
    pytest.param(
        [started(), escalated("Needs a human")],
        attrgetter("status", "escalation_reason", "ticket_requested"),
        ("escalated", "Needs a human", True),
        id="escalation-recorded",
    ),
]


@pytest.mark.parametrize("events, read, expected", VIEW_CASES)
def test_conversation_after(events, read, expected) -> None:
    view, _ = fold(events)
    assert read(view) == expected


def test_unknown_event_raises() -> None:
    with pytest.raises(TypeError, match="unknown event"):
        apply(Conversation(conversation_id=CID), object(), DEFAULT)  # type: ignore[arg-type]


# -- exactly one ticket, whatever the order ---------------------------------------------------

CHAT_EVENTS = st.sampled_from(
    [
        user("Hi", id="m1"),
        user("Hi again", id="m2"),
        user("Still there?", id="m3"),
        user("Hello?", id="m4"),
        user("Anyone?", id="m5"),
        assistant("Let me check", id="a1"),
        tool(),
        escalated(),
        intents("billing_problem"),
        intents("bug_report", "usage_help"),
        resolved("resolved"),
        resolved("pending_customer"),
        started(),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(CHAT_EVENTS, max_size=25),
    policy=st.sampled_from([DEFAULT, ALWAYS]),
    answer_after=st.integers(min_value=0, max_value=5),
)
def test_one_create_ever_until_a_ticket_closes(events, policy, answer_after) -> None:
    """However chat events arrive (repeats and all), one CreateTicket, and no call is lost."""
    view = Conversation(conversation_id=CID)
    commands: list[Command] = []
    waiting = None
    for event in events:
        view, more = apply(view, event, policy)
        commands += more
        if any(isinstance(c, CreateTicket) for c in more):
            waiting = answer_after
        elif waiting is not None:
            waiting -= 1
        if waiting == 0:
            view, more = apply(view, created("42"), policy)
            commands += more
    if waiting is not None and waiting > 0:
        view, more = apply(view, created("42"), policy)
        commands += more
    assert sum(isinstance(c, CreateTicket) for c in commands) == int(needs_ticket(view, policy))
    if view.ticket is not None:
        shown = {c.item for c in commands if isinstance(c, AddComment) and c.item}
        create = next(c for c in commands if isinstance(c, CreateTicket))
        # Every conversation item is on the ticket: in the create's notes, or as a comment.
        assert {item.key for item in view.items} == set(create.included) | shown


def _earlier(event: Event, than: Event) -> Event:
    """`event` as if it had happened just before `than` (delivered after it, though)."""
    return dataclasses.replace(event, occurred_at=than.occurred_at - timedelta(seconds=1))  # type: ignore[type-var]


LATE_CASES = [
    pytest.param(
        "resolved",
        user("Wait, one more thing"),
        ["42 public by requester (keeps solved): Wait, one more thing"],
        "resolved",
        id="late-message-on-solved-reopens-nothing",
    ),
    pytest.param(
        "pending_customer",
        user("Here you go"),
        ["42 public by requester (keeps pending): Here you go"],
        "pending_customer",
        id="late-message-on-pending-reopens-nothing",
    ),
    pytest.param(
        "resolved",
        escalated("Wants a human"),
        ["42 note: Escalated by the AI agent: Wants a human"],
        "resolved",
        id="late-escalation-undoes-nothing",
    ),
    pytest.param(
        "duplicate",
        user("Also this"),
        [],
        "duplicate",
        id="late-message-on-closed-opens-no-follow-up",
    ),
]


@pytest.mark.parametrize("resolution, late, expected, status", LATE_CASES)
def test_what_happened_before_the_resolution_but_arrives_after_it(
    resolution: str, late: Event, expected: list[str], status: str
) -> None:
    """A resolution may be overtaken in delivery by something that happened before it: that
    goes on the ticket as it is, and reopens, escalates or follows up nothing."""
    settled_by = resolved(resolution)
    view, _ = fold([*ticketed(), settled_by])
    view, commands = apply(view, _earlier(late, settled_by), DEFAULT)
    assert [show(command) for command in commands] == expected
    assert view.status == status
    assert view.resolution == resolution
