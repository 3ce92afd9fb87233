"""The log, the conversation projection and the outbox together, on SQLite and PostgreSQL.

Workers are not started: each test turns the projector and the dispatcher by hand, with a
clock it controls, so every step is deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest

from tests.fakes import FakeHelpDesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET, message, payload, wait_until
from ticketsync.adapters.ports import OutcomeUnknown, RateLimited, Retryable
from ticketsync.events.ticket_side import TicketChangeNoticed
from ticketsync.events.tickets import TicketSnapshot
from ticketsync.service import bootstrap, config
from ticketsync.service.queries import views
from ticketsync.service.store import codec
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.log import AuditQuery
from ticketsync.service.workers.outbox import Outcome


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk() -> FakeHelpDesk:
    return FakeHelpDesk()


@pytest.fixture
def service(database_url: str, desk: FakeHelpDesk, clock: Clock):
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "4",
        }
    )
    container = bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False)
    yield container
    container.close()


counter = iter(range(10**9))


def deliver(container, event: dict) -> int:
    """Append a chat delivery the way the webhook endpoint does."""
    raw = orjson.dumps(event).decode()
    at = datetime.fromtimestamp(container.clock(), UTC)
    entry = NewEntry(
        source="chat",
        delivery_id=f"evt_{next(counter)}",
        type=event["type"],
        occurred_at=datetime.fromisoformat(event["timestamp"]),
        recorded_at=at,
        conversation_id=event["data"]["conversation_id"],
        raw=raw,
    )
    [outcome] = container.log.append([entry])
    return outcome.position


def settle(container, rounds: int = 20) -> None:
    """Run the projector and the dispatcher until neither has anything due."""
    for _ in range(rounds):
        if not (container.projector.run_once() + container.dispatcher.run_once()):
            return
    raise AssertionError("did not settle")


def escalate(container, cid: str = "c1") -> None:
    deliver(
        container,
        payload(
            "conversation.started",
            cid,
            customer={"id": "u1", "email": "ann@example.com", "name": "Ann"},
            subject="Refund",
        ),
    )
    deliver(container, message(cid, content="I was charged twice", message_id="m1"))
    deliver(container, payload("intents.detected", cid, intents=["billing_problem"]))
    deliver(container, payload("conversation.escalated", cid, reason="wants a human"))


def test_escalation_opens_one_ticket_with_its_context(service, desk: FakeHelpDesk) -> None:
    escalate(service)
    settle(service)
    assert desk.count("create_ticket") == 1
    [ticket] = desk.tickets.values()
    assert ticket.ticket.subject == "[billing_problem] Refund"
    assert (ticket.ticket.group, ticket.ticket.priority) == ("Billing Team", "high")
    assert ticket.ticket.tags == ("billing", "urgent", "billing_problem")
    assert ticket.ticket.requester is not None
    assert ticket.ticket.requester.email == "ann@example.com"
    assert "ESCALATION REASON: wants a human" in ticket.ticket.summary
    assert ticket.comments[0].body.startswith("AI Conversation: c1")
    view = views.conversation(service, "c1")
    assert view["ticket"] == {
        "system": "fake",
        "id": "1",
        "url": "fake://1",
        "status": "new",
        "priority": "high",
        "group": "Billing Team",
        "assignee": None,
    }
    assert view["pending_calls"] == 0
    assert views.ticket(service, "fake", "1")["conversation_id"] == "c1"


def test_the_audit_trail_tells_the_story(service, desk: FakeHelpDesk) -> None:
    escalate(service)
    desk.fail("create_ticket", Retryable("503 Service Unavailable", status=503, retry_after=2))
    settle(service)
    service.clock.now += 3  # type: ignore[attr-defined]
    settle(service)
    from ticketsync.service.store.log import AuditQuery

    entries, _ = service.log.query(AuditQuery(conversation_id="c1"))
    own = [
        (e.type, e.caused_by)
        for e in entries
        if e.source == "ticketsync" and e.type != "control.changed"
    ]
    requested = next(e for e in entries if e.type == "ticket.requested")
    escalation = next(e for e in entries if e.type == "conversation.escalated")
    assert requested.caused_by == escalation.key
    # The escalation handed the conversation to people, whether or not the chat is told.
    handed = next(e for e in entries if e.type == "control.changed")
    assert handed.caused_by == escalation.key
    assert orjson.loads(handed.data) == {"holder": "human", "reason": "escalated"}
    assert [kind for kind, _ in own][:3] == ["ticket.requested", "call.failed", "ticket.created"]
    assert all(cause == requested.key for kind, cause in own[1:3])
    failed = next(e for e in entries if e.type == "call.failed")
    assert orjson.loads(failed.data)["status"] == 503


def test_projection_is_applied_once_even_when_run_again(service, desk: FakeHelpDesk) -> None:
    escalate(service)
    assert service.projector.run_once() > 0
    assert service.projector.run_once() > 0  # its own entries (ticket.requested) come back
    assert service.projector.run_once() == 0
    settle(service)
    assert desk.count("create_ticket") == 1


def test_crash_between_decision_and_dispatch_sends_once(
    database_url: str, desk: FakeHelpDesk, clock: Clock
) -> None:
    settings = config.load({"TICKETSYNC_DATABASE_URL": database_url})
    first = bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False)
    escalate(first)
    first.projector.run_once()  # the decision is stored; nothing is sent
    first.log.close()  # the process dies here
    second = bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False)
    try:
        settle(second)
        assert desk.count("create_ticket") == 1
        assert len(desk.tickets) == 1
    finally:
        second.close()


def test_rate_limit_waits_for_retry_after(service, desk: FakeHelpDesk, clock: Clock) -> None:
    escalate(service)
    desk.fail("create_ticket", RateLimited("429", status=429, retry_after=30))
    settle(service)
    assert desk.count("create_ticket") == 1
    assert not desk.tickets
    clock.now += 29
    settle(service)
    assert desk.count("create_ticket") == 1
    clock.now += 1
    settle(service)
    assert desk.count("create_ticket") == 2
    assert len(desk.tickets) == 1


def test_unknown_outcome_looks_before_creating_again(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    escalate(service)
    desk.fail("create_ticket", OutcomeUnknown("read timeout"), after_applying=True)
    # A second failure proves the lookup, not the idempotency key, prevents the duplicate.
    settle(service)
    desk.keys.clear()
    clock.now += 700
    settle(service)
    assert len(desk.tickets) == 1
    assert desk.count("find_tickets") == 1
    assert views.conversation(service, "c1")["ticket"]["id"] == "1"


def test_comment_with_unknown_outcome_is_not_sent_twice(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    escalate(service)
    settle(service)
    desk.fail("add_comment", OutcomeUnknown("reset"), after_applying=True)
    deliver(service, message("c1", content="any news?", message_id="m9"))
    settle(service)
    clock.now += 700
    settle(service)
    bodies = [c.body for c in desk.tickets["1"].comments]
    assert bodies.count("any news?") == 1


def test_outage_parks_after_max_attempts_and_operator_retry_sends(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    escalate(service)
    desk.fail("create_ticket", Retryable("connection refused"), times=4)
    for _ in range(6):
        settle(service)
        clock.now += 700
    [parked] = service.store.calls("parked")
    assert parked.attempts == 4
    assert parked.kind == "create_ticket"
    assert service.store.unfinished_calls() == {"pending": 0, "parked": 1}
    assert views.conversation(service, "c1")["ticket"] is None
    service.dispatcher.retry(parked.call_id)
    assert service.store.unfinished_calls() == {"pending": 1, "parked": 0}
    settle(service)
    assert len(desk.tickets) == 1
    assert service.store.calls("parked") == []
    assert service.store.unfinished_calls() == {"pending": 0, "parked": 0}


def test_backoff_grows_and_stays_under_the_cap(service, desk: FakeHelpDesk, clock: Clock) -> None:
    escalate(service)
    desk.fail("create_ticket", Retryable("503"), times=3)
    delays = []
    for _ in range(3):
        settle(service)
        [call] = service.store.calls("pending")
        delays.append(call.next_attempt_at - clock.now)
        clock.now = call.next_attempt_at
    assert all(0 <= d <= min(600, 2**i) for i, d in enumerate(delays))


def test_webhook_to_ticket_through_the_ingestor(service, desk: FakeHelpDesk) -> None:
    """The ingestor's commit wakes nothing here, but what it stores is what the projector reads."""

    async def run() -> None:
        service.ingestor.start()
        try:
            entry = NewEntry(
                source="chat",
                delivery_id="evt_x",
                type="conversation.escalated",
                occurred_at=datetime.now(UTC),
                recorded_at=datetime.now(UTC),
                conversation_id="cx",
                raw=orjson.dumps(payload("conversation.escalated", "cx", reason="r")).decode(),
            )
            assert (await service.ingestor.append(entry)).status == "accepted"
        finally:
            service.ingestor.stop()

    asyncio.run(run())
    settle(service)
    assert desk.count("create_ticket") == 1


