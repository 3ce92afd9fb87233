"""Late, repeated and reordered chat deliveries end where in-order delivery ends.

A chat platform retries a delivery whose acknowledgement it lost (under the same webhook-id,
or under a new one) and sends concurrently, so deliveries overtake each other. Each example
draws a realistic conversation and delivers it twice into a fresh store, through the real
log, projector and dispatcher (`bootstrap.build` with `FakeHelpDesk`):
- the reference: every delivery once, in order, settling after each;
- the trial, under another conversation id: some deliveries repeated (same or new
  webhook-id, a few places after the original), every delivery moved at most two places,
  `conversation.started` anywhere, and the projector and dispatcher turned at drawn points.

Must be equal (CONTRACT section 2: "Events may arrive out of order or before
conversation.started; nothing is dropped for that"; section 4):
- the read model: status, resolution, customer, subject, channel, intents (as a set), route
  (the latest detection names the primary intent), tools (as a set), escalation reason,
  message count, whether there is a ticket;
- the help desk: one ticket when one is due, none otherwise; the intents among its tags;
  its final status when the conversation was resolved; every user message and every
  assistant message shown on it exactly once (as a comment or in the link note's transcript);
  every tool and the escalation shown; no comment twice; one link note.

May differ, because a ticket is made once from what is known when it is due, and the product
promises no rewrite of what it sent then:
- which messages became comments and which went into the link note's transcript, so the
  *set of public comment bodies* may differ (with the transcript's user lines, it may not);
- the subject's intent, the group, the priority and the route's tags, chosen from the primary
  intent known at creation (they must agree with each other, and the tags must be that
  route's tags plus every intent);
- the subject's text and the requester when `conversation.started` came after the ticket was
  requested (then `AI conversation <id>` and no requester, both together);
- the summary note: which user message is "first", which assistant message is "last", and
  the length, tools and reason it counts (it is written once, at creation);
- without a resolution, the ticket's status: `new` or `open` (an escalation that finds a
  ticket opens it; one that makes the ticket leaves it new).

Every example checks the webhook outcomes (accepted once per webhook-id, then duplicate).

A resolution may be overtaken: what happened before it but arrives after it goes on the
ticket and reopens nothing (`test_resolution_overtaken_by_an_earlier_delivery` pins the
cases that once reopened it). A close is the exception the trial keeps apart: a closed
ticket takes no more changes, so after a close the trial delivers the other steps first.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeHelpDesk, FakeTicket
from tests.support import payload
from ticketsync.projections.routing import BUILT_IN
from ticketsync.projections.settle import RESOLUTION_STATUS
from ticketsync.service import bootstrap, config
from ticketsync.service.bootstrap import Container
from ticketsync.service.queries import views
from ticketsync.service.store.entries import NewEntry

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
# Routed intents, and one the table does not know (it takes the default route).
INTENTS = (
    "billing_problem",
    "bug_report",
    "feature_request",
    "usage_help",
    "cancellation_intent",
    "security_report",
    "order_status",
)
USER_SAYS = (
    "I was charged twice this month",
    "The export button does nothing",
    "How do I add a teammate?",
    "Please cancel my subscription",
    "Still waiting for an answer",
)
ASSISTANT_SAYS = (
    "Let me look into that for you.",
    "I found two invoices for this month.",
    "Could you tell me which browser you use?",
    "I have asked a colleague to help.",
)
TOOLS = ("lookup_invoice", "issue_refund", "reset_password")
ROUTES_BY_GROUP = {route.group: route for route in (BUILT_IN.default, *BUILT_IN.intents.values())}
EXAMPLES = {"sqlite": 40, "postgres": 15}
ROLES = ("user", "assistant")
# Set when test_resolution_overtaken_by_an_earlier_delivery passes (see the docstring).
RESOLUTION_MAY_BE_OVERTAKEN = True


@dataclass
class Step:
    """One webhook of the conversation, without its conversation id and time."""

    type: str
    data: dict[str, Any]

    def payload(self, conversation_id: str, at: datetime) -> dict[str, Any]:
        event = payload(self.type, conversation_id, **self.data)
        event["timestamp"] = at.isoformat().replace("+00:00", "Z")
        return event

    def __repr__(self) -> str:
        brief = {k: v for k, v in self.data.items() if k not in ("customer", "input", "output")}
        return f"{self.type}{brief}"


@dataclass
class Case:
    steps: list[Step]
    # What arrives, in order: (step index, webhook-id tag); a repeated tag is a retry.
    arrivals: list[tuple[int, str]]
    settle_after: list[bool] = field(repr=False)

    def kinds(self, type_: str) -> list[Step]:
        return [step for step in self.steps if step.type == type_]

    def contents(self, role: str) -> list[str]:
        return [s.data["content"] for s in self.kinds("message.created") if s.data["role"] == role]

    @property
    def ticket_due(self) -> bool:
        """CONTRACT section 4, policy `default`."""
        return bool(
            self.kinds("conversation.escalated")
            or len(self.contents("user")) > 3
            or self.kinds("tool.executed")
        )


@st.composite
def conversations(draw: st.DrawFn) -> list[Step]:
    """started, 1-5 user turns (each maybe answered), 1-3 intent detections after user
    messages, 0-2 tool runs, maybe an escalation, maybe a resolution at the end."""
    users = draw(st.integers(1, 5))
    detect_at = draw(st.lists(st.integers(1, users), min_size=1, max_size=3))
    tools_at = draw(st.lists(st.integers(1, users), max_size=2))
    escalate_at = draw(st.none() | st.integers(1, users))
    detections = st.lists(st.sampled_from(INTENTS), min_size=1, max_size=2, unique=True)
    steps = [
        Step(
            "conversation.started",
            {
                "customer": {"id": "cust_7", "email": "ann@example.com", "name": "Ann"},
                "subject": draw(st.sampled_from(["Refund", "Export broken", "Seats"])),
                "channel": "web",
            },
        )
    ]
    said = 0
    for turn in range(1, users + 1):
        said += 1
        steps.append(message(f"u{turn}", "user", f"{draw(st.sampled_from(USER_SAYS))} (#{said})"))
        for _ in range(detect_at.count(turn)):
            steps.append(Step("intents.detected", {"intents": draw(detections)}))
        if draw(st.booleans()):
            said += 1
            text = f"{draw(st.sampled_from(ASSISTANT_SAYS))} (#{said})"
            steps.append(message(f"a{turn}", "assistant", text))
        for run, at in enumerate(tools_at):
            if at == turn:
                steps.append(
                    Step(
                        "tool.executed",
                        {
                            "tool": draw(st.sampled_from(TOOLS)),
                            "input": {"turn": turn, "run": run},
                            "output": {"found": draw(st.booleans())},
                            "status": draw(st.sampled_from(["ok", "error"])),
                        },
                    )
                )
        if turn == escalate_at:
            reason = draw(st.sampled_from(["Customer asked for a human", "Refund over limit"]))
            steps.append(Step("conversation.escalated", {"reason": reason}))
    if draw(st.booleans()):
        resolution = draw(st.sampled_from(sorted(RESOLUTION_STATUS)))
        steps.append(Step("conversation.resolved", {"resolution": resolution}))
    return steps


def message(message_id: str, role: str, content: str) -> Step:
    return Step("message.created", {"message_id": message_id, "role": role, "content": content})


@st.composite
def cases(draw: st.DrawFn) -> Case:
    steps = draw(conversations())
    arrivals = [(index, f"w{index}") for index in range(len(steps))]
    # Retries come after the original, a few deliveries later.
    for retry in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(steps) - 1))
        tag = f"w{index}" if draw(st.booleans()) else f"w{index}.r{retry}"
        original = arrivals.index((index, f"w{index}"))
        at = min(original + draw(st.integers(1, 3)), len(arrivals))
        arrivals.insert(at, (index, tag))
    # Sorting by position + a shift of 0..3 (ties keep their order) moves each delivery
    # at most two places.
    shifts = draw(st.lists(st.integers(0, 3), min_size=len(arrivals), max_size=len(arrivals)))
    arrivals = [arrivals[i] for i in sorted(range(len(arrivals)), key=lambda i: i + shifts[i])]
    # conversation.started may come anywhere.
    started = arrivals.index((0, "w0"))
    arrivals.insert(draw(st.integers(0, len(arrivals) - 1)), arrivals.pop(started))
    if steps[-1].type == "conversation.resolved" and (
        not RESOLUTION_MAY_BE_OVERTAKEN or steps[-1].data["resolution"] == "duplicate"
    ):
        # A close is final: a closed ticket takes no more changes, so what happened before
        # it but arrives after it can only stay in the conversation's record and the audit.
        arrivals = resolution_after_the_rest(arrivals, len(steps) - 1)
    settle_after = draw(st.lists(st.booleans(), min_size=len(arrivals), max_size=len(arrivals)))
    return Case(steps=steps, arrivals=arrivals, settle_after=settle_after)


def resolution_after_the_rest(arrivals: list[tuple[int, str]], last: int) -> list[tuple[int, str]]:
    """Move every delivery of the resolution after the first delivery of each other step
    (but conversation.started, which changes no status and may still come last)."""
    first: dict[int, int] = {}
    for position, (index, _) in enumerate(arrivals):
        first.setdefault(index, position)
    cut = max(position for index, position in first.items() if index not in (0, last)) + 1
    head = arrivals[:cut]
    return [a for a in head if a[0] != last] + [a for a in head if a[0] == last] + arrivals[cut:]


# -- the service, turned by hand -------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def service(url: str) -> Iterator[tuple[Container, FakeHelpDesk]]:
    desk = FakeHelpDesk()
    settings_ = config.load({"TICKETSYNC_DATABASE_URL": url})
    container = bootstrap.build(settings_, help_desk=desk, clock=Clock(), run_workers=False)
    try:
        yield container, desk
    finally:
        container.close()


def deliver(container: Container, event: dict[str, Any], webhook_id: str) -> str:
    """Append a chat delivery the way the webhook endpoint does; returns the log's outcome."""
    entry = NewEntry(
        source="chat",
        delivery_id=webhook_id,
        type=event["type"],
        occurred_at=datetime.fromisoformat(event["timestamp"]),
        recorded_at=datetime.fromtimestamp(container.clock(), UTC),
        conversation_id=event["data"]["conversation_id"],
        raw=orjson.dumps(event).decode(),
    )
    [outcome] = container.log.append([entry])
    return outcome.status


