"""Telling an admin: a real `ticketsync serve` against the Zendesk emulator and an alert channel.

The channel is tests/emulators/alert_receiver.py, an incoming webhook that records POSTs.
TICKETSYNC_ALERT_AFTER is one second, so a failing desk is told about within the test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_zendesk_flow import escalate, settled, tickets_for, zendesk_env
from tests.emulators.alert_receiver import AlertReceiver
from tests.emulators.alert_receiver import serve as serve_receiver
from tests.emulators.zendesk import ZendeskEmulator
from tests.support import Server, running, wait_until

CONSOLE = "http://console.example:8000"
CREATES = "/api/v2/tickets(\\.json)?"


@pytest.fixture(scope="module")
def receiver(database: tuple[str, Path]) -> Iterator[tuple[AlertReceiver, str]]:
    """A channel per store: the SQLite run's messages must not count in PostgreSQL's."""
    channel = AlertReceiver()
    with serve_receiver(channel) as url:
        yield channel, url


@pytest.fixture(scope="module")
def server(
    database: tuple[str, Path],
    zendesk: tuple[ZendeskEmulator, str],
    receiver: tuple[AlertReceiver, str],
) -> Iterator[Server]:
    url, folder = database
    env = zendesk_env(
        zendesk[1],
        TICKETSYNC_ALERT_WEBHOOK_URL=receiver[1],
        TICKETSYNC_ALERT_AFTER="1",
        TICKETSYNC_PUBLIC_URL=CONSOLE,
    )
    with running(url, folder, env=env) as started:
        yield started


def new_cid() -> str:
    return f"conv_{uuid.uuid4().hex[:8]}"


def the_call(server: Server, cid: str, state: str) -> dict:
    with server.admin() as admin:
        return wait_until(
            lambda: next(
                (
                    c
                    for c in admin.get("/outbox", params={"state": state}).json()["calls"]
                    if c["conversation_id"] == cid
                ),
                None,
            )
        )


def alert_calls(server: Server) -> list[dict]:
    with server.admin() as admin:
        calls = admin.get("/outbox").json()["calls"]
    return [c for c in calls if c["kind"] == "send_alert"]


def settle_alerts(server: Server) -> None:
    """Until no alert call waits: what was decided has been told."""
    wait_until(lambda: all(c["state"] == "done" for c in alert_calls(server)), timeout=15)


def test_a_parked_call_is_told_once_and_its_recovery_once(
    server: Server, zendesk: tuple[ZendeskEmulator, str], receiver: tuple[AlertReceiver, str]
) -> None:
    emulator, _ = zendesk
    channel, _ = receiver
    cid = new_cid()
    emulator.fail_next(1, status=403, method="POST", path=CREATES)
    escalate(server, cid)
    parked = the_call(server, cid, "parked")
    (alert,) = wait_until(lambda: channel.texts(cid))
    assert "Zendesk" in alert
    assert parked["last_error"] in alert  # the help desk's own words
    assert parked["id"] in alert
    assert f"{CONSOLE}/ui/conversations/{cid}" in alert
    with server.admin() as admin:
        assert admin.post(f"/outbox/{parked['id']}/retry").status_code == 200
    settled(server, cid)
    wait_until(lambda: len(channel.texts(cid)) == 2)
    settle_alerts(server)
    told = channel.texts(cid)
    assert len(told) == 2
    assert told[1].startswith("ticketsync: resolved:")
    assert parked["id"] in told[1]


def test_a_channel_that_is_down_delays_no_ticket_and_is_told_once_back(
    server: Server, zendesk: tuple[ZendeskEmulator, str], receiver: tuple[AlertReceiver, str]
) -> None:
    emulator, _ = zendesk
    channel, _ = receiver
    channel.down = True
    try:
        parked_cid = new_cid()
        emulator.fail_next(1, status=403, method="POST", path=CREATES)
        escalate(server, parked_cid)
        the_call(server, parked_cid, "parked")
        # The alert is being tried against the channel, and refused.
        wait_until(
            lambda: any(c["state"] == "pending" and c["attempts"] >= 2 for c in alert_calls(server))
        )
        cid = new_cid()
        started = time.monotonic()
        escalate(server, cid)
        settled(server, cid, timeout=5)
        assert time.monotonic() - started < 5
        assert len(tickets_for(emulator, cid)) == 1
        assert channel.texts(parked_cid) == []
    finally:
        channel.down = False
    wait_until(lambda: channel.texts(parked_cid), timeout=15)
    settle_alerts(server)
    assert len(channel.texts(parked_cid)) == 1
    assert not [c for c in alert_calls(server) if c["state"] == "parked"]


def test_a_desk_failing_longer_than_alert_after_is_told_once_and_its_recovery_once(
    server: Server, zendesk: tuple[ZendeskEmulator, str], receiver: tuple[AlertReceiver, str]
) -> None:
    emulator, _ = zendesk
    channel, _ = receiver
    cid = new_cid()
    failing = "Zendesk has kept failing"
    emulator.fail_next(10_000, status=503, method="POST", path=CREATES)
    try:
        escalate(server, cid)
        (alert,) = wait_until(lambda: channel.texts(failing), timeout=15)
        assert cid in alert
        assert f"{CONSOLE}/ui/conversations/{cid}" in alert
        assert "503" in alert
        # Still failing, a second later: told once.
        calls_before = the_call(server, cid, "pending")["attempts"]
        wait_until(lambda: the_call(server, cid, "pending")["attempts"] > calls_before + 1)
        assert len(channel.texts(failing)) == 1
    finally:
        emulator.clear_faults()
    settled(server, cid)
    (recovered,) = wait_until(lambda: channel.texts("Zendesk answers again"), timeout=15)
    assert recovered.startswith("ticketsync: resolved:")
    settle_alerts(server)
    assert len(channel.texts(failing)) == 1
    assert len(channel.texts("Zendesk answers again")) == 1
