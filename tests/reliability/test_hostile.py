"""Hostile input: every answer a clear 4xx, nothing stored, nobody else held up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Server, message, running, signed, wait_until
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.log import EventLog


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile")
    with running(f"sqlite:///{folder / 't.db'}", folder) as started:
        yield started


def post(server: Server, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + "/webhooks/chat", content=body, headers=headers, timeout=10)


def test_deeply_nested_json_is_a_clear_400(server: Server) -> None:
    body, headers = signed(b"[" * 200_000 + b"]" * 200_000)
    answer = post(server, body, headers)
    assert answer.status_code == 400
    assert answer.json()["error"] in ("invalid_json", "invalid_payload")
    nested_data = (
        b'{"type":"message.created","timestamp":"2026-11-25T10:00:00Z","data":'
        + b'{"a":' * 5000
        + b"1"
        + b"}" * 5000
        + b"}"
    )
    body, headers = signed(nested_data)
    assert post(server, body, headers).status_code == 400


def test_invalid_utf8_and_nul_are_refused(server: Server) -> None:
    for raw in (b'{"type": "\xc3\x28"}', b"\xff\xfe{}", b'{"type":"x\x00"}'):
        body, headers = signed(raw)
        answer = post(server, body, headers)
        assert answer.status_code == 400, raw


def test_huge_headers_are_refused_without_harm(server: Server) -> None:
    body, headers = signed(message("conv_headers"))
    answer = httpx.post(
        server.url + "/webhooks/chat",
        content=body,
        headers={**headers, "x-padding": "a" * 200_000},
        timeout=10,
    )
    assert answer.status_code == 431
    assert answer.json()["error"] == "headers_too_large"
    body, headers = signed(message("conv_headers"))
    assert post(server, body, headers).status_code == 202  # and it still serves others
    with server.admin() as admin:
        trail = admin.get("/audit", params={"conversation_id": "conv_headers"}).json()["events"]
    assert len(trail) == 1  # the refused one was not kept


def request_head(body: bytes, headers: dict[str, str]) -> bytes:
    """A chat webhook's request line and headers, for a test that writes the body itself."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /webhooks/chat HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n{lines}\r\n"
    ).encode()


def test_a_slow_body_does_not_hold_up_other_requests(server: Server) -> None:
    body, headers = signed(message("conv_slow"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(request_head(body, headers))
        slow.sendall(body[:10])  # ... and the rest much later
        started = time.monotonic()
        other_body, other_headers = signed(message("conv_fast"))
        assert post(server, other_body, other_headers).status_code == 202
        assert time.monotonic() - started < 5
        slow.sendall(body[10:])
        answer = slow.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 202")


def test_a_client_that_leaves_mid_body_leaves_nothing_behind(server: Server) -> None:
    body, headers = signed(message("conv_gone"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as leaving:
        leaving.sendall(request_head(body, headers) + body[:10])
    # Refused as a delivery that never arrived whole, not as an error of ours.
    wait_until(lambda: '"error":"incomplete_body"' in server.logs())
    assert "http.unexpected_error" not in server.logs()
    body, headers = signed(message("conv_after_gone"))
    assert post(server, body, headers).status_code == 202
    with server.admin() as admin:
        assert admin.get("/audit", params={"conversation_id": "conv_gone"}).json()["events"] == []


def test_many_bad_requests_at_once_store_nothing(server: Server, tmp_path: Path) -> None:
    url = server.env["TICKETSYNC_DATABASE_URL"]
    log = EventLog(parse_database_url(url))
    before = log.position()
    bad = [
        signed(b"not json"),
        signed([1, 2, 3]),
        signed({"type": "message.created"}),
        (signed(message("x"))[0], {"content-type": "application/json"}),
        (signed(message("x"))[0] + b" ", signed(message("x"))[1]),  # body changed after signing
    ]
    answers: list[int] = []

    def hammer() -> None:
        for body, headers in bad * 10:
            answers.append(post(server, body, headers).status_code)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(400 <= status < 500 for status in answers)
    assert log.position() == before
    log.close()


def test_odd_numbers_in_paths_and_queries_are_clear_4xx(server: Server) -> None:
    """Found by fuzzing: '²' passes str.isdigit() but not int(), and 20 digits overflow SQLite."""
    with server.admin() as admin:
        for params in ({"after": "²"}, {"limit": "²"}, {"after": "99999999999999999999"}):
            answer = admin.get("/audit", params=params)
            assert answer.status_code == 400, params
            assert answer.json()["error"] == "invalid_query"
        for ticket_id in ("²", "99999999999999999999"):
            comment = admin.post(
                f"/tickets/local/{ticket_id}/comments", json={"author": "a", "body": "b"}
            )
            change = admin.patch(f"/tickets/local/{ticket_id}", json={"status": "open"})
            assert (comment.status_code, change.status_code) == (404, 404), ticket_id
            assert admin.get(f"/tickets/local/{ticket_id}").status_code == 404
