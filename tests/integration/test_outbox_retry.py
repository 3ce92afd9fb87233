"""Claims and retries of outbox calls, with two dispatchers on one database (SQLite and
PostgreSQL), as two `worker` processes would run.

Each dispatcher has a container of its own (its own connections); both send to one fake
help desk and read one clock the test turns. Calls are written straight into the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from tests.fakes import FakeHelpDesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.events.commands import AddComment
from ticketsync.events.tickets import Comment, NewTicket
from ticketsync.service import bootstrap, config
from ticketsync.service.store import codec
from ticketsync.service.store.calls import Call, new_call
from ticketsync.service.store.log import AuditQuery
from ticketsync.service.workers.outbox import ClaimLost, Outcome

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk() -> FakeHelpDesk:
    desk = FakeHelpDesk()
    ticket = NewTicket(
        external_id="c1",
        subject="Refund",
        requester=None,
        group=None,
        priority="high",
        tags=(),
        summary="",
    )
    desk.create_ticket(ticket, idempotency_key="c1:1")  # ticket "1"
    return desk


@pytest.fixture
def containers(database_url: str, desk: FakeHelpDesk, clock: Clock):
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    built = [
        bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False) for _ in range(2)
    ]
    yield built
    for container in built:
        container.close()


def comment_call(conversation_id: str, body: str, **fields) -> Call:
    command = AddComment(
        conversation_id=conversation_id, ticket_id="1", comment=Comment(body=body, public=False)
    )
    call = new_call(
        call_id=f"{conversation_id}.{body}",
        conversation_id=conversation_id,
        kind="add_comment",
        command=codec.dumps(command),
        now=NOW - 1,
        queued_key=f"chat:{conversation_id}.queued",
        cause_position=1,
    )
    return replace(call, **fields)


def add(container, *calls: Call) -> None:
    with container.store.transaction() as tx:
        tx.add_calls(calls)


def entries(container, kind: str) -> list[str]:
    """The ids of the log's entries of type `kind`."""
    found, _ = container.log.query(AuditQuery(type=kind, limit=1000))
    return [entry.delivery_id for entry in found]


def comments(desk: FakeHelpDesk) -> list[str]:
    return [comment.body for comment in desk.tickets["1"].comments]


def test_an_outcome_written_under_a_lost_claim_is_dropped(
    containers, desk: FakeHelpDesk, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = containers
    add(first, comment_call("c1", "hello"))
    [chain] = first.dispatcher._claim_due(NOW, 10).values()
    # The first dispatcher stalls past its lease before it sends; the second claims the call.
    clock.now = NOW + first.dispatcher.lease + 1
    [taken] = second.dispatcher._claim_due(clock.now, 10).values()
    caplog.set_level(logging.WARNING, logger="ticketsync.service.workers.outbox")
    first.dispatcher._attempt_chain(chain, NOW)
    assert comments(desk) == ["hello"]  # it did send, but what it saw is not written:
    [call] = first.store.calls()
    assert (call.state, call.attempts, call.claims) == ("pending", 0, 2)
    assert call.next_attempt_at == clock.now + second.dispatcher.lease  # the second's claim
    assert entries(first, "call.sent") == []
    [dropped] = [r for r in caplog.records if r.getMessage() == "outbox.outcome_dropped"]
    assert (dropped.call_id, dropped.claim) == ("c1.hello", 1)
    # The claim's holder finds its claim count above the attempts, looks, and does not send again.
    second.dispatcher._attempt_chain(taken, clock.now)
    assert comments(desk) == ["hello"]
    [call] = first.store.calls()
    assert (call.state, call.attempts) == ("done", 1)
    assert entries(first, "call.sent") == ["c1.hello.call.sent.1"]


def test_of_outcomes_written_together_only_the_lost_claims_are_dropped(
    containers, clock: Clock
) -> None:
    first, second = containers
    add(first, comment_call("c1", "kept"), comment_call("c2", "lost"))
    chains = first.dispatcher._claim_due(NOW, 10)
    clock.now = NOW + first.dispatcher.lease + 1
    with second.store.transaction() as tx:  # the second takes c2's call once the lease ran out
        [lost] = chains["c2"]
        as_claimed = replace(lost, next_attempt_at=NOW + first.dispatcher.lease, claims=1)
        assert tx.claim_all([as_claimed], clock.now + second.dispatcher.lease) == [True]
    outcomes = []
    for conversation_id in ("c1", "c2"):
        [call] = chains[conversation_id]
        held = replace(call, claims=call.claims + 1, state="done", attempts=1)
        entry = first.dispatcher._entry(held, "call.sent", {"attempt": 1}, suffix=".1")
        outcomes.append(Outcome(held, (entry,)))
    results = first.dispatcher._write_outcomes(outcomes)
    assert results[0] is None
    assert isinstance(results[1], ClaimLost)
    states = {call.call_id: (call.state, call.claims) for call in first.store.calls()}
    assert states == {"c1.kept": ("done", 1), "c2.lost": ("pending", 2)}
    assert entries(first, "call.sent") == ["c1.kept.call.sent.1"]