def settle(container: Container, rounds: int = 50) -> None:
    """Run the projector and the dispatcher until neither has anything due."""
    for _ in range(rounds):
        if not (container.projector.run_once() + container.dispatcher.run_once()):
            return
    raise AssertionError("did not settle")


def play(container: Container, case: Case, cid: str, *, in_order: bool) -> None:
    times = [START + timedelta(seconds=index) for index in range(len(case.steps))]
    if in_order:
        plan = [((index, f"w{index}"), True) for index in range(len(case.steps))]
    else:
        plan = list(zip(case.arrivals, case.settle_after, strict=True))
    seen: set[str] = set()
    for (index, tag), settle_now in plan:
        outcome = deliver(container, case.steps[index].payload(cid, times[index]), f"{cid}.{tag}")
        assert outcome == ("duplicate" if tag in seen else "accepted"), (index, tag)
        seen.add(tag)
        if settle_now:
            settle(container)
    settle(container)


# -- what is compared ------------------------------------------------------------------------


def promised(container: Container, desk: FakeHelpDesk, case: Case, cid: str) -> dict[str, Any]:
    """What must not depend on the order of arrival; checks what may on the way."""
    view = views.conversation(container, cid)
    assert view is not None
    assert (view["pending_calls"], view["ticket_requested"]) == (0, False)
    tickets = [t for t in desk.tickets.values() if t.ticket.external_id == cid]
    assert len(tickets) == int(case.ticket_due), [t.ticket.subject for t in tickets]
    observed = {
        "status": view["status"],
        "resolution": view["resolution"],
        "customer": view["customer"],
        "subject": view["subject"],
        "channel": view["channel"],
        "intents": frozenset(view["intents"]),
        "route": view["route"],
        "tools": frozenset(view["tools"]),
        "escalation_reason": view["escalation_reason"],
        "message_count": view["message_count"],
        "has_ticket": view["ticket"] is not None,
    }
    if tickets:
        [ticket] = tickets
        assert view["ticket"]["status"] == ticket.status  # what ticketsync believes is true
        observed |= check_ticket(ticket, view, case, cid)
    return observed


