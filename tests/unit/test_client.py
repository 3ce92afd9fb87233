"""ticketsync.client on httpx.MockTransport: the exact events out, retries, refusals, and
verify_event on what the reply sender signs."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support import CHAT_SECRET, OTHER_SECRET
from ticketsync.adapters.chat import signing
from ticketsync.adapters.chat.replies import ChatReplySender, reply_payload
from ticketsync.client import (
    ChatClient,
    ClientError,
    InvalidSignature,
    Refused,
    Unavailable,
    verify_event,
)
from ticketsync.events.commands import SendReply
from ticketsync.events.errors import TicketsyncError

BASE = "https://ticketsync.example.com/support/"
URL = "https://ticketsync.example.com/support/webhooks/chat"
AT = datetime(2026, 11, 25, 10, 0, 0, 250000, tzinfo=UTC)
STAMP = "2026-11-25T10:00:00.250Z"
ACCEPTED = {"status": "accepted", "event_id": "evt_1", "position": 7}


Answer = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler recording each request; answers are scripted in turn."""

    def __init__(self, *answers: Answer | httpx.Response | Exception) -> None:
        self.requests: list[httpx.Request] = []
        self.answers = list(answers) or [httpx.Response(202, json=ACCEPTED)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else answer(request)

    def bodies(self) -> list[Any]:
        return [orjson.loads(request.content) for request in self.requests]


class Clock:
    """A clock that moves 7 s on each reading, and a sleep that records the pauses."""

    def __init__(self) -> None:
        self.now = 1_795_000_000.5
        self.pauses: list[float] = []

    def __call__(self) -> float:
        self.now += 7
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client(recorder: Recorder, clock: Clock | None = None, **options: Any) -> ChatClient:
    timing: dict[str, Any] = {"sleep": clock.sleep, "clock": clock} if clock else {}
    return ChatClient(
        BASE, CHAT_SECRET, transport=httpx.MockTransport(recorder), **timing, **options
    )


# ---------------------------------------------------------------------- the events


def _send(name: str, *args: Any, **kwargs: Any) -> Callable[[ChatClient], dict[str, Any]]:
    return lambda chat: getattr(chat, name)(*args, **kwargs)


EVENTS = [
    pytest.param(
        _send(
            "started",
            "conv_1",
            customer={"id": "c1", "email": "ann@example.com", "name": "Ann"},
            subject="Refund",
            channel="web",
        ),
        "conversation.started",
        {
            "customer": {"id": "c1", "email": "ann@example.com", "name": "Ann"},
            "subject": "Refund",
            "channel": "web",
        },
        id="started",
    ),
    pytest.param(
        _send("message", "conv_1", "user", "I was charged twice", message_id="m1"),
        "message.created",
        {"message_id": "m1", "role": "user", "content": "I was charged twice"},
        id="message",
    ),
    pytest.param(
        _send(
            "tool", "conv_1", "lookup_invoice", input={"id": "INV-1"}, output=[1, None], status="ok"
        ),
        "tool.executed",
        {"tool": "lookup_invoice", "input": {"id": "INV-1"}, "output": [1, None], "status": "ok"},
        id="tool",
    ),
    pytest.param(
        _send("intents", "conv_1", ("billing_problem", "refund")),
        "intents.detected",
        {"intents": ["billing_problem", "refund"]},
        id="intents",
    ),
    pytest.param(
        _send("note", "conv_1", "Customer is a reseller"),
        "note.added",
        {"text": "Customer is a reseller"},
        id="note",
    ),
    pytest.param(
        _send("escalate", "conv_1", reason="customer asked for a human"),
        "conversation.escalated",
        {"reason": "customer asked for a human"},
        id="escalate",
    ),
    pytest.param(
        _send("resolve", "conv_1", "pending_customer"),
        "conversation.resolved",
        {"resolution": "pending_customer"},
        id="resolve",
    ),
]


@pytest.mark.parametrize(("call", "event_type", "data"), EVENTS)
def test_each_method_posts_its_webhook_payload(
    call: Callable[[ChatClient], dict[str, Any]], event_type: str, data: dict[str, Any]
) -> None:
    recorder = Recorder()
    with client(recorder) as chat:
        answer = call(chat)
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["content-type"] == "application/json"
    body = orjson.loads(request.content)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == event_type
    assert body["data"] == {"conversation_id": "conv_1", **data}
    assert answer == ACCEPTED


@pytest.mark.parametrize(("call", "event_type", "data"), EVENTS[:1] + EVENTS[4:5])
def test_the_reference_implementation_verifies_what_it_signs(
    call: Callable[[ChatClient], dict[str, Any]], event_type: str, data: dict[str, Any]
) -> None:
    # standardwebhooks checks the timestamp against the real clock, which the client uses.
    recorder = Recorder()
    with client(recorder) as chat:
        call(chat)
    (request,) = recorder.requests
    headers = dict(request.headers)
    assert Webhook(CHAT_SECRET).verify(request.content, headers)["type"] == event_type
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(Exception, match="signature"):
        Webhook(OTHER_SECRET).verify(request.content, headers)


def test_the_timestamp_is_the_events_and_the_ids_are_the_callers() -> None:
    recorder = Recorder()
    with client(recorder) as chat:
        chat.message("conv_1", "user", "hi", message_id="m9", event_id="evt_9", occurred_at=AT)
        chat.message(
            "conv_1", "user", "hi", occurred_at=AT.astimezone(timezone(timedelta(hours=-5)))
        )
    first, second = recorder.requests
    assert first.headers["webhook-id"] == "evt_9"
    assert orjson.loads(first.content)["timestamp"] == STAMP
    assert orjson.loads(second.content)["timestamp"] == STAMP  # any zone, written in UTC


def test_ids_left_out_are_made_fresh_for_each_event() -> None:
    recorder = Recorder()
    with client(recorder) as chat:
        chat.message("conv_1", "user", "hi")
        chat.message("conv_1", "user", "hi")
    ids = [request.headers["webhook-id"] for request in recorder.requests]
    message_ids = [body["data"]["message_id"] for body in recorder.bodies()]
    assert len(set(ids)) == 2
    assert all(one.startswith("evt_") for one in ids)
    assert len(set(message_ids)) == 2
    stamp = datetime.fromisoformat(recorder.bodies()[0]["timestamp"])
    assert abs((stamp - datetime.now(UTC)).total_seconds()) < 60


def test_the_same_event_built_again_is_the_same_bytes() -> None:
    """Dict order does not reach the body, so a re-sent event is a duplicate, not a conflict."""
    recorder = Recorder()
    with client(recorder) as chat:
        for customer in ({"id": "c1", "name": "Ann"}, {"name": "Ann", "id": "c1"}):
            chat.started("conv_1", customer=customer, event_id="evt_s", occurred_at=AT)
    first, second = recorder.requests
    assert first.content == second.content


def test_the_answer_is_returned_as_it_came_ignored_included() -> None:
    ignored = {"status": "accepted", "event_id": "evt_n", "position": 3, "ignored": True}
    with client(Recorder(httpx.Response(202, json=ignored))) as chat:
        assert chat.note("conv_1", "a note") == ignored


def test_a_naive_time_is_refused_before_anything_is_sent() -> None:
    recorder = Recorder()
    with client(recorder) as chat, pytest.raises(ValueError, match="aware"):
        chat.escalate("conv_1", "why", occurred_at=datetime(2026, 11, 25, 10, 0))
    assert recorder.requests == []


@pytest.mark.parametrize("event_id", ["", "évt", "evt\n1", "evt\x00"])
def test_an_event_id_no_header_can_carry_is_refused_before_sending(event_id: str) -> None:
    recorder = Recorder()
    with client(recorder) as chat, pytest.raises(ValueError, match="event_id"):
        chat.note("conv_1", "a note", event_id=event_id)
    assert recorder.requests == []


def test_an_empty_message_id_is_sent_for_ticketsync_to_judge() -> None:
    recorder = Recorder()
    with client(recorder) as chat:
        chat.message("conv_1", "user", "hi", message_id="")
    assert recorder.bodies()[0]["data"]["message_id"] == ""


# ---------------------------------------------------------------------- retries


def test_a_5xx_is_retried_with_the_same_id_and_body_signed_anew(clock: Clock) -> None:
    recorder = Recorder(
        httpx.Response(503, json={"error": "store_unavailable", "detail": "down"}),
        httpx.Response(500),
        httpx.Response(202, json=ACCEPTED),
    )
    with client(recorder, clock) as chat:
        assert chat.resolve("conv_1", "resolved") == ACCEPTED
    assert len(recorder.requests) == 3
    assert len({request.headers["webhook-id"] for request in recorder.requests}) == 1
    assert len({request.content for request in recorder.requests}) == 1
    stamps = [int(request.headers["webhook-timestamp"]) for request in recorder.requests]
    assert stamps == sorted(set(stamps))  # a fresh timestamp on each attempt
    webhook = Webhook(CHAT_SECRET)
    for request, stamp in zip(recorder.requests, stamps, strict=True):
        expected = webhook.sign(
            request.headers["webhook-id"], datetime.fromtimestamp(stamp, UTC), request.content
        )
        assert request.headers["webhook-signature"] == expected
    # A short pause before each retry, growing: 0.25 s, then 0.5 s, at most (jittered).
    assert len(clock.pauses) == 2
    assert 0.125 <= clock.pauses[0] <= 0.25
    assert 0.25 <= clock.pauses[1] <= 0.5


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
    ids=["connection-error", "timeout", "dropped"],
)
def test_a_transport_failure_is_retried(clock: Clock, failure: Exception) -> None:
    # The first attempt may have been stored (a timeout after sending); the retry is then
    # answered duplicate, which is success.
    duplicate = {"status": "duplicate", "event_id": "evt_t", "position": 4}
    recorder = Recorder(failure, httpx.Response(200, json=duplicate))
    with client(recorder, clock) as chat:
        assert chat.message("conv_1", "user", "hi", event_id="evt_t") == duplicate
    first, second = recorder.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "evt_t"
    assert first.content == second.content


