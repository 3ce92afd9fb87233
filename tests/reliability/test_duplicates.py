"""One delivery hammered at a real `ticketsync serve` is stored once (CONTRACT section 2).

A chat platform that lost its acknowledgements retries from several workers at once, so the
same webhook-id arrives side by side, with the same body or (a buggy or replayed sender) a
different one. Whatever the interleaving, and whether the copies land in one group commit or
in several: exactly one answer is 202; a copy with the stored body is 200 "duplicate" at the
same position; a copy with another body is 409 "conflict"; and the log holds one entry for
the id, with the body that was answered 202.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import Server, message, running, signed
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.entries import LogEntry
from ticketsync.service.store.log import EventLog


def send_together(
    server: Server, deliveries: list[tuple[bytes, dict[str, str]]]
) -> list[httpx.Response]:
    """Post every delivery from its own thread and connection, released at the same moment."""
    barrier = threading.Barrier(len(deliveries))
    answers: list[httpx.Response | None] = [None] * len(deliveries)

    def send(index: int, body: bytes, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.get("/healthz")  # connect first, so the posts start together
            barrier.wait()
            answers[index] = client.post("/webhooks/chat", content=body, headers=headers)

    threads = [
        threading.Thread(target=send, args=(index, body, headers))
        for index, (body, headers) in enumerate(deliveries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers), "a sender got no answer"
    return answers  # type: ignore[return-value]


@contextmanager
def log_at(url: str) -> Iterator[EventLog]:
    log = EventLog(parse_database_url(url))
    try:
        yield log
    finally:
        log.close()


def stored(log: EventLog, webhook_id: str) -> list[LogEntry]:
    return [e for e in log.read(0, 1_000_000) if e.source == "chat" and e.delivery_id == webhook_id]


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def test_one_delivery_from_twenty_senders_is_stored_once(database_url: str, tmp_path: Path) -> None:
    cid = f"dup_{uuid.uuid4().hex[:8]}"
    webhook_id = f"evt_{uuid.uuid4().hex}"
    body, headers = signed(
        message(cid, content="I was charged twice", message_id="m1"), webhook_id=webhook_id
    )
    with running(database_url, tmp_path) as server:
        answers = send_together(server, [(body, headers)] * 20)
        assert statuses(answers) == {202: 1, 200: 19}, [a.text for a in answers]
        [accepted] = [a.json() for a in answers if a.status_code == 202]
        assert accepted == {
            "status": "accepted",
            "event_id": webhook_id,
            "position": accepted["position"],
        }
        for answer in answers:
            if answer.status_code == 200:
                assert answer.json() == {
                    "status": "duplicate",
                    "event_id": webhook_id,
                    "position": accepted["position"],
                }

        # Later, the same id again from several senders: some re-signed retries of the same
        # body, some with another body under that id.
        changed = signed(message(cid, content="I was charged three times", message_id="m1"))[0]
        again = [signed(body, webhook_id=webhook_id) for _ in range(5)]
        other = [signed(changed, webhook_id=webhook_id) for _ in range(5)]
        answers = send_together(
            server, [d for pair in zip(again, other, strict=True) for d in pair]
        )
        for index, answer in enumerate(answers):
            if index % 2 == 0:
                assert answer.status_code == 200, answer.text
                assert answer.json()["position"] == accepted["position"]
            else:
                assert answer.status_code == 409, answer.text
                assert answer.json()["error"] == "conflict"

    with log_at(database_url) as log:
        [entry] = stored(log, webhook_id)
        assert entry.position == accepted["position"]
        assert entry.raw is not None
        assert entry.raw.encode() == body


def test_two_bodies_racing_under_one_id_store_the_one_accepted(
    database_url: str, tmp_path: Path
) -> None:
    cid = f"race_{uuid.uuid4().hex[:8]}"
    webhook_id = f"evt_{uuid.uuid4().hex}"
    bodies = [
        signed(message(cid, content=text, message_id="m1"), webhook_id=webhook_id)[0]
        for text in ("first version", "second version")
    ]
    # Ten senders of each body, interleaved, all released at once.
    deliveries = [signed(bodies[n % 2], webhook_id=webhook_id) for n in range(20)]
    with running(database_url, tmp_path) as server:
        answers = send_together(server, deliveries)
    assert statuses(answers)[202] == 1, [a.text for a in answers]
    [(first, accepted)] = [(n, a.json()) for n, a in enumerate(answers) if a.status_code == 202]
    winner = first % 2
    for index, answer in enumerate(answers):
        if index == first:
            continue
        if index % 2 == winner:
            assert answer.status_code == 200, answer.text
            assert answer.json() == {
                "status": "duplicate",
                "event_id": webhook_id,
                "position": accepted["position"],
            }
        else:
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"] == "conflict"
    with log_at(database_url) as log:
        [entry] = stored(log, webhook_id)
        assert entry.raw is not None
        assert entry.raw.encode() == bodies[winner]
        assert entry.position == accepted["position"]
