"""The chat reply sender on httpx.MockTransport: the exact delivery out, answers mapped back."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import CHAT_SECRET, OTHER_SECRET
from ticketsync.adapters.chat import signing
from ticketsync.adapters.chat.replies import ChatReplySender, reply_webhook_id
from ticketsync.adapters.ports import OutcomeUnknown, Permanent, RateLimited, Retryable
from ticketsync.events.commands import SendReply
from ticketsync.events.errors import ConfigError

URL = "https://chat.example.com/hooks/ticketsync?tenant=acme"
NOW = 1_795_000_000.75  # 2026-11-18T11:06:40.75Z; the signature uses whole seconds.
SENT_AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

EXPECTED_BODY = {
    "type": "agent.replied",
    "timestamp": "2026-11-25T10:00:00Z",
    "data": {
        "conversation_id": "conv_42",
        "ticket": {"system": "zendesk", "id": "4711"},
        "comment_id": "90001",
        "author": {"name": "Avery Agent"},
        "body": "We refunded the double charge.",
        "sent_at": "2026-11-25T10:00:00Z",
    },
}


def reply(**changes: Any) -> SendReply:
    fields: dict[str, Any] = {
        "conversation_id": "conv_42",
        "system": "zendesk",
        "ticket_id": "4711",
        "comment_id": "90001",
        "author_name": "Avery Agent",
        "body": "We refunded the double charge.",
        "sent_at": SENT_AT,
    }
    return SendReply(**{**fields, **changes})


class Recorder:
    """A MockTransport handler that records each request and gives one scripted answer."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda request: httpx.Response(202, json={"status": "accepted"}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def sender(
    handler: Callable[[httpx.Request], httpx.Response], clock: float = NOW
) -> ChatReplySender:
    return ChatReplySender(
        URL, CHAT_SECRET, transport=httpx.MockTransport(handler), clock=lambda: clock
    )


# ---------------------------------------------------------------------- the delivery


def test_posts_the_exact_body_to_the_url() -> None:
    recorder = Recorder()
    sender(recorder).send(reply())
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["content-type"] == "application/json"
    assert request.content == orjson.dumps(EXPECTED_BODY)


def test_signs_with_standard_webhooks_headers() -> None:
    recorder = Recorder()
    sender(recorder).send(reply())
    (request,) = recorder.requests
    assert request.headers["webhook-id"] == "reply-zendesk-4711-90001"
    assert request.headers["webhook-timestamp"] == "1795000000"
    key = signing.decode_secret(CHAT_SECRET)
    expected = signing.sign(key, "reply-zendesk-4711-90001", 1_795_000_000, request.content)
    assert request.headers["webhook-signature"] == expected


def test_the_reference_implementation_verifies_the_signature() -> None:
    # standardwebhooks checks the timestamp against the real clock, so sign with it.
    recorder = Recorder()
    sender(recorder, clock=time.time()).send(reply())
    (request,) = recorder.requests
    payload = Webhook(CHAT_SECRET).verify(request.content, dict(request.headers))
    assert payload == EXPECTED_BODY
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(request.content, dict(request.headers))


def test_a_retry_is_the_same_delivery_signed_anew() -> None:
    recorder = Recorder()
    sender(recorder, clock=NOW).send(reply())
    sender(recorder, clock=NOW + 90).send(reply())
    first, second = recorder.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.content == second.content
    assert int(second.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 90
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


@pytest.mark.parametrize(
    "changes, expected",
    [
        pytest.param({}, "reply-zendesk-4711-90001", id="zendesk"),
        pytest.param({"comment_id": "90002"}, "reply-zendesk-4711-90002", id="other-comment"),
        pytest.param(
            {"system": "jira", "ticket_id": "SUP-7", "comment_id": "10100"},
            "reply-jira-SUP-7-10100",
            id="jira",
        ),
        pytest.param(
            {"body": "edited", "sent_at": SENT_AT + timedelta(hours=1), "author_name": None},
            "reply-zendesk-4711-90001",
            id="id-ignores-content",
        ),
    ],
)
def test_webhook_id_is_the_comments(changes: dict[str, Any], expected: str) -> None:
    assert reply_webhook_id(reply(**changes)) == expected


@pytest.mark.parametrize(
    "sent_at, expected",
    [
        pytest.param(SENT_AT, "2026-11-25T10:00:00Z", id="utc"),
        pytest.param(
            datetime(2026, 11, 25, 11, 0, tzinfo=timezone(timedelta(hours=1))),
            "2026-11-25T10:00:00Z",
            id="offset-converted",
        ),
        pytest.param(datetime(2026, 11, 25, 10, 0), "2026-11-25T10:00:00Z", id="naive-is-utc"),
        pytest.param(
            datetime(2026, 11, 25, 10, 0, 0, 250_000, tzinfo=UTC),
            "2026-11-25T10:00:00.250000Z",
            id="fraction-kept",
        ),
    ],
)
def test_times_are_iso_utc_with_z(sent_at: datetime, expected: str) -> None:
    recorder = Recorder()
    sender(recorder).send(reply(sent_at=sent_at))
    sent = orjson.loads(recorder.requests[0].content)
    assert (sent["timestamp"], sent["data"]["sent_at"]) == (expected, expected)


def test_an_unknown_author_is_null() -> None:
    recorder = Recorder()
    sender(recorder).send(reply(author_name=None))
    assert orjson.loads(recorder.requests[0].content)["data"]["author"] == {"name": None}


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(status: int) -> None:
    sender(Recorder(lambda request: httpx.Response(status))).send(reply())


def test_a_bad_secret_fails_at_construction() -> None:
    with pytest.raises(ConfigError):
        ChatReplySender(URL, "whsec_not base64!")


def test_repr_hides_the_secret() -> None:
    text = repr(sender(Recorder()))
    assert CHAT_SECRET not in text
    assert CHAT_SECRET.removeprefix("whsec_") not in text


def test_close_closes_the_client() -> None:
    with sender(Recorder()) as replies:
        pass
    with pytest.raises(RuntimeError):
        replies.send(reply())


# ---------------------------------------------------------------------- error mapping

HTTP_DATE_IN_30_S = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)