def test_a_call_older_than_the_age_limit_is_parked(
    database_url: str, desk: FakeHelpDesk, clock: Clock
) -> None:
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_OUTBOX_MAX_AGE": "3600",
            "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "100000",  # only age may park it here
        }
    )
    container = bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False)
    try:
        escalate(container)
        desk.fail("create_ticket", Retryable("503"), times=100)
        settle(container)
        while clock.now < 1_800_000_000 + 3599:
            [call] = container.store.calls("pending")
            clock.now = min(call.next_attempt_at, 1_800_000_000 + 3599)
            settle(container)
        assert container.store.calls("parked") == []
        clock.now += 601  # past the age limit and any backoff: the next attempt is the last
        settle(container)
        [parked] = container.store.calls("parked")
        assert parked.kind == "create_ticket"
    finally:
        container.close()


def notes_due(container, count: int) -> None:
    """Conversation c1 with its ticket, then `count` messages decided and not yet sent."""
    escalate(container)
    settle(container)
    for n in range(count):
        deliver(container, message("c1", content=f"note {n}", message_id=f"n{n}"))
    while container.projector.run_once():
        pass


def test_a_conversations_calls_go_out_together_in_order(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    notes_due(service, 5)
    assert service.dispatcher.run_once() == 5  # one round, one conversation, five calls
    bodies = [c.body for c in desk.tickets["1"].comments]
    assert bodies[-5:] == [f"note {n}" for n in range(5)]
    assert service.store.calls("pending") == []


def test_a_failed_call_holds_the_ones_after_it_and_frees_their_claims(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    notes_due(service, 3)
    desk.fail("add_comment", Retryable("503", status=503, retry_after=5))
    before = desk.count("add_comment")
    assert service.dispatcher.run_once() == 3
    assert desk.count("add_comment") == before + 1  # the failure stopped the chain
    first, *rest = service.store.calls("pending")
    assert first.attempts == 1
    assert first.next_attempt_at == clock.now + 5
    # The others were handed back as they were: due, unclaimed, and still behind the first.
    assert [(call.attempts, call.claims) for call in rest] == [(0, 0), (0, 0)]
    assert all(call.next_attempt_at <= clock.now for call in rest)
    assert service.dispatcher.run_once() == 0
    clock.now += 5
    assert service.dispatcher.run_once() == 3
    bodies = [c.body for c in desk.tickets["1"].comments]
    assert bodies[-3:] == ["note 0", "note 1", "note 2"]


def test_claims_of_a_round_take_only_the_calls_as_they_were_read(service, clock: Clock) -> None:
    notes_due(service, 3)
    first, second, third = [c for c in service.store.calls("pending") if c.conversation_id == "c1"]
    with service.store.transaction() as tx:  # another dispatcher took the second meanwhile
        assert tx.claim_all([second], clock.now + 60) == [True]
    with service.store.transaction() as tx:
        taken = tx.claim_all([first, second, third], clock.now + 30)
    assert taken == [True, False, True]
    after = {call.call_id: call for call in service.store.calls("pending")}
    assert [after[c.call_id].claims for c in (first, second, third)] == [1, 1, 1]
    assert after[first.call_id].next_attempt_at == clock.now + 30
    assert after[second.call_id].next_attempt_at == clock.now + 60  # still the other's


def test_a_round_claims_nothing_behind_a_call_another_dispatcher_holds(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    notes_due(service, 3)
    escalate(service, "c2")
    service.projector.run_once()
    first, *rest = [call for call in service.store.calls("pending") if call.conversation_id == "c1"]
    with service.store.transaction() as tx:  # another dispatcher's claim on c1's first call
        assert tx.claim_all([first], clock.now + 60) == [True]
    assert service.dispatcher.run_once() == 1  # c2's create only
    assert desk.count("create_ticket") == 2
    pending = {call.call_id: call for call in service.store.calls("pending")}
    assert pending[first.call_id].claims == 1  # still the other's
    # Claimed in the same round and given back: as they were, due and behind the first.
    assert [(pending[c.call_id].claims, pending[c.call_id].next_attempt_at) for c in rest] == [
        (c.claims, c.next_attempt_at) for c in rest
    ]


def test_a_call_behind_a_chain_in_flight_is_not_due_until_the_chain_ends(
    service, desk: FakeHelpDesk, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes_due(service, 1)
    dispatcher = service.dispatcher
    [dispatch] = [worker for worker in service.workers if worker.name == "outbox-dispatcher"]
    assert service.store.next_due() == clock.now  # a call is due now
    release = threading.Event()
    original = desk.add_comment

    def held(ticket_id, comment):
        release.wait(timeout=10)
        return original(ticket_id, comment)

    monkeypatch.setattr(desk, "add_comment", held)
    assert dispatcher.run_once(wait=False) == 1  # its chain is now in flight
    deliver(service, message("c1", content="one more", message_id="late"))
    service.projector.run_once()
    assert dispatcher.run_once(wait=False) == 0  # the new call waits behind the chain ...
    # ... so it is not due before the claim in flight ends: the dispatcher does not spin.
    assert service.store.next_due() == clock.now + dispatcher.lease
    dispatch.wake.clear()
    release.set()
    wait_until(dispatch.wake.is_set, timeout=10)  # the chain's end wakes the dispatcher
    assert service.store.next_due() == clock.now
    assert dispatcher.run_once() == 1
    assert [c.body for c in desk.tickets["1"].comments][-2:] == ["note 0", "one more"]


def test_only_a_page_that_queued_calls_wakes_the_dispatcher(service) -> None:
    workers = {worker.name: worker for worker in service.workers}
    project, dispatch = workers["projection-conversations"], workers["outbox-dispatcher"]
    assert project.step() == 0  # an empty log: the projection starts out live
    deliver(service, message("c1", content="hello", message_id="m1"))
    assert project.step() == 1
    project.after_work()
    assert not dispatch.wake.is_set()  # one message opens no ticket: nothing to send
    escalate(service, "c2")
    assert project.step() == 4
    project.after_work()
    assert dispatch.wake.is_set()  # the escalation queued a create


def test_calls_in_flight_by_help_desk_unless_set(database_url: str, desk: FakeHelpDesk) -> None:
    def concurrency(env: dict[str, str], **kwargs) -> int:
        settings = config.load({"TICKETSYNC_DATABASE_URL": database_url, **env})
        container = bootstrap.build(settings, run_workers=False, **kwargs)
        try:
            return container.dispatcher.concurrency
        finally:
            container.close()

    assert concurrency({}) == 4  # the built-in desk: its calls run in this process
    assert concurrency({}, help_desk=desk) == 8  # a remote desk: latency to hide
    assert concurrency({"TICKETSYNC_OUTBOX_CONCURRENCY": "2"}, help_desk=desk) == 2


def test_a_slow_chain_renews_each_later_claim_before_sending(
    service, desk: FakeHelpDesk, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes_due(service, 3)
    lease = service.dispatcher.lease
    original = desk.add_comment

    def slow(ticket_id, comment):
        clock.now += lease / 2  # each call takes half a lease
        return original(ticket_id, comment)

    monkeypatch.setattr(desk, "add_comment", slow)
    renewed = []
    renew = service.dispatcher._renew
    monkeypatch.setattr(
        service.dispatcher, "_renew", lambda call: renewed.append(call) or renew(call)
    )
    assert service.dispatcher.run_once() == 3
    assert [c.body for c in desk.tickets["1"].comments][-3:] == ["note 0", "note 1", "note 2"]
    assert len(renewed) == 2  # the second and third calls, each before it was sent


def test_a_chain_stops_where_another_dispatcher_took_over(
    service, desk: FakeHelpDesk, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes_due(service, 3)
    original = desk.add_comment
    [_, second, third] = service.store.calls("pending")

    def slow_then_taken(ticket_id, comment):
        original(ticket_id, comment)
        clock.now += service.dispatcher.lease + 1  # the claims ran out meanwhile ...
        with service.store.transaction() as tx:  # ... and another dispatcher claimed the next
            tx.execute(
                "UPDATE ticketsync_outbox SET claims = claims + 1 WHERE call_id = ?",
                (second.call_id,),
            )
        monkeypatch.setattr(desk, "add_comment", original)

    monkeypatch.setattr(desk, "add_comment", slow_then_taken)
    assert service.dispatcher.run_once() == 3
    assert [c.body for c in desk.tickets["1"].comments][-1] == "note 0"  # not the taken one
    held = {call.call_id: call for call in service.store.calls("pending")}
    assert held[second.call_id].claims == 2  # the other dispatcher's
    assert held[third.call_id].claims == 0  # handed back


def test_only_work_redone_from_the_log_commits_without_waiting_for_the_disk(
    service, desk: FakeHelpDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Projection pages and call outcomes may be lost with PostgreSQL and are redone; a
    claim must be on disk before its call goes out, so that a lost outcome reads as unknown."""
    store = service.store
    opened = store.transaction
    seen: list[tuple[bool, str, str]] = []  # durable, synchronous_commit, statements

    @contextlib.contextmanager
    def spy(*, durable: bool = True, **options: bool):
        with opened(durable=durable, **options) as tx:
            setting = (
                tx.rows("SHOW synchronous_commit")[0]["synchronous_commit"]
                if store.postgres
                else ""
            )
            statements: list[str] = []
            execute = tx.execute

            def recorded(sql: str, params=()):
                statements.append(sql)
                return execute(sql, params)

            tx.execute = recorded
            claim_all = tx.claim_all

            def claiming(calls, until):
                statements.append("claim_all: claims = claims + 1")  # one statement on PostgreSQL
                return claim_all(calls, until)

            tx.claim_all = claiming
            update_claimed = tx.update_claimed

            def updating(calls):
                statements.append("update_claimed")  # on its own cursor on PostgreSQL
                return update_claimed(calls)

            tx.update_claimed = updating
            yield tx
            seen.append((durable, setting, " ".join(statements)))

    monkeypatch.setattr(store, "transaction", spy)
    escalate(service)
    settle(service)
    assert desk.count("create_ticket") == 1
    claims = [entry for entry in seen if "claims = claims + 1" in entry[2]]
    redone = [entry for entry in seen if not entry[0]]
    assert claims
    assert all(durable for durable, _, _ in claims)
    assert any("ticketsync_tracking" in sql for _, _, sql in redone)  # a projection page
    assert any("update_claimed" in sql for _, _, sql in redone)  # outcomes
    if store.postgres:
        assert {setting for durable, setting, _ in seen} == {"on", "off"}
        assert all((setting == "off") == (not durable) for durable, setting, _ in seen)


def test_an_outcome_that_cannot_be_stored_costs_the_others_nothing(service) -> None:
    """Outcomes finished together share one (on PostgreSQL pipelined) write; when it fails,
    each is written alone, so only the one at fault is refused."""
    escalate(service)
    escalate(service, "c2")
    service.projector.run_once()
    first, second = service.store.calls(state="pending")
    dispatcher = service.dispatcher
    good = Outcome(
        replace(first, state="done", attempts=1),
        (dispatcher._entry(first, "call.sent", {"attempt": 1}, suffix=".1"),),
    )
    # The same delivery id as the entry that queued the call: the log refuses it.
    clash = Outcome(
        replace(second, state="done", attempts=1),
        (
            replace(
                dispatcher._entry(second, "call.sent", {}), delivery_id=f"{second.call_id}.queued"
            ),
        ),
    )
    results = dispatcher._write_outcomes([good, clash])
    assert results[0] is None
    assert isinstance(results[1], Exception)
    states = {call.call_id: call.state for call in service.store.calls()}
    assert states == {first.call_id: "done", second.call_id: "pending"}
    found = service.log.query(AuditQuery(conversation_id=first.conversation_id, type="call.sent"))[
        0
    ]
    assert [entry.delivery_id for entry in found] == [f"{first.call_id}.call.sent.1"]


def notice(container, ticket_id: str, delivery_id: str, cid: str = "c1") -> None:
    """A help desk's notice that the ticket changed, appended as the webhook endpoint does."""
    at = datetime.fromtimestamp(container.clock(), UTC)
    event = TicketChangeNoticed(
        system="fake", ticket_id=ticket_id, comment_id=None, external_id=cid, occurred_at=at
    )
    container.log.append(
        [
            NewEntry(
                source="zendesk",
                delivery_id=delivery_id,
                type="trigger.ticket_changed",
                occurred_at=at,
                recorded_at=at,
                conversation_id=cid,
                ticket=f"fake:{ticket_id}",
                raw='{"ticketsync": "trigger/2"}',
                data=codec.dump_event(event),
            )
        ]
    )


def test_a_notice_is_read_back_and_what_the_desk_said_is_applied(
    service, desk: FakeHelpDesk
) -> None:
    escalate(service)
    settle(service)
    desk.snapshots["1"] = TicketSnapshot(
        status="solved",
        priority="high",
        group_id="7",
        group="Billing Team",
        assignee_id="99",
        assignee="Dana",
        updated_at=datetime(2026, 11, 25, 10, 7, tzinfo=UTC),
    )
    notice(service, "1", "inv-1")
    settle(service)

    assert desk.count("read_ticket") == 1
    view = views.conversation(service, "c1")
    assert (view["status"], view["ticket"]["status"], view["ticket"]["assignee"]) == (
        "resolved_by_agent",
        "solved",
        "Dana",
    )
    entries, _ = service.log.query(AuditQuery(conversation_id="c1", type="ticket.read"))
    [read] = entries
    assert orjson.loads(read.data)["snapshot"]["status"] == "solved"

    # A replay of the notice under another delivery id reads again, and changes nothing.
    notice(service, "1", "inv-2")
    settle(service)
    # The second read asks only for comments since the state the first one showed.
    shown_at = datetime(2026, 11, 25, 10, 7, tzinfo=UTC)
    assert [args for name, args in desk.calls if name == "read_ticket"] == [
        ("1", None),
        ("1", shown_at),
    ]
    assert views.conversation(service, "c1") == {**view, "pending_calls": 0}


def test_a_read_the_desk_cannot_answer_is_retried_like_any_call(
    service, desk: FakeHelpDesk, clock: Clock
) -> None:
    escalate(service)
    settle(service)
    desk.snapshots["1"] = TicketSnapshot(
        status="pending",
        priority="high",
        group_id="7",
        group="Billing Team",
        assignee_id=None,
        assignee=None,
        updated_at=datetime(2026, 11, 25, 10, 7, tzinfo=UTC),
    )
    desk.fail("read_ticket", Retryable("503 Service Unavailable", status=503, retry_after=5))
    notice(service, "1", "inv-1")
    settle(service)
    assert views.conversation(service, "c1")["status"] == "escalated"
    clock.now += 6
    settle(service)
    assert desk.count("read_ticket") == 2
    assert views.conversation(service, "c1")["status"] == "awaiting_customer"


def test_a_hand_over_is_recorded_when_it_is_the_conversations_first_event(service) -> None:
    """An escalation can be the first thing said of a conversation: its hand-over to
    people is in the audit all the same."""
    deliver(service, payload("conversation.escalated", "c9", reason="wants a human"))
    settle(service)
    from ticketsync.service.store.log import AuditQuery

    entries, _ = service.log.query(AuditQuery(conversation_id="c9"))
    [handed] = [e for e in entries if e.type == "control.changed"]
    escalation = next(e for e in entries if e.type == "conversation.escalated")
    assert handed.caused_by == escalation.key
    assert orjson.loads(handed.data) == {"holder": "human", "reason": "escalated"}
