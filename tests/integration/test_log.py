"""The event log on real SQLite and PostgreSQL: append, deduplicate, read, audit."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.support import wait_until
from ticketsync.adapters.jira.webhooks import KEYED_TYPES, stored_content_key
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.log import AuditQuery, EventLog

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def entry(
    delivery_id: str,
    conversation_id: str = "c1",
    *,
    raw: str = '{"a":1}',
    type: str = "message.created",
    at: datetime = T0,
    **extra: object,
) -> NewEntry:
    return NewEntry(
        source="chat",
        delivery_id=delivery_id,
        type=type,
        occurred_at=at,
        recorded_at=at,
        conversation_id=conversation_id,
        raw=raw,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def log(database_url: str):
    opened = EventLog(parse_database_url(database_url))
    yield opened
    opened.close()


def test_empty_log(log: EventLog) -> None:
    assert log.position() == 0
    assert log.read(0, 10) == []


def test_append_assigns_increasing_positions_and_keeps_every_field(log: EventLog) -> None:
    first, second = log.append(
        [entry("e1"), entry("e2", "c2", ticket="zendesk:7", caused_by="chat:e1")]
    )
    assert first.status == second.status == "accepted"
    assert 0 < first.position < second.position
    assert log.position() == second.position
    stored = log.read(0, 10)
    assert [e.delivery_id for e in stored] == ["e1", "e2"]
    assert stored[1].ticket == "zendesk:7"
    assert stored[1].caused_by == "chat:e1"
    assert stored[1].raw == '{"a":1}'
    assert stored[1].occurred_at == T0


def test_same_delivery_is_a_duplicate_and_stored_once(log: EventLog) -> None:
    [accepted] = log.append([entry("e1")])
    [again] = log.append([entry("e1")])
    assert again.status == "duplicate"
    assert again.position == accepted.position
    assert len(log.read(0, 10)) == 1


def test_same_id_with_another_body_is_a_conflict(log: EventLog) -> None:
    log.append([entry("e1")])
    [outcome] = log.append([entry("e1", raw='{"a":2}')])
    assert outcome.status == "conflict"
    assert [e.raw for e in log.read(0, 10)] == ['{"a":1}']


def test_same_id_twice_in_one_batch(log: EventLog) -> None:
    outcomes = log.append([entry("e1"), entry("e1"), entry("e1", raw="{}"), entry("e2")])
    assert [o.status for o in outcomes] == ["accepted", "duplicate", "conflict", "accepted"]
    assert outcomes[0].position == outcomes[1].position
    assert len(log.read(0, 10)) == 2


def test_a_duplicate_does_not_spoil_the_rest_of_its_batch(log: EventLog) -> None:
    log.append([entry("e1")])
    outcomes = log.append([entry("e2"), entry("e1"), entry("e3")])
    assert [o.status for o in outcomes] == ["accepted", "duplicate", "accepted"]
    assert [e.delivery_id for e in log.read(0, 10)] == ["e1", "e2", "e3"]


def test_sources_have_separate_id_spaces(log: EventLog) -> None:
    chat_entry = entry("42")
    zendesk_entry = NewEntry(
        source="zendesk", delivery_id="42", type="t", occurred_at=T0, recorded_at=T0, raw="{}"
    )
    outcomes = log.append([chat_entry, zendesk_entry])
    assert [o.status for o in outcomes] == ["accepted", "accepted"]


def jira(
    delivery_id: str, content_key: str | None, raw: str = '{"changelog":{"id":"1"}}'
) -> NewEntry:
    """A Jira delivery: its identifier header unsigned, its changelog or comment id signed."""
    return NewEntry(
        source="jira",
        delivery_id=delivery_id,
        type="jira:issue_updated",
        occurred_at=T0,
        recorded_at=T0,
        ticket="jira:OPS-12",
        raw=raw,
        content_key=content_key,
    )


def test_a_new_id_naming_stored_content_is_a_duplicate_of_it(log: EventLog) -> None:
    """A captured delivery sent again under a new identifier (docs/behaviour.md, Limits)."""
    [first] = log.append([jira("wh-1", "changelog:10071")])
    [replayed] = log.append([jira("wh-2", "changelog:10071")])
    [retried] = log.append([jira("wh-1", "changelog:10071")])
    [other_body] = log.append([jira("wh-1", "changelog:10071", raw="{}")])
    assert (first.status, replayed.status, retried.status, other_body.status) == (
        "accepted",
        "duplicate",
        "duplicate",
        "conflict",
    )
    assert first.position == replayed.position == retried.position
    assert [e.delivery_id for e in log.read(0, 10)] == ["wh-1"]


def test_content_keys_in_one_batch_and_per_source(log: EventLog) -> None:
    chat_entry = entry("e1", content_key="changelog:10071")
    outcomes = log.append(
        [
            jira("wh-1", "changelog:10071"),
            jira("wh-2", "changelog:10071"),
            jira("wh-3", "comment_created:10100"),
            jira("wh-4", None),
            jira("wh-5", None),
            chat_entry,
        ]
    )
    assert [o.status for o in outcomes] == ["accepted", "duplicate", *["accepted"] * 4]
    assert outcomes[1].position == outcomes[0].position
    assert [e.delivery_id for e in log.read(0, 10)] == ["wh-1", "wh-3", "wh-4", "wh-5", "e1"]


def test_deliveries_stored_before_content_keys_get_theirs_once(log: EventLog) -> None:
    """A log written before content keys were kept: its Jira deliveries, a replay among them,
    are keyed when the service starts, so a replay of one now is a duplicate of the first."""
    update = orjson.dumps({"webhookEvent": "jira:issue_updated", "changelog": {"id": "10071"}})
    comment = orjson.dumps({"webhookEvent": "comment_created", "comment": {"id": "10100"}})
    old = [
        jira("wh-1", None, update.decode()),
        jira("wh-2", None, update.decode()),  # replayed then, stored as a new delivery
        dataclasses.replace(jira("wh-3", None, comment.decode()), type="comment_created"),
        dataclasses.replace(jira("wh-4", None, "{}"), type="jira:issue_created"),
        entry("e1", raw=update.decode()),  # another source's, whatever its body says
    ]
    first, _, commented, _, _ = log.append(old)

    assert log.backfill_content_keys("jira", KEYED_TYPES, stored_content_key) == 2
    assert log.backfill_content_keys("jira", KEYED_TYPES, stored_content_key) == 0

    replayed, replayed_comment = log.append(
        [jira("wh-5", "changelog:10071"), jira("wh-6", "comment_created:10100")]
    )
    assert (replayed.status, replayed.position) == ("duplicate", first.position)
    assert (replayed_comment.status, replayed_comment.position) == (
        "duplicate",
        commented.position,
    )
    assert len(log.read(0, 10)) == len(old)


def test_processes_starting_together_backfill_once(database_url: str) -> None:
    logs = [EventLog(parse_database_url(database_url)) for _ in range(2)]
    try:
        raws = [{"webhookEvent": "jira:issue_updated", "changelog": {"id": n}} for n in range(50)]
        logs[0].append(
            [jira(f"wh-{n}", None, orjson.dumps(r).decode()) for n, r in enumerate(raws)]
        )
        barrier = threading.Barrier(2)
        added: list[int] = []

        def start(log: EventLog) -> None:
            barrier.wait()
            added.append(log.backfill_content_keys("jira", KEYED_TYPES, stored_content_key))

        threads = [threading.Thread(target=start, args=(log,)) for log in logs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(added) == [0, 50]
    finally:
        for log in logs:
            log.close()


def _race(log: EventLog, barrier: threading.Barrier, new: NewEntry, outcomes: list[str]) -> None:
    barrier.wait()
    outcomes.extend(o.status for o in log.append([new]))


def test_racing_writers_store_one_event(database_url: str) -> None:
    """Two logs (two connection pools, as two processes would have) race on each delivery."""
    logs = [EventLog(parse_database_url(database_url)) for _ in range(2)]
    try:
        for round_number in range(15):
            barrier = threading.Barrier(2)
            outcomes: list[str] = []
            threads = [
                threading.Thread(
                    target=_race, args=(log, barrier, entry(f"race{round_number}"), outcomes)
                )
                for log in logs
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(outcomes) == ["accepted", "duplicate"]
        assert len(logs[0].read(0, 100)) == 15
    finally:
        for log in logs:
            log.close()


def test_racing_writers_of_one_content_under_two_ids_store_it_once(database_url: str) -> None:
    logs = [EventLog(parse_database_url(database_url)) for _ in range(2)]
    try:
        for round_number in range(15):
            barrier = threading.Barrier(2)
            outcomes: list[str] = []
            threads = [
                threading.Thread(
                    target=_race,
                    args=(
                        log,
                        barrier,
                        jira(f"wh-{round_number}-{n}", f"changelog:{round_number}"),
                        outcomes,
                    ),
                )
                for n, log in enumerate(logs)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(outcomes) == ["accepted", "duplicate"]
        assert len(logs[0].read(0, 100)) == 15
    finally:
        for log in logs:
            log.close()


def test_reading_pages_in_order(log: EventLog) -> None:
    log.append([entry(f"e{i}") for i in range(25)])
    seen = []
    after = 0
    while page := log.read(after, 10):
        seen += [e.delivery_id for e in page]
        after = page[-1].position
    assert seen == [f"e{i}" for i in range(25)]


def test_audit_filters_and_pages(log: EventLog) -> None:
    for i in range(30):
        log.append(
            [
                entry(
                    f"e{i}",
                    f"c{i % 3}",
                    type="conversation.escalated" if i % 5 == 0 else "message.created",
                    at=T0 + timedelta(minutes=i),
                    ticket="zendesk:9" if i % 3 == 1 else None,
                )
            ]
        )
    entries, cursor = log.query(AuditQuery(conversation_id="c0", limit=4))
    assert [e.delivery_id for e in entries] == ["e0", "e3", "e6", "e9"]
    assert cursor == entries[-1].position
    rest, end = log.query(AuditQuery(conversation_id="c0", after=cursor, limit=100))
    assert [e.delivery_id for e in rest] == ["e12", "e15", "e18", "e21", "e24", "e27"]
    assert end is None
    by_ticket, _ = log.query(AuditQuery(ticket="zendesk:9"))
    assert {e.conversation_id for e in by_ticket} == {"c1"}
    escalations, _ = log.query(AuditQuery(type="conversation.escalated", conversation_id="c0"))
    assert [e.delivery_id for e in escalations] == ["e0", "e15"]
    window, _ = log.query(
        AuditQuery(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=13))
    )
    assert [e.delivery_id for e in window] == ["e10", "e11", "e12"]


def test_newest_first_pages_back_from_the_latest(log: EventLog) -> None:
    log.append([entry(f"e{i}", f"c{i % 2}") for i in range(10)])
    latest, cursor = log.query(AuditQuery(conversation_id="c0", newest_first=True, limit=3))
    assert [e.delivery_id for e in latest] == ["e8", "e6", "e4"]
    assert cursor == latest[-1].position
    older, end = log.query(
        AuditQuery(conversation_id="c0", newest_first=True, before=cursor, limit=3)
    )
    assert [e.delivery_id for e in older] == ["e2", "e0"]
    assert end is None


def test_cursor_is_stable_when_new_entries_arrive(log: EventLog) -> None:
    log.append([entry(f"e{i}") for i in range(3)])
    first, cursor = log.query(AuditQuery(conversation_id="c1", limit=2))
    log.append([entry("e3"), entry("x", "other")])
    rest, _ = log.query(AuditQuery(conversation_id="c1", after=cursor, limit=10))
    assert [e.delivery_id for e in first + rest] == ["e0", "e1", "e2", "e3"]


def test_entries_survive_reopening(database_url: str) -> None:
    log = EventLog(parse_database_url(database_url))
    log.append([entry("e1")])
    log.close()
    reopened = EventLog(parse_database_url(database_url))
    try:
        assert [e.delivery_id for e in reopened.read(0, 10)] == ["e1"]
        assert reopened.append([entry("e1")])[0].status == "duplicate"
    finally:
        reopened.close()


def test_audit_over_thousands_of_events(log: EventLog) -> None:
    types = (
        "message.created",
        "tool.executed",
        "intents.detected",
        "conversation.escalated",
        "call.sent",
    )
    batch = [
        entry(
            f"k{i}",
            f"c{i % 30}",
            type=types[i % 5],
            at=T0 + timedelta(seconds=i),
            ticket=f"zendesk:{i % 30}" if i % 2 else None,
        )
        for i in range(3000)
    ]
    for start in range(0, 3000, 500):
        log.append(batch[start : start + 500])
    # Every page of a conversation's trail, in order, with nothing missing or repeated.
    seen = []
    after = 0
    while True:
        page, after = log.query(AuditQuery(conversation_id="c7", after=after, limit=37))
        seen += [e.delivery_id for e in page]
        if after is None:
            break
    assert seen == [f"k{i}" for i in range(7, 3000, 30)]
    # Filters combine.
    both, _ = log.query(AuditQuery(conversation_id="c7", type="tool.executed", limit=1000))
    assert [e.delivery_id for e in both] == [f"k{i}" for i in range(7, 3000, 30) if i % 5 == 1]
    ticket, _ = log.query(AuditQuery(ticket="zendesk:7", limit=1000))
    assert len(ticket) == 100
    assert all(e.conversation_id == "c7" for e in ticket)
    window, _ = log.query(
        AuditQuery(
            since=T0 + timedelta(seconds=1000), until=T0 + timedelta(seconds=1500), limit=1000
        )
    )
    assert [e.delivery_id for e in window] == [f"k{i}" for i in range(1000, 1500)]
    everything, cursor = log.query(AuditQuery(limit=1000))
    assert len(everything) == 1000
    assert cursor == everything[-1].position


class Clock:
    """Starts where time.monotonic is, which the pool's first connections were stamped with."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.mark.postgres
def test_a_connection_killed_while_idle_costs_no_request(postgres_server_url: str) -> None:
    import uuid

    import psycopg

    log = EventLog(parse_database_url(f"{postgres_server_url}?schema=ping_{uuid.uuid4().hex[:8]}"))
    try:
        assert log.check is not None
        clock = log.check.clock = Clock()
        log.append([entry("before")])
        # The pool's idle connections, as a server restart would leave them: dead.
        pids = [conn.info.backend_pid for conn in log.recorder.datastore.pool._pool]
        assert pids
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            wait_until(
                lambda: (
                    not admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                    ).fetchall()
                )
            )
        clock.now += 2  # what a restart looks like to a pool that sat idle
        [appended] = log.append([entry("after")])
        assert appended.status == "accepted"
        assert [e.delivery_id for e in log.read(0, 10)] == ["before", "after"]
    finally:
        log.close()
