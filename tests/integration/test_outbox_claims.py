"""Dispatchers in two processes claiming from one PostgreSQL outbox at the same moment.

Each dispatcher has a container of its own (its own connections), as a `worker` process
would; the calls are written straight into the outbox, so only the claims are under test.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fakes import FakeHelpDesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET, wait_until
from ticketsync.service import bootstrap, config
from ticketsync.service.store.calls import Call

pytestmark = pytest.mark.postgres

NOW = 1_800_000_000.0


@pytest.fixture
def database_url(postgres_server_url: str) -> str:
    return f"{postgres_server_url}?schema=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def containers(database_url: str):
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    built = [
        bootstrap.build(settings, help_desk=FakeHelpDesk(), clock=lambda: NOW, run_workers=False)
        for _ in range(2)
    ]
    yield built
    for container in built:
        container.close()


def due_call(conversation_id: str, n: int = 0) -> Call:
    return Call(
        call_id=f"{conversation_id}.{n}",
        conversation_id=conversation_id,
        kind="add_comment",
        command="{}",
        state="pending",
        attempts=0,
        next_attempt_at=NOW - 1,
        created_at=NOW - 1,
        updated_at=NOW - 1,
        last_error=None,
        uncertain=False,
        queued_key=f"{conversation_id}.queued",
    )


def add_due(container, calls: list[Call]) -> None:
    with container.store.transaction() as tx:
        tx.add_calls(calls)


def claimed_ids(chains: dict[str, list[Call]]) -> set[str]:
    return {call.call_id for chain in chains.values() for call in chain}


def test_a_claim_in_progress_leaves_the_other_dispatcher_the_rest(containers, monkeypatch) -> None:
    first, second = containers
    add_due(first, [due_call(f"c{n:03}") for n in range(100)])
    locked, release = threading.Event(), threading.Event()
    claim = first.dispatcher._claim

    def held(tx, due, now):
        # The rows are locked and the claim not yet committed: the other claims meanwhile.
        taken = claim(tx, due, now)
        locked.set()
        release.wait(timeout=30)
        return taken

    monkeypatch.setattr(first.dispatcher, "_claim", held)
    with ThreadPoolExecutor(max_workers=2) as pool:
        firsts = pool.submit(first.dispatcher._claim_due, NOW, 50)
        wait_until(locked.is_set, timeout=10)
        # Not blocked by the first's locks, and not left with nothing: the calls it did not lock.
        seconds = pool.submit(second.dispatcher._claim_due, NOW, 100).result(timeout=10)
        release.set()
        firsts_ids, seconds_ids = claimed_ids(firsts.result(timeout=10)), claimed_ids(seconds)
    assert len(firsts_ids) == 50
    assert len(seconds_ids) == 50
    assert firsts_ids.isdisjoint(seconds_ids)
    assert firsts_ids | seconds_ids == {f"c{n:03}.0" for n in range(100)}
    calls = first.store.calls("pending")
    assert {(call.claims, call.next_attempt_at) for call in calls} == {
        (1, NOW + first.dispatcher.lease)
    }


def test_dispatchers_claiming_side_by_side_share_the_due_calls_once(containers) -> None:
    first = containers[0]
    add_due(first, [due_call(f"c{n:03}") for n in range(100)])
    start = threading.Barrier(2)

    def claim_until_none(container) -> list[str]:
        start.wait(timeout=10)
        taken: list[str] = []
        while chains := container.dispatcher._claim_due(NOW, 7):
            taken.extend(claimed_ids(chains))
        return taken

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [pool.submit(claim_until_none, c) for c in containers]
        firsts, seconds = (result.result(timeout=30) for result in results)
    assert len(firsts) + len(seconds) == 100
    assert set(firsts).isdisjoint(seconds)
    assert set(firsts) | set(seconds) == {f"c{n:03}.0" for n in range(100)}
    assert {call.claims for call in first.store.calls("pending")} == {1}


def test_nothing_is_claimed_behind_a_call_another_claim_has_locked(containers) -> None:
    first, second = containers
    add_due(first, [due_call("c1", n) for n in range(3)] + [due_call("c2")])
    with first.store.transaction() as holding:
        [locked] = holding.lock_due_calls(NOW, 1, per_conversation=16)
        assert locked.call_id == "c1.0"
        with second.store.transaction() as tx:
            # c1's later calls are free to lock, but they must go out after c1.0.
            assert [call.call_id for call in tx.lock_due_calls(NOW, 10, 16)] == ["c2.0"]
    with second.store.transaction() as tx:  # the first let its lock go unused
        taken = [call.call_id for call in tx.lock_due_calls(NOW, 10, 16)]
    assert taken == ["c1.0", "c1.1", "c1.2", "c2.0"]


def test_a_killed_dispatchers_claims_come_back_when_the_lease_ends(containers) -> None:
    first, second = containers
    add_due(first, [due_call(f"c{n}") for n in range(5)])
    assert len(claimed_ids(first.dispatcher._claim_due(NOW, 10))) == 5  # then it dies
    assert second.dispatcher._claim_due(NOW, 10) == {}
    later = NOW + first.dispatcher.lease
    taken = second.dispatcher._claim_due(later, 10)
    assert claimed_ids(taken) == {f"c{n}.0" for n in range(5)}
    assert {call.claims for call in second.store.calls("pending")} == {2}  # read as uncertain
