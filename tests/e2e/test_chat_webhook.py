"""POST /webhooks/chat through a real server: every answer of CONTRACT section 2."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import httpx
import orjson
import pytest

from tests.support import OTHER_SECRET, Server, message, payload, signed
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.log import EventLog


def post(server: Server, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + "/webhooks/chat", content=body, headers=headers, timeout=10)


def conversation() -> str:
    return f"conv_{uuid.uuid4().hex[:10]}"


def test_accepted_then_duplicate(server: Server) -> None:
    body, headers = signed(message(conversation()))
    first = post(server, body, headers)
    assert first.status_code == 202
    assert first.json() == {
        "status": "accepted",
        "event_id": headers["webhook-id"],
        "position": first.json()["position"],
    }
    # A retry carries the same id and body, with a fresh timestamp and signature.
    _, retry_headers = signed(body, webhook_id=headers["webhook-id"])
    second = post(server, body, retry_headers)
    assert second.status_code == 200
    assert second.json() == {
        "status": "duplicate",
        "event_id": headers["webhook-id"],
        "position": first.json()["position"],
    }


def test_unknown_type_is_stored_and_ignored(server: Server) -> None:
    body, headers = signed(payload("conversation.rated", conversation(), stars=5))
    answer = post(server, body, headers)
    assert answer.status_code == 202
    assert answer.json()["ignored"] is True


def test_same_id_with_another_body_is_409(server: Server) -> None:
    body, headers = signed(message(conversation(), content="first"))
    assert post(server, body, headers).status_code == 202
    changed, changed_headers = signed(
        message(conversation(), content="second"), webhook_id=headers["webhook-id"]
    )
    answer = post(server, changed, changed_headers)
    assert answer.status_code == 409
    assert answer.json()["error"] == "conflict"


def _send_together(
    server: Server, body: bytes, headers: dict[str, str], barrier: threading.Barrier, answers: list
) -> None:
    barrier.wait()
    answers.append(post(server, body, headers))


def test_identical_deliveries_in_parallel_store_one_event(server: Server) -> None:
    for _ in range(5):
        body, headers = signed(message(conversation()))
        barrier = threading.Barrier(4)
        answers: list[httpx.Response] = []
        threads = [
            threading.Thread(target=_send_together, args=(server, body, headers, barrier, answers))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 202]
        assert len({a.json()["position"] for a in answers}) == 1


def with_headers(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    changed = dict(headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            changed.pop(name, None)
        else:
            changed[name] = value
    return changed


def bad_deliveries() -> list[tuple[str, bytes, dict[str, str], int, str, str | None]]:
    """(name, body, headers, status, error code, field) for each kind of bad delivery."""
    good_body, good = signed(message(conversation()))
    now = time.time()
    cases = [
        (
            "no signature headers",
            good_body,
            with_headers(good, webhook_id=None, webhook_timestamp=None, webhook_signature=None),
            401,
            "missing_signature",
            None,
        ),
        (
            "missing webhook-id",
            good_body,
            with_headers(good, webhook_id=None),
            401,
            "missing_signature",
            "webhook-id",
        ),
        (
            "wrong secret",
            *signed(message(conversation()), secret=OTHER_SECRET),
            401,
            "invalid_signature",
            None,
        ),
        (
            "stale timestamp",
            *signed(message(conversation()), timestamp=now - 400),
            401,
            "stale_timestamp",
            "webhook-timestamp",
        ),
        (
            "future timestamp",
            *signed(message(conversation()), timestamp=now + 400),
            401,
            "stale_timestamp",
            "webhook-timestamp",
        ),
        (
            "malformed signature",
            good_body,
            with_headers(good, webhook_signature="sha256=abc"),
            401,
            "malformed_signature",
            "webhook-signature",
        ),
        (
            "malformed timestamp",
            good_body,
            with_headers(good, webhook_timestamp="yesterday"),
            401,
            "malformed_timestamp",
            "webhook-timestamp",
        ),
        (
            "timestamp in milliseconds with a fraction",
            good_body,
            with_headers(good, webhook_timestamp="1795600800.5"),
            401,
            "malformed_timestamp",
            "webhook-timestamp",
        ),
        ("non-JSON body", *signed(b"this is not json"), 400, "invalid_json", None),
        ("invalid UTF-8", *signed(b'{"type": "\xff"}'), 400, "invalid_json", None),
        ("JSON array", *signed([payload("message.created")]), 400, "invalid_payload", None),
        (
            "missing type",
            *signed({"timestamp": "2026-11-25T10:00:00Z", "data": {"conversation_id": "c"}}),
            400,
            "invalid_payload",
            "type",
        ),
        (
            "missing timestamp",
            *signed({"type": "message.created", "data": {"conversation_id": "c"}}),
            400,
            "invalid_payload",
            "timestamp",
        ),
        (
            "missing data",
            *signed({"type": "message.created", "timestamp": "2026-11-25T10:00:00Z"}),
            400,
            "invalid_payload",
            "data",
        ),
        (
            "missing conversation",
            *signed(payload("message.created") | {"data": {}}),
            400,
            "invalid_payload",
            "data.conversation_id",
        ),
        (
            "type of wrong type",
            *signed(payload("x") | {"type": ["message.created"]}),
            400,
            "invalid_payload",
            "type",
        ),
        (
            "conversation of wrong type",
            *signed(payload("x") | {"data": {"conversation_id": 7}}),
            400,
            "invalid_payload",
            "data.conversation_id",
        ),
        (
            "content of wrong type",
            *signed(message(content=42)),
            422,
            "invalid_data",
            "data.content",
        ),  # type: ignore[arg-type]
        ("unknown role", *signed(message(role="system")), 422, "invalid_data", "data.role"),
        ("note without text", *signed(payload("note.added")), 422, "invalid_data", "data.text"),
        (
            "note of blank text",
            *signed(payload("note.added", text=" \t\n")),
            422,
            "invalid_data",
            "data.text",
        ),
        (
            "2 MiB body",
            *signed(message(content="x" * (2 * 1024 * 1024))),
            413,
            "payload_too_large",
            None,
        ),
        (
            "wrong content type",
            good_body,
            with_headers(good, content_type="text/plain"),
            415,
            "unsupported_media_type",
            None,
        ),
    ]
    return cases


def test_bad_deliveries_get_clear_errors_and_store_nothing(server: Server) -> None:
    log = EventLog(parse_database_url(server.database_url))  # type: ignore[attr-defined]
    try:
        before = {e.delivery_id for e in log.read(0, 100_000)}
        accepted = []
        for name, body, headers, status, code, field in bad_deliveries():
            answer = post(server, body, headers)
            assert answer.status_code == status, name
            assert answer.headers["content-type"].startswith("application/json"), name
            error = answer.json()
            assert error["error"] == code, name
            assert error["detail"], name
            assert error.get("field") == field, name
            # A good delivery between bad ones is still taken.
            good_body, good_headers = signed(message(conversation()))
            assert post(server, good_body, good_headers).status_code == 202
            accepted.append(good_headers["webhook-id"])
        after = {e.delivery_id for e in log.read(0, 100_000)}
        assert after - before == set(accepted)
    finally:
        log.close()


def test_body_is_refused_while_it_streams(server: Server) -> None:
    """A chunked body (no Content-Length) that passes 1 MiB and never ends gets 413 at once.

    Were the body buffered before the limit was checked, no answer could come before the
    body's end, which this client never sends.
    """
    _, headers = signed(b"{}")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST /webhooks/chat HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n{head}\r\n".encode()
        )
        for _ in range(20):  # 1.25 MiB, then silence: the terminating chunk never comes
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = ""
        while not answer.endswith("}"):
            received = sock.recv(65536)
            if not received:
                break
            answer += received.decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"payload_too_large"' in answer


def test_every_event_type_is_accepted(server: Server) -> None:
    conv = conversation()
    events = [
        payload(
            "conversation.started",
            conv,
            customer={"id": "u1", "email": "ann@example.com", "name": "Ann"},
            subject="Refund",
            channel="web",
        ),
        message(conv, content="I was charged twice"),
        payload(
            "tool.executed",
            conv,
            tool="billing_lookup",
            input={"customer": "u1"},
            output={"charges": 2},
            status="ok",
        ),
        payload("intents.detected", conv, intents=["billing_problem"]),
        payload("conversation.escalated", conv, reason="customer asked for a human"),
        payload("conversation.resolved", conv, resolution="resolved"),
        payload("note.added", conv, text="Customer is a reseller"),
    ]
    for event in events:
        body, headers = signed(event)
        answer = post(server, body, headers)
        assert answer.status_code == 202, answer.text
        assert "ignored" not in answer.json()
    with server.admin() as admin:
        trail = admin.get("/audit", params={"conversation_id": conv}).json()
    received = [e for e in trail["events"] if e["source"] == "chat"]
    assert [e["type"] for e in received] == [e["type"] for e in events]
    assert received[0]["data"]["customer"]["email"] == "ann@example.com"


@pytest.mark.parametrize("path", ["/audit", "/metrics", "/openapi.json"])
def test_admin_endpoints_need_the_token(server: Server, path: str) -> None:
    assert httpx.get(server.url + path).status_code == 401
    wrong = httpx.get(server.url + path, headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "unauthorized"
    with server.admin() as admin:
        assert admin.get(path).status_code == 200


def test_the_root_answers_an_index_without_a_token(server: Server) -> None:
    import importlib.metadata

    answer = httpx.get(server.url + "/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    index = answer.json()
    assert index["service"] == "ticketsync"
    assert index["version"] == importlib.metadata.version("ticketsync")
    assert {name: link["href"] for name, link in index["links"].items()} == {
        "healthz": "/healthz",
        "openapi": "/openapi.json",
        "ui": "/ui",
    }
    assert "console" in index["links"]["ui"]["title"]
    assert "README" in index["docs"]
    # Every link it names answers; the console with its sign-in form, as HTML.
    assert httpx.get(server.url + index["links"]["healthz"]["href"]).status_code == 200
    console = httpx.get(server.url + index["links"]["ui"]["href"])
    assert console.status_code == 200
    assert console.headers["content-type"].startswith("text/html")
    assert 'action="/ui/sign-in"' in console.text
    with server.admin() as admin:
        assert admin.get(index["links"]["openapi"]["href"]).status_code == 200


def test_healthz_needs_no_token_and_reports_the_position(server: Server) -> None:
    body, headers = signed(message(conversation()))
    position = post(server, body, headers).json()["position"]
    health = httpx.get(server.url + "/healthz")
    assert health.status_code == 200
    assert health.json()["position"] >= position


def test_audit_pages_and_refuses_bad_filters(server: Server) -> None:
    conv = conversation()
    for i in range(7):
        body, headers = signed(message(conv, content=f"m{i}"))
        assert post(server, body, headers).status_code == 202
    with server.admin() as admin:
        contents = []
        cursor = None
        while True:
            params = {"conversation_id": conv, "type": "message.created", "limit": 3}
            params |= {"after": cursor} if cursor else {}
            page = admin.get("/audit", params=params).json()
            contents += [e["data"]["content"] for e in page["events"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert contents == [f"m{i}" for i in range(7)]
        for params, field in (
            ({"limit": 0}, "limit"),
            ({"limit": 1001}, "limit"),
            ({"after": "abc"}, "after"),
            ({"since": "last week"}, "since"),
            ({"ticket": "123"}, "ticket"),
        ):
            answer = admin.get("/audit", params=params)
            assert answer.status_code == 400
            assert answer.json()["field"] == field


def test_unknown_paths_answer_json(server: Server) -> None:
    answer = httpx.get(server.url + "/nowhere")
    assert answer.status_code == 404
    assert orjson.loads(answer.content)["error"] == "not_found"
    wrong_method = httpx.get(server.url + "/webhooks/chat")
    assert wrong_method.status_code == 405