def check_ticket(ticket: FakeTicket, view: dict[str, Any], case: Case, cid: str) -> dict[str, Any]:
    """The ticket's order-dependent parts must agree with each other; returns the rest."""
    new = ticket.ticket
    intents = set(view["intents"])
    # Subject, group, priority and route tags come from one primary intent, known at creation.
    match = re.fullmatch(r"\[(\w+)\] (.+)", new.subject)
    assert match, new.subject
    primary, text = match.groups()
    assert primary in intents | {"general_inquiry"}
    route = BUILT_IN.route_for(() if primary == "general_inquiry" else (primary,))
    assert (new.group, new.priority) == (route.group, route.priority)
    assert set(ticket.tags) == set(ROUTES_BY_GROUP[new.group].tags) | intents
    # The subject text comes from conversation.started, if it had arrived by the create; the
    # requester too, or is set once it arrives, so in the end it is the customer, unless the
    # ticket was closed first (a closed ticket takes no changes).
    customer = view["customer"]
    if text != f"AI conversation {cid}":
        assert text == view["subject"]
    if customer is None or (new.requester is None and ticket.status == "closed"):
        assert new.requester is None
    else:
        assert new.requester is not None
        assert (new.requester.name, new.requester.email, new.requester.external_id) == (
            customer["name"],
            customer["email"],
            customer["id"],
        )
    bodies = [c.body for c in ticket.comments]
    assert not [b for b, n in Counter(bodies).items() if n > 1], "a comment was sent twice"
    [link] = [b for b in bodies if b.startswith("AI Conversation: ")]
    assert link.startswith(f"AI Conversation: {cid}\n")
    transcript = link.split("\nTranscript:\n", 1)[1].split("\n")
    lines = [] if transcript == ["(no messages)"] else [line.split("] ", 1) for line in transcript]
    in_transcript = {role: [t for r, t in lines if r == f"[{role}"] for role in ROLES}
    public = [c.body for c in ticket.comments if c.public]
    notes = [c.body for c in ticket.comments if not c.public]
    # Every message on the ticket exactly once: a comment if it came after the create.
    assert sorted(public + in_transcript["user"]) == sorted(case.contents("user"))
    answers = [n.removeprefix("AI agent: ") for n in notes if n.startswith("AI agent: ")]
    assert sorted(answers + in_transcript["assistant"]) == sorted(case.contents("assistant"))
    # Tool runs and the escalation: in the summary if known at creation, else as notes.
    summary = {
        line.split(": ", 1)[0]: line.split(": ", 1)[1]
        for line in new.summary.split("\n")
        if line.startswith(("TOOLS USED: ", "ESCALATION REASON: "))
    }
    listed = summary["TOOLS USED"]
    summarised_tools = set() if listed == "none" else set(listed.split(", "))
    noted_tools = {n.split(" ", 2)[1] for n in notes if n.startswith("Tool ")}
    assert summarised_tools | noted_tools == set(view["tools"])
    reason = view["escalation_reason"]
    escalation_notes = [n for n in notes if n.startswith("Escalated by the AI agent: ")]
    summarised_reason = summary["ESCALATION REASON"]
    if reason is None:
        assert (summarised_reason, escalation_notes) == ("None", [])
    else:
        shown = [summarised_reason] if summarised_reason != "None" else []
        shown += [n.removeprefix("Escalated by the AI agent: ") for n in escalation_notes]
        assert shown == [reason]
    if view["resolution"] is not None:
        assert ticket.status == RESOLUTION_STATUS[view["resolution"]]
        status: str | tuple[str, ...] = ticket.status
    else:
        status = ("new", "open") if reason is not None else ("new",)
        assert ticket.status in status  # which one depends on the order
    return {"ticket_status": status, "intent_tags": frozenset(ticket.tags) & set(INTENTS)}