def test_three_retries_then_unavailable(clock: Clock) -> None:
    recorder = Recorder(httpx.Response(502, text="bad gateway"))
    with client(recorder, clock) as chat, pytest.raises(Unavailable) as raised:
        chat.intents("conv_1", ["billing_problem"])
    assert len(recorder.requests) == 4  # the first attempt and 3 retries
    assert raised.value.status == 502
    assert raised.value.attempts == 4
    assert "502" in str(raised.value)
    assert len(clock.pauses) == 3


def test_no_answer_at_all_is_unavailable_with_no_status(clock: Clock) -> None:
    recorder = Recorder(httpx.ConnectError("connection refused"))
    with client(recorder, clock, retries=1) as chat, pytest.raises(Unavailable) as raised:
        chat.intents("conv_1", ["billing_problem"])
    assert len(recorder.requests) == 2
    assert raised.value.status is None
    assert "ConnectError" in str(raised.value)


def test_a_request_that_cannot_be_sent_is_not_retried(clock: Clock) -> None:
    recorder = Recorder(httpx.LocalProtocolError("illegal header"))
    with client(recorder, clock) as chat, pytest.raises(Unavailable):
        chat.intents("conv_1", ["billing_problem"])
    assert len(recorder.requests) == 1


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("status", "body", "code", "field"),
    [
        (422, {"error": "invalid_data", "detail": "data.role must be one of: user, assistant", "field": "data.role"}, "invalid_data", "data.role"),
        (400, {"error": "invalid_payload", "detail": "bad id", "field": "data.conversation_id"}, "invalid_payload", "data.conversation_id"),
        (401, {"error": "invalid_signature", "detail": "no webhook-signature matches"}, "invalid_signature", None),
        (409, {"error": "conflict", "detail": "stored with a different body"}, "conflict", None),
        (413, {"error": "payload_too_large", "detail": "over 1 MiB"}, "payload_too_large", None),
        (404, "Not Found", None, None),
        (429, {"error": "rate_limited", "detail": "slow down"}, "rate_limited", None),
    ],
)  # fmt: skip
def test_a_4xx_raises_refused_and_is_not_retried(
    clock: Clock, status: int, body: Any, code: str | None, field: str | None
) -> None:
    answer = (
        httpx.Response(status, text=body) if isinstance(body, str) else httpx.Response(status, json=body)
    )  # fmt: skip
    recorder = Recorder(answer, httpx.Response(202, json=ACCEPTED))
    with client(recorder, clock) as chat, pytest.raises(Refused) as raised:
        chat.message("conv_1", "robot", "hi")
    assert len(recorder.requests) == 1
    assert clock.pauses == []
    refused = raised.value
    assert (refused.status, refused.code, refused.field) == (status, code, field)
    assert refused.detail == (body if isinstance(body, str) else body["detail"])
    assert str(status) in str(refused)


