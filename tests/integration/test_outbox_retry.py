"""Claims and retries of outbox calls, with two dispatchers on one database (SQLite and
PostgreSQL), as two `worker` processes would run.

Each dispatcher has a container of its own (its own connections); both send to one fake
help desk and read one clock the test turns. Calls are written straight into the outbox.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.fakes import FakeHelpDesk
from tests.integration.conftest import AUTH
from tests.support import ADMIN_TOKEN, CHAT_SECRET, wait_until
from ticketsync.events.commands import AddComment
from ticketsync.events.tickets import Comment, NewTicket
from ticketsync.service import bootstrap, config
from ticketsync.service.cli import main as cli
from ticketsync.service.store import codec
from ticketsync.service.store.calls import Call, new_call
from ticketsync.service.store.log import AuditQuery
from ticketsync.service.workers.outbox import ClaimLost, NotParked, Outcome

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


def retried(container) -> list[str]:
    """The calls the log says an operator retried, once per retry."""
    return [key.partition(".call.retried")[0] for key in entries(container, "call.retried")]


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


def park(container, call_id: str) -> None:
    with container.store.transaction() as tx:
        tx.execute("UPDATE ticketsync_outbox SET state = 'parked' WHERE call_id = ?", (call_id,))


def test_a_retry_of_a_call_in_flight_is_refused_and_the_call_is_sent_once(
    containers, desk: FakeHelpDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = containers
    add(first, comment_call("c1", "hello"))
    sending, release = threading.Event(), threading.Event()
    original = desk.add_comment

    def slow_once(ticket_id, comment):
        if not sending.is_set():
            sending.set()
            release.wait(timeout=10)
        return original(ticket_id, comment)

    monkeypatch.setattr(desk, "add_comment", slow_once)
    assert first.dispatcher.run_once(wait=False) == 1
    wait_until(sending.is_set)  # the first dispatcher is sending it
    with pytest.raises(NotParked) as refused:
        second.dispatcher.retry("c1.hello")  # the operator clicks Retry meanwhile
    assert (refused.value.code, refused.value.facts) == ("not_parked", {"state": "pending"})
    assert second.dispatcher.run_once() == 0  # nothing due: the call is the first's
    release.set()
    wait_until(lambda: first.store.calls("done"))
    assert comments(desk) == ["hello"]
    assert retried(first) == []
    with pytest.raises(NotParked) as refused:
        second.dispatcher.retry("c1.hello")
    assert (refused.value.code, refused.value.facts) == ("already_done", {"state": "done"})
    assert second.dispatcher.retry("no-such-call") is None


def test_of_two_retries_of_a_parked_call_at_once_one_is_refused(containers) -> None:
    first = containers[0]
    add(first, comment_call("c1", "hello"))
    park(first, "c1.hello")
    start = threading.Barrier(2)

    def retry(container):
        start.wait(timeout=10)
        try:
            return container.dispatcher.retry("c1.hello").state
        except NotParked as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = sorted(pool.map(retry, containers))
    assert answers == ["not_parked", "pending"]
    assert retried(first) == ["c1.hello"]
    [call] = first.store.calls("pending")
    assert call.call_id == "c1.hello"


# ------------------------------------------------------------------ over HTTP and the CLI


@pytest.fixture
def calls_in_each_state(app: Starlette) -> bootstrap.Container:
    """A store (the `app`'s, SQLite) with one call in each state: c1 pending, c2 parked,
    c3 done."""
    container = app.state.api.container
    add(container, *(comment_call(cid, "hello") for cid in ("c1", "c2", "c3")))
    park(container, "c2.hello")
    with container.store.transaction() as tx:
        tx.execute("UPDATE ticketsync_outbox SET state = 'done' WHERE call_id = 'c3.hello'")
    return container


def test_retry_over_http_takes_only_a_parked_call(app: Starlette, calls_in_each_state) -> None:
    with TestClient(app) as client:
        pending = client.post("/outbox/c1.hello/retry", headers=AUTH)
        assert pending.status_code == 409
        assert pending.json()["error"] == "not_parked"
        assert pending.json()["state"] == "pending"
        assert "not parked" in pending.json()["detail"]
        done = client.post("/outbox/c3.hello/retry", headers=AUTH)
        assert (done.status_code, done.json()["error"], done.json()["state"]) == (
            409,
            "already_done",
            "done",
        )
        assert client.post("/outbox/nothing/retry", headers=AUTH).status_code == 404
        parked = client.post("/outbox/c2.hello/retry", headers=AUTH)
        assert (parked.status_code, parked.json()["state"]) == (200, "pending")
        again = client.post("/outbox/c2.hello/retry", headers=AUTH)  # the double click
        assert (again.status_code, again.json()["state"]) == (409, "pending")
    assert retried(calls_in_each_state) == ["c2.hello"]


def test_retry_from_the_cli_takes_only_a_parked_call(
    calls_in_each_state, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TICKETSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 't.db'}")
    monkeypatch.setenv("TICKETSYNC_CHAT_WEBHOOK_SECRET", CHAT_SECRET)
    monkeypatch.setenv("TICKETSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
    assert cli.main(["outbox", "retry", "c1.hello"]) == 1
    assert "'c1.hello' is pending, not parked" in capsys.readouterr().err
    assert cli.main(["outbox", "retry", "c3.hello"]) == 1
    assert "'c3.hello' has succeeded already" in capsys.readouterr().err
    assert cli.main(["outbox", "retry", "nothing"]) == 1
    assert "no call 'nothing'" in capsys.readouterr().err
    assert cli.main(["outbox", "retry", "c2.hello"]) == 0
    assert "c2.hello: due now" in capsys.readouterr().out
    assert cli.main(["outbox", "retry", "c2.hello"]) == 1
    assert "'c2.hello' is pending, not parked" in capsys.readouterr().err
    assert retried(calls_in_each_state) == ["c2.hello"]