# -- the property ----------------------------------------------------------------------------


def fresh_urls(
    store: str, request: pytest.FixtureRequest
) -> Callable[[], AbstractContextManager[str]]:
    """A factory of fresh, empty stores: a new SQLite file or a new PostgreSQL schema."""
    if store == "sqlite":

        @contextmanager
        def sqlite() -> Iterator[str]:
            with tempfile.TemporaryDirectory(prefix="reorder-") as folder:
                yield f"sqlite:///{folder}/ticketsync.db"

        return sqlite
    base = request.getfixturevalue("postgres_server_url")

    @contextmanager
    def postgres() -> Iterator[str]:
        yield f"{base}?schema=p_{uuid.uuid4().hex[:12]}"

    return postgres


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_reordered_repeated_deliveries_end_as_in_order(
    store: str, request: pytest.FixtureRequest
) -> None:
    fresh = fresh_urls(store, request)

    @settings(
        max_examples=EXAMPLES[store],
        deadline=None,
        database=None,  # nothing written outside the test folder; failures print their case
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(case=cases())
    def check(case: Case) -> None:
        with fresh() as url, service(url) as (container, desk):
            play(container, case, "c_ref", in_order=True)
            play(container, case, "c_try", in_order=False)
            expected = promised(container, desk, case, "c_ref")
            assert promised(container, desk, case, "c_try") == expected

    check()


# -- found by the property: a resolution overtaken by what happened before it -----------------

STARTED = Step(
    "conversation.started",
    {"customer": {"id": "cust_7", "email": "ann@example.com", "name": "Ann"}, "subject": "Refund"},
)
TOOL_RUN = Step(
    "tool.executed",
    {"tool": "lookup_invoice", "input": {}, "output": None, "status": "ok"},
)
OVERTAKEN = [
    pytest.param(
        [
            STARTED,
            message("u1", "user", "I want a refund"),
            Step("conversation.escalated", {"reason": "Refund over limit"}),
            Step("conversation.resolved", {"resolution": "resolved"}),
        ],
        id="escalation-after-resolution-reopens",
    ),
    pytest.param(
        [
            STARTED,
            TOOL_RUN,
            message("u1", "user", "Thanks, that fixed it"),
            Step("conversation.resolved", {"resolution": "resolved"}),
        ],
        id="message-after-resolution-reopens",
    ),
    pytest.param(
        [
            STARTED,
            TOOL_RUN,
            message("u1", "user", "Thanks, that fixed it"),
            Step("conversation.resolved", {"resolution": "duplicate"}),
        ],
        id="message-after-close-opens-follow-up",
    ),
]


@pytest.mark.parametrize("steps", OVERTAKEN)
def test_resolution_overtaken_by_an_earlier_delivery(database_url: str, steps: list[Step]) -> None:
    """The last two deliveries swap places, settling after each: the conversation must still
    end resolved, with one ticket in the resolution's status. (It used to end `open` or
    `escalated`, its ticket reopened or never solved, and after a close a follow-up ticket was
    opened for a message written before the close.)"""
    last = len(steps) - 1
    arrivals = [(index, f"w{index}") for index in range(last - 1)]
    arrivals += [(last, f"w{last}"), (last - 1, f"w{last - 1}")]
    case = Case(steps=steps, arrivals=arrivals, settle_after=[True] * len(arrivals))
    with service(database_url) as (container, desk):
        play(container, case, "c_ref", in_order=True)
        play(container, case, "c_try", in_order=False)

        def outcome(cid: str) -> tuple[object, ...]:
            view = views.conversation(container, cid)
            assert view is not None
            tickets = [t.status for t in desk.tickets.values() if t.ticket.external_id == cid]
            return view["status"], view["resolution"], tickets

        assert outcome("c_ref")[1] is not None
        assert outcome("c_try") == outcome("c_ref")