def test_every_error_is_a_client_error_and_a_ticketsync_error() -> None:
    for error in (Refused, Unavailable, InvalidSignature):
        assert issubclass(error, ClientError)
    assert issubclass(ClientError, TicketsyncError)


def test_a_2xx_without_json_is_a_client_error() -> None:
    with client(Recorder(httpx.Response(202, text="ok"))) as chat, pytest.raises(ClientError):
        chat.resolve("conv_1", "resolved")


# ---------------------------------------------------------------------- the client itself


@pytest.mark.parametrize(
    ("base_url", "secret", "message"),
    [
        ("ftp://ticketsync.example.com", CHAT_SECRET, "http"),
        ("ticketsync.example.com", CHAT_SECRET, "http"),
        (BASE, "not-a-secret", "whsec_"),
        (BASE, "whsec_!!!", "base64"),
    ],
)
def test_a_wrong_url_or_secret_fails_at_construction(
    base_url: str, secret: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ChatClient(base_url, secret)


def test_the_secret_is_never_shown() -> None:
    chat = ChatClient(BASE, CHAT_SECRET)
    assert CHAT_SECRET.removeprefix("whsec_") not in repr(chat)
    assert "webhooks/chat" in repr(chat)
    chat.close()


def test_leaving_the_context_closes_its_connections() -> None:
    recorder = Recorder()
    with client(recorder) as chat:
        chat.resolve("conv_1", "resolved")
    with pytest.raises(RuntimeError, match="closed"):
        chat.resolve("conv_1", "resolved")
    assert len(recorder.requests) == 1


# ---------------------------------------------------------------------- verify_event

NOW = 1_795_000_000.0
REPLY = SendReply(
    conversation_id="conv_42",
    system="local",
    ticket_id="7",
    comment_id="c3",
    author_name="Dana",
    body="We refunded the second charge.",
    sent_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
)


@pytest.fixture
def delivery() -> httpx.Request:
    """What the service's reply sender POSTs to the chat, as the chat receives it."""
    recorder = Recorder(httpx.Response(202, json={}))
    sender = ChatReplySender(
        "https://chat.example.com/hooks",
        CHAT_SECRET,
        transport=httpx.MockTransport(recorder),
        clock=lambda: NOW,
    )
    with sender:
        sender.send(REPLY)
    (request,) = recorder.requests
    return request


def test_verify_event_returns_what_the_reply_sender_signed(delivery: httpx.Request) -> None:
    event = verify_event(delivery.headers, delivery.content, secret=CHAT_SECRET, now=NOW + 299)
    assert event == reply_payload(REPLY)
    assert event["type"] == "agent.replied"


def test_header_names_may_be_in_any_case(delivery: httpx.Request) -> None:
    titled = {name.title(): value for name, value in delivery.headers.items()}
    assert "Webhook-Signature" in titled
    assert verify_event(titled, delivery.content, CHAT_SECRET, now=NOW)["data"]["body"] == (
        REPLY.body
    )
    # The body as text is its UTF-8 bytes.
    assert verify_event(titled, delivery.content.decode(), CHAT_SECRET, now=NOW)


def test_any_secret_of_a_rotation_may_match(delivery: httpx.Request) -> None:
    assert verify_event(delivery.headers, delivery.content, [OTHER_SECRET, CHAT_SECRET], now=NOW)
    with pytest.raises(InvalidSignature) as raised:
        verify_event(delivery.headers, delivery.content, [OTHER_SECRET], now=NOW)
    assert raised.value.code == "invalid_signature"


def _tampered_signature(headers: dict[str, str]) -> dict[str, str]:
    digest = bytearray(base64.b64decode(headers["webhook-signature"][3:]))
    digest[0] ^= 1
    return {**headers, "webhook-signature": "v1," + base64.b64encode(digest).decode()}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param(lambda h, b: (h, b.replace(b"second", b"first!")), "invalid_signature", id="tampered-body"),
        pytest.param(lambda h, b: (_tampered_signature(h), b), "invalid_signature", id="tampered-signature"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "reply-other"}, b), "invalid_signature", id="other-id"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": str(int(NOW) + 1)}, b), "invalid_signature", id="other-timestamp"),
        pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), "missing_signature", id="no-signature"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1"}, b), "malformed_signature", id="malformed-signature"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "malformed_timestamp", id="malformed-timestamp"),
        pytest.param(lambda h, b: ({**h, "Webhook-Id": "reply-other"}, b), "malformed_signature", id="id-given-twice"),
    ],
)  # fmt: skip
def test_anything_but_ticketsyncs_own_delivery_is_refused(
    delivery: httpx.Request,
    change: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]],
    code: str,
) -> None:
    headers, body = change(dict(delivery.headers), delivery.content)
    with pytest.raises(InvalidSignature) as raised:
        verify_event(headers, body, CHAT_SECRET, now=NOW)
    assert raised.value.code == code
    assert raised.value.reason


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_delivery_outside_300_seconds_is_refused(delivery: httpx.Request, offset: int) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_event(delivery.headers, delivery.content, CHAT_SECRET, now=NOW + offset)
    assert raised.value.code == "stale_timestamp"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"type": "agent.replied"}', b'{"type": "x", "data": {}}'],
)
def test_a_signed_body_that_is_no_payload_is_refused(body: bytes) -> None:
    headers = signing.signed_headers(CHAT_SECRET, "evt_x", body, NOW)
    with pytest.raises(InvalidSignature) as raised:
        verify_event(headers, body, CHAT_SECRET, now=NOW)
    assert raised.value.code == "invalid_payload"


@pytest.mark.parametrize("secret", ["not-a-secret", [], ["whsec_!!!"]])
def test_a_wrong_secret_is_a_value_error(delivery: httpx.Request, secret: Any) -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_event(delivery.headers, delivery.content, secret, now=NOW)


def test_importing_the_client_loads_none_of_the_servers_stack() -> None:
    """An agent's process loads httpx, orjson and the signing code, not the service."""
    probe = (
        "import sys, ticketsync.client\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
        "print(' '.join(sorted(n for n in sys.modules if n.startswith('ticketsync.'))))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    top, ours = (set(line.split()) for line in ran.stdout.splitlines())
    assert {"httpx", "orjson"} <= top
    assert not top & {"starlette", "uvicorn", "eventsourcing", "psycopg", "prometheus_client"}
    assert {name.split(".")[1] for name in ours} == {"adapters", "client", "events"}
    assert not any(
        name.startswith(("ticketsync.service", "ticketsync.projections")) for name in ours
    )