HTTP_ERRORS = [
    pytest.param(429, {"Retry-After": "7"}, RateLimited, 7.0, id="429-retry-after"),
    pytest.param(429, {}, RateLimited, 60.0, id="429-default-60"),
    pytest.param(429, {"Retry-After": "soon"}, RateLimited, 60.0, id="429-unreadable"),
    pytest.param(429, {"Retry-After": "-3"}, RateLimited, 60.0, id="429-negative"),
    pytest.param(
        429, {"Retry-After": HTTP_DATE_IN_30_S}, RateLimited, pytest.approx(29.25), id="429-date"
    ),
    pytest.param(503, {"Retry-After": "30"}, Retryable, 30.0, id="503-retry-after"),
    pytest.param(503, {}, Retryable, None, id="503"),
    pytest.param(500, {}, Retryable, None, id="500"),
    pytest.param(502, {}, Retryable, None, id="502"),
    pytest.param(504, {}, Retryable, None, id="504"),
    pytest.param(408, {}, Retryable, None, id="408"),
    pytest.param(409, {}, Permanent, None, id="409-same-id-other-body"),
    pytest.param(400, {}, Permanent, None, id="400"),
    pytest.param(401, {}, Permanent, None, id="401-wrong-secret"),
    pytest.param(403, {}, Permanent, None, id="403"),
    pytest.param(404, {}, Permanent, None, id="404"),
    pytest.param(410, {}, Permanent, None, id="410"),
    pytest.param(413, {}, Permanent, None, id="413"),
    pytest.param(422, {}, Permanent, None, id="422"),
    pytest.param(301, {"Location": "https://elsewhere.test/"}, Permanent, None, id="redirect"),
]


@pytest.mark.parametrize("status, headers, error, retry_after", HTTP_ERRORS)
def test_http_errors(
    status: int, headers: dict[str, str], error: type[Exception], retry_after: Any
) -> None:
    answer = httpx.Response(status, headers=headers, json={"error": "x", "detail": "y"})
    with pytest.raises(error) as raised:
        sender(Recorder(lambda request: answer)).send(reply())
    assert type(raised.value) is error  # Not a subclass: a 5xx is not OutcomeUnknown.
    assert raised.value.status == status
    if isinstance(raised.value, Retryable):
        assert raised.value.retry_after == retry_after


@pytest.mark.parametrize(
    "answer, detail",
    [
        pytest.param(
            httpx.Response(401, json={"error": "invalid_signature", "detail": "no match"}),
            "the chat reply URL answered 401: invalid_signature: no match",
            id="contract-error-body",
        ),
        pytest.param(
            httpx.Response(400, text="  Bad\n request  "),
            "the chat reply URL answered 400: Bad request",
            id="text-body",
        ),
        pytest.param(
            httpx.Response(404), "the chat reply URL answered 404: Not Found", id="no-body"
        ),
    ],
)
def test_permanent_errors_say_what_the_receiver_said(answer: httpx.Response, detail: str) -> None:
    with pytest.raises(Permanent) as raised:
        sender(Recorder(lambda request: answer)).send(reply())
    assert raised.value.detail == detail


def test_a_long_error_body_is_shortened() -> None:
    answer = httpx.Response(400, text="x" * 10_000)
    with pytest.raises(Permanent) as raised:
        sender(Recorder(lambda request: answer)).send(reply())
    assert len(raised.value.detail) < 400


TRANSPORT_ERRORS = [
    pytest.param(httpx.ConnectError, Retryable, id="connection-refused"),
    pytest.param(httpx.ConnectTimeout, Retryable, id="connect-timeout"),
    pytest.param(httpx.PoolTimeout, Retryable, id="pool-timeout"),
    pytest.param(httpx.ReadTimeout, OutcomeUnknown, id="read-timeout"),
    pytest.param(httpx.WriteTimeout, OutcomeUnknown, id="write-timeout"),
    pytest.param(httpx.ReadError, OutcomeUnknown, id="reset-after-sending"),
    pytest.param(httpx.RemoteProtocolError, OutcomeUnknown, id="disconnected-without-answer"),
    pytest.param(httpx.UnsupportedProtocol, Permanent, id="unsupported-protocol"),
]


@pytest.mark.parametrize("raised_by_transport, error", TRANSPORT_ERRORS)
def test_transport_errors(raised_by_transport: type[httpx.RequestError], error: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised_by_transport("injected", request=request)

    with pytest.raises(error) as raised:
        sender(handler).send(reply())
    assert type(raised.value) is error
    assert raised.value.status is None


def test_a_url_without_a_scheme_is_permanent() -> None:
    replies = ChatReplySender("chat.example.com/hooks", CHAT_SECRET)
    with pytest.raises(Permanent):
        replies.send(reply())
