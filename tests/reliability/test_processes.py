"""Crashes and two processes: nothing acknowledged is lost, no effect happens twice.

- kill -9 of `ticketsync serve` while signed webhooks are in flight from several senders:
  after a restart every webhook that got 202 is in the log, every conversation that
  qualifies has exactly one ticket, and no comment reached the help desk twice.
- two `serve` processes on one PostgreSQL database, taking webhooks for the same
  conversations: one ticket per conversation, every call made once, and when one process
  is killed the other carries on alone.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulators.zendesk import ZendeskEmulator, serve
from tests.support import Server, message, payload, quiet, signed, wait_until
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.log import EventLog

FAST = {
    "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
    "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.3",
    "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "1000",
    "TICKETSYNC_HTTP_TIMEOUT": "1",
}


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskEmulator, str]]:
    emulator = ZendeskEmulator(email="sync@example.com", api_token="zd-token")
    with serve(emulator) as base_url:
        yield emulator, base_url


def zendesk_env(base_url: str) -> dict[str, str]:
    return {
        "TICKETSYNC_TICKETING": "zendesk",
        "TICKETSYNC_ZENDESK_URL": base_url,
        "TICKETSYNC_ZENDESK_EMAIL": "sync@example.com",
        "TICKETSYNC_ZENDESK_API_TOKEN": "zd-token",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": "s",
        **FAST,
    }


def conversation_events(cid: str) -> list[dict]:
    """Five deliveries; the fourth user message makes the conversation need a ticket."""
    return [
        payload(
            "conversation.started",
            cid,
            customer={"id": cid, "email": f"{cid}@example.com", "name": "C"},
            subject="S",
        ),
        *(message(cid, content=f"{cid} says {n}", message_id=f"{cid}-m{n}") for n in range(4)),
    ]


def send_all(
    servers: list[Server],
    deliveries: list[dict],
    senders: int,
    kill_after: int | None = None,
) -> set[str]:
    """Post deliveries from `senders` threads, spread over `servers`; the ids answered 202.

    With `kill_after`, the first server is killed (-9) once that many were accepted.
    """
    accepted: set[str] = set()
    lock = threading.Lock()
    pending = iter(enumerate(deliveries))

    def sender() -> None:
        with httpx.Client(timeout=10) as client:
            for index, event in pending:
                body, headers = signed(event)
                try:
                    answer = client.post(
                        servers[index % len(servers)].url + "/webhooks/chat",
                        content=body,
                        headers=headers,
                    )
                except httpx.TransportError:
                    continue  # the server died under us: no answer, no promise
                if answer.status_code == 202:
                    with lock:
                        accepted.add(headers["webhook-id"])
                        if kill_after is not None and len(accepted) == kill_after:
                            servers[0].kill()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted


def settled(server: Server) -> None:
    with server.admin() as admin:
        quiet(admin)


def assert_effects_once(emulator: ZendeskEmulator, log: EventLog, conversations: list[str]) -> None:
    stored = Counter(
        e.conversation_id
        for e in log.read(0, 1_000_000)
        if e.source == "chat" and e.type == "message.created"
    )
    tickets = Counter(t["external_id"] for t in emulator.tickets())
    for cid in conversations:
        expected = 1 if stored[cid] > 3 else 0
        assert tickets[cid] == expected, (cid, stored[cid], tickets[cid])
    for ticket in emulator.tickets():
        bodies = [c["body"] for c in emulator.comments(ticket["id"])]
        duplicated = [b for b, n in Counter(bodies).items() if n > 1]
        assert not duplicated, (ticket["external_id"], duplicated)


def test_kill_9_with_webhooks_in_flight_loses_nothing_acknowledged(
    database_url: str, tmp_path: Path, zendesk
) -> None:
    emulator, base_url = zendesk
    conversations = [f"crash_{uuid.uuid4().hex[:6]}_{n}" for n in range(100)]
    deliveries = [event for cid in conversations for event in conversation_events(cid)]  # 500
    server = Server(database_url, tmp_path, env=zendesk_env(base_url)).start()
    accepted = send_all([server], deliveries, senders=6, kill_after=200)  # mid-stream
    assert 200 <= len(accepted) < len(deliveries)
    restarted = Server(database_url, tmp_path, env=zendesk_env(base_url)).start()
    try:
        # Senders retry what got no 202 (a real chat platform would); the log takes each once.
        accepted |= send_all([restarted], deliveries, senders=6)
        settled(restarted)
        log = EventLog(parse_database_url(database_url))
        try:
            stored = {e.delivery_id for e in log.read(0, 1_000_000) if e.source == "chat"}
            assert accepted <= stored
            assert_effects_once(emulator, log, conversations)
        finally:
            log.close()
    finally:
        restarted.stop()


@pytest.mark.postgres
def test_two_processes_on_one_database(postgres_server_url: str, tmp_path: Path, zendesk) -> None:
    emulator, base_url = zendesk
    url = f"{postgres_server_url}?schema=two_{uuid.uuid4().hex[:8]}"
    first = Server(url, tmp_path, env=zendesk_env(base_url))
    second = Server(url, tmp_path, env=zendesk_env(base_url))
    # Started together: schema creation must not trip over itself.
    starters = [threading.Thread(target=s.start) for s in (first, second)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    try:
        conversations = [f"two_{uuid.uuid4().hex[:6]}_{n}" for n in range(40)]
        deliveries = [event for cid in conversations for event in conversation_events(cid)]
        # Each conversation's deliveries alternate between the two processes.
        accepted = send_all([first, second], deliveries, senders=8)
        assert len(accepted) == len(deliveries)
        settled(first)
        settled(second)
        log = EventLog(parse_database_url(url))
        try:
            assert_effects_once(emulator, log, conversations)
            creates = Counter(r.json["ticket"]["external_id"] for r in emulator.creates())
            assert all(creates[cid] == 1 for cid in conversations)  # not even a replayed create
            # One process dies; the other carries on alone, within seconds.
            first.kill()
            late = [f"late_{uuid.uuid4().hex[:6]}_{n}" for n in range(5)]
            assert (
                len(
                    send_all(
                        [second], [e for cid in late for e in conversation_events(cid)], senders=2
                    )
                )
                == 25
            )
            with second.admin() as admin:
                for cid in late:
                    wait_until(
                        lambda c=cid: admin.get(f"/conversations/{c}").json()["ticket"], timeout=15
                    )
            settled(second)
            assert_effects_once(emulator, log, conversations + late)
        finally:
            log.close()
    finally:
        first.kill()
        second.stop()
