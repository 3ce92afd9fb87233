"""The alert projection over a real store (SQLite and PostgreSQL), workers turned by hand.

Two services on one database decide each alert once; a projection new to a database with a
history tells nothing of the past; a failing desk is told by the clock when no attempt comes.
"""

from __future__ import annotations

import pytest

from tests.fakes import FakeHelpDesk
from tests.integration.test_pipeline import Clock, escalate, settle
from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.adapters.ports import Permanent, Retryable
from ticketsync.events.commands import SendAlert
from ticketsync.service import bootstrap, config


class FakeAlerts:
    def __init__(self) -> None:
        self.sent: list[SendAlert] = []

    def send(self, alert: SendAlert) -> None:
        self.sent.append(alert)


def build(database_url: str, clock: Clock, desk: FakeHelpDesk, alerts: FakeAlerts | None):
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "50",
        }
    )
    return bootstrap.build(settings, help_desk=desk, alerts=alerts, clock=clock, run_workers=False)


def alert_calls(container) -> list:
    return [c for c in container.store.calls() if c.kind == "send_alert"]


@pytest.fixture
def desk() -> FakeHelpDesk:
    return FakeHelpDesk()


def test_two_services_on_one_database_decide_an_alert_once(
    database_url: str, desk: FakeHelpDesk
) -> None:
    clock = Clock()
    first_alerts, second_alerts = FakeAlerts(), FakeAlerts()
    first = build(database_url, clock, desk, first_alerts)
    second = build(database_url, clock, desk, second_alerts)
    try:
        for container in (first, second):
            assert container.alerting is not None
            container.alerting.run_once()  # started with the service: from here on
        desk.fail("create_ticket", Permanent("422 Requester email is invalid", status=422))
        escalate(first)
        settle(first)
        assert [c.state for c in first.store.calls() if c.kind == "create_ticket"] == ["parked"]
        for _ in range(3):
            for container in (first, second):
                assert container.alerting is not None
                container.alerting.run_once()
        (call,) = alert_calls(first)
        first.dispatcher.run_once()
        second.dispatcher.run_once()
        sent = first_alerts.sent + second_alerts.sent
        assert [(a.incident, a.recovered) for a in sent] == [
            (call.call_id.removeprefix("alert:").removesuffix(":raised"), False)
        ]
        assert "422 Requester email is invalid" in sent[0].text
    finally:
        first.close()
        second.close()


def test_a_new_alert_projection_tells_nothing_of_the_past(
    database_url: str, desk: FakeHelpDesk
) -> None:
    clock = Clock()
    before = build(database_url, clock, desk, None)
    try:
        desk.fail("create_ticket", Permanent("422 Requester email is invalid", status=422))
        escalate(before)
        settle(before)
        assert before.alerting is None
    finally:
        before.close()
    alerts = FakeAlerts()
    after = build(database_url, clock, desk, alerts)
    try:
        assert after.alerting is not None
        after.alerting.run_once()
        assert alert_calls(after) == []
    finally:
        after.close()


def test_a_failing_desk_is_told_by_the_clock_when_no_attempt_comes(
    database_url: str, desk: FakeHelpDesk
) -> None:
    clock = Clock()
    alerts = FakeAlerts()
    container = build(database_url, clock, desk, alerts)
    try:
        assert container.alerting is not None
        container.alerting.run_once()
        desk.fail("create_ticket", Retryable("503 Service Unavailable", status=503), times=100)
        escalate(container)
        container.projector.run_once()
        container.dispatcher.run_once()  # one failed attempt; its retry waits for its backoff
        assert container.alerting is not None
        container.alerting.run_once()
        assert alert_calls(container) == []
        clock.now += 301  # TICKETSYNC_ALERT_AFTER's default, and no new attempt since
        container.alerting.run_once()
        container.alerting.run_once()
        (call,) = alert_calls(container)
        assert call.conversation_id == "ticketsync:alerts"
        desk.failures.clear()
        settle(container)
        container.alerting.run_once()
        settle(container)
        assert [(a.system, a.recovered) for a in alerts.sent] == [("fake", False), ("fake", True)]
        assert "fake has kept failing for 5 min" in alerts.sent[0].text
        assert "503 Service Unavailable" in alerts.sent[0].text
    finally:
        container.close()
