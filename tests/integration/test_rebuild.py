"""Rebuilds and checks of the conversation projection, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fakes import FakeHelpDesk
from tests.integration.test_pipeline import Clock, deliver, escalate, settle
from tests.support import message, payload
from ticketsync.service import bootstrap, config
from ticketsync.service.store.read_models import LIVE
from ticketsync.service.workers.projector import NAME
from ticketsync.service.workers.rebuild import (
    REBUILD_PAGE,
    Rebuild,
    RebuildCancelled,
    RebuildRefused,
    build_new,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def build(database_url: str, desk: FakeHelpDesk, clock: Clock, **extra: str):
    settings = config.load({"TICKETSYNC_DATABASE_URL": database_url, **extra})
    return bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False)


@pytest.fixture
def desk() -> FakeHelpDesk:
    return FakeHelpDesk()


@pytest.fixture
def service(database_url: str, desk: FakeHelpDesk, clock: Clock):
    container = build(database_url, desk, clock)
    yield container
    container.close()


def scenario(container) -> None:
    """Several conversations through most rules: tickets, notes, reopen, follow-up."""
    for n in range(6):
        cid = f"c{n}"
        escalate(container, cid)
        deliver(
            container, message(cid, role="assistant", content="Looking into it", message_id=f"a{n}")
        )
        if n % 2:
            deliver(
                container,
                payload(
                    "conversation.resolved", cid, resolution="duplicate" if n % 3 else "resolved"
                ),
            )
        settle(container)
        if n % 2:
            deliver(container, message(cid, content="Me again", message_id=f"again{n}"))
    for n in range(4):
        deliver(container, message(f"quiet{n}", content="just a question", message_id=f"q{n}"))
    settle(container)


def checksums(container) -> dict:
    with container.store.reading() as tx:
        return tx.checksums(LIVE)


def counts(container) -> tuple[int, int]:
    return len(container.store.calls()), container.log.position()


# One page for the whole log, and pages so short that conversations span many of them
# (each page is folded while the one before it is still being written).
@pytest.mark.parametrize("page", [REBUILD_PAGE, 3, 7])
def test_rebuild_equals_the_live_models_and_does_nothing_outside(
    service, desk: FakeHelpDesk, page: int
) -> None:
    scenario(service)
    before, calls_before, sent_before = checksums(service), counts(service), len(desk.calls)
    rebuild = Rebuild(
        service.store,
        service.projector.policy,
        parse_stored=service.projector.parse_stored,
        page=page,
    )
    rebuild.claim()
    result = rebuild.run()
    assert result.state == "done"
    assert result.difference_count == 0
    assert checksums(service) == before
    assert counts(service) == calls_before  # no outbox row, no log entry
    assert len(desk.calls) == sent_before  # no call to the help desk
    assert result.rows == {"conversations": 10, "tickets": before["tickets"]["rows"]}
    assert (
        result.events_read == service.store.projection_positions()[NAME] or result.events_read > 0
    )


def test_check_reports_a_match_and_leaves_everything(service) -> None:
    scenario(service)
    before = checksums(service)
    result = Rebuild(
        service.store,
        service.projector.policy,
        parse_stored=service.projector.parse_stored,
        check=True,
    ).run()
    assert result.matches is True
    assert result.checksums["rebuilt"] == result.checksums["live"] == before
    assert checksums(service) == before


def test_check_finds_a_damaged_model(service) -> None:
    scenario(service)
    with service.store.transaction() as tx:
        tx.execute("DELETE FROM ticketsync_conversations WHERE conversation_id = ?", ("c2",))
    result = Rebuild(
        service.store,
        service.projector.policy,
        parse_stored=service.projector.parse_stored,
        check=True,
    ).run()
    assert result.matches is False
    repaired = Rebuild(
        service.store, service.projector.policy, parse_stored=service.projector.parse_stored
    ).run()
    assert repaired.state == "done"
    assert (
        Rebuild(
            service.store,
            service.projector.policy,
            parse_stored=service.projector.parse_stored,
            check=True,
        )
        .run()
        .matches
        is True
    )


def test_a_routing_change_is_reported_not_acted_on(
    database_url: str, desk: FakeHelpDesk, clock: Clock, tmp_path: Path
) -> None:
    container = build(database_url, desk, clock, TICKETSYNC_TICKET_POLICY="always")
    try:
        deliver(container, message("c9", content="hello", message_id="m1"))
        settle(container)
        assert len(desk.tickets) == 1
    finally:
        container.close()
    stricter = build(database_url, desk, clock)  # the default policy: one message is not enough
    try:
        calls = counts(stricter)
        result = Rebuild(
            stricter.store, stricter.projector.policy, parse_stored=stricter.projector.parse_stored
        ).run()
        assert result.difference_count > 0
        # The create was decided live under `always`; under `default` it would not be.
        assert {"kind": "create_ticket", "decided_by": "live"}.items() <= result.differences[
            0
        ].items() or any(
            d["kind"] == "create_ticket" and d["decided_by"] == "live" for d in result.differences
        )
        assert counts(stricter) == calls
        assert len(desk.tickets) == 1
    finally:
        stricter.close()


def test_a_second_rebuild_of_the_same_model_is_refused(service) -> None:
    first = Rebuild(
        service.store, service.projector.policy, parse_stored=service.projector.parse_stored
    )
    first.claim()
    second = Rebuild(
        service.store, service.projector.policy, parse_stored=service.projector.parse_stored
    )
    with pytest.raises(RebuildRefused, match="being rebuilt already"):
        second.claim()
    first.run()
    second.claim()  # free again once the first is done
    second.run()


def test_cancelled_rebuild_leaves_the_live_models(service) -> None:
    scenario(service)
    before = checksums(service)
    cancel = threading.Event()
    cancel.set()
    rebuild = Rebuild(
        service.store,
        service.projector.policy,
        parse_stored=service.projector.parse_stored,
        cancel=cancel,
        page=5,
    )
    with pytest.raises(RebuildCancelled):
        rebuild.run()
    assert checksums(service) == before
    Rebuild(
        service.store, service.projector.policy, parse_stored=service.projector.parse_stored
    ).run()  # the claim was released


def test_rebuild_while_webhooks_keep_arriving_loses_nothing(service, desk: FakeHelpDesk) -> None:
    scenario(service)
    stop = threading.Event()
    fed: list[int] = []

    def feed() -> None:
        n = 0
        while not stop.is_set() and n < 400:
            deliver(service, message(f"busy{n % 7}", content=f"message {n}", message_id=f"busy{n}"))
            service.projector.run_once()
            n += 1
            fed.append(n)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        result = Rebuild(
            service.store,
            service.projector.policy,
            parse_stored=service.projector.parse_stored,
            page=20,
        ).run()
    finally:
        stop.set()
        feeder.join()
    assert result.state == "done"
    settle(service)
    assert (
        Rebuild(
            service.store,
            service.projector.policy,
            parse_stored=service.projector.parse_stored,
            check=True,
        )
        .run()
        .matches
        is True
    )
    assert fed, "no webhook arrived during the rebuild"
    assert checksums(service)["conversations"]["rows"] == 10 + min(7, len(fed))


def test_a_projection_new_to_a_database_builds_itself_without_deciding_again(
    service, desk: FakeHelpDesk
) -> None:
    scenario(service)
    before, calls, sent = checksums(service), counts(service), len(desk.calls)
    with service.store.transaction() as tx:  # as if the projection had just been added
        tx.execute("DELETE FROM ticketsync_tracking WHERE projection = ?", (NAME,))
        tx.execute("DELETE FROM ticketsync_conversations")
        tx.execute("DELETE FROM ticketsync_tickets")
    progress = build_new(service.store, service.projector.policy, service.projector.parse_stored)
    assert progress is not None
    assert progress.events_read == calls[1] or progress.events_read > 0
    assert checksums(service) == before
    assert counts(service) == calls
    settle(service)
    assert len(desk.calls) == sent
    assert (
        build_new(service.store, service.projector.policy, service.projector.parse_stored) is None
    )


def test_a_service_starting_on_a_database_new_to_its_projection_builds_it_first(
    database_url: str, service, desk: FakeHelpDesk, clock: Clock
) -> None:
    scenario(service)
    before, calls, sent = checksums(service), counts(service), len(desk.calls)
    with service.store.transaction() as tx:  # as if the projection had just been added
        tx.execute("DELETE FROM ticketsync_tracking WHERE projection = ?", (NAME,))
        tx.execute("DELETE FROM ticketsync_conversations")
        tx.execute("DELETE FROM ticketsync_tickets")
    started = build(database_url, desk, clock)
    try:
        assert started.projector.run_once() == calls[1]  # the whole log, in the start-up build
        assert checksums(started) == before
        assert started.projector.run_once() == 0  # then live, from where the build ended
        assert counts(started) == calls
        assert len(desk.calls) == sent
    finally:
        started.close()
