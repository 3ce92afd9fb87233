"""The reply sender against the chat receiver emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support import CHAT_SECRET, OTHER_SECRET
from ticketsync.adapters.chat.replies import ChatReplySender, reply_webhook_id
from ticketsync.adapters.ports import OutcomeUnknown, Permanent, RateLimited, Retryable
from ticketsync.events.commands import SendReply

from .chat_receiver import DEFAULT_PATH, ChatReceiver, serve


def reply(comment_id: str = "90001", **changes: Any) -> SendReply:
    fields: dict[str, Any] = {
        "conversation_id": "conv_42",
        "system": "zendesk",
        "ticket_id": "4711",
        "comment_id": comment_id,
        "author_name": "Avery Agent",
        "body": "We refunded the double charge.",
        "sent_at": datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    }
    return SendReply(**{**fields, **changes})


@pytest.fixture
def receiver() -> ChatReceiver:
    return ChatReceiver(secret=CHAT_SECRET)


@pytest.fixture
def url(receiver: ChatReceiver) -> Iterator[str]:
    with serve(receiver) as endpoint:
        yield endpoint


@pytest.fixture
def replies(url: str) -> Iterator[ChatReplySender]:
    with ChatReplySender(url, CHAT_SECRET, timeout=5) as sender:
        yield sender


def outcomes(receiver: ChatReceiver) -> list[tuple[int, str]]:
    return [(attempt.status, attempt.outcome) for attempt in receiver.attempts()]


def test_serve_yields_the_endpoint_url(url: str) -> None:
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith(DEFAULT_PATH)


def test_a_reply_is_delivered(receiver: ChatReceiver, replies: ChatReplySender) -> None:
    replies.send(reply())
    (delivery,) = receiver.deliveries()
    assert delivery.webhook_id == reply_webhook_id(reply()) == "reply-zendesk-4711-90001"
    assert delivery.json == {
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
    assert delivery.headers["content-type"] == "application/json"
    assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 60
    assert outcomes(receiver) == [(202, "accepted")]


def test_replies_to_two_comments_are_two_deliveries(
    receiver: ChatReceiver, replies: ChatReplySender
) -> None:
    replies.send(reply("90001"))
    replies.send(reply("90002", body="Anything else?"))
    assert [d.webhook_id for d in receiver.deliveries()] == [
        "reply-zendesk-4711-90001",
        "reply-zendesk-4711-90002",
    ]


def test_failing_twice_then_accepting(receiver: ChatReceiver, replies: ChatReplySender) -> None:
    receiver.fail_next(2, status=503, retry_after=3)
    for _ in range(2):
        with pytest.raises(Retryable) as raised:
            replies.send(reply())
        assert (raised.value.status, raised.value.retry_after) == (503, 3.0)
    replies.send(reply())
    assert len(receiver.deliveries()) == 1
    assert outcomes(receiver) == [(503, "injected"), (503, "injected"), (202, "accepted")]
    ids = {attempt.webhook_id for attempt in receiver.attempts()}
    assert ids == {"reply-zendesk-4711-90001"}


def test_a_rate_limit_says_when_to_come_back(
    receiver: ChatReceiver, replies: ChatReplySender
) -> None:
    receiver.fail_next(status=429, retry_after=12)
    with pytest.raises(RateLimited) as raised:
        replies.send(reply())
    assert raised.value.retry_after == 12.0
    assert receiver.deliveries() == []


def test_a_resend_is_recorded_once(receiver: ChatReceiver, replies: ChatReplySender) -> None:
    replies.send(reply())
    replies.send(reply())  # The outbox resending after an unknown outcome, say.
    assert len(receiver.deliveries()) == 1
    assert outcomes(receiver) == [(202, "accepted"), (200, "duplicate")]


def test_an_unanswered_delivery_is_resent_safely(receiver: ChatReceiver, url: str) -> None:
    receiver.drop_after_commit()
    with ChatReplySender(url, CHAT_SECRET, timeout=0.5) as replies:
        with pytest.raises(OutcomeUnknown):
            replies.send(reply())
        replies.send(reply())
    assert len(receiver.deliveries()) == 1
    assert outcomes(receiver) == [(202, "withheld"), (200, "duplicate")]


def test_a_wrong_secret_is_refused_and_permanent(receiver: ChatReceiver, url: str) -> None:
    with (
        ChatReplySender(url, OTHER_SECRET, timeout=5) as replies,
        pytest.raises(Permanent) as raised,
    ):
        replies.send(reply())
    assert raised.value.status == 401
    assert "invalid_signature" in raised.value.detail
    assert receiver.deliveries() == []
    assert outcomes(receiver) == [(401, "invalid_signature")]


def test_nothing_listening_is_retryable_and_not_sent() -> None:
    with serve(ChatReceiver(secret=CHAT_SECRET)) as url:
        pass  # The port is closed again once serve() returns.
    with (
        ChatReplySender(url, CHAT_SECRET, timeout=2) as replies,
        pytest.raises(Retryable) as raised,
    ):
        replies.send(reply())
    assert type(raised.value) is Retryable


# ---------------------------------------------------------------------- the receiver alone


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=5)


def reference_signed(body: bytes, webhook_id: str = "msg_1") -> dict[str, str]:
    """Headers signed by the standardwebhooks package itself, not by ticketsync's code."""
    now = datetime.now(UTC)
    signature = Webhook(CHAT_SECRET).sign(webhook_id, now, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def test_same_id_with_another_body_is_a_conflict(receiver: ChatReceiver, url: str) -> None:
    first = orjson.dumps({"type": "agent.replied", "data": {"body": "a"}})
    second = orjson.dumps({"type": "agent.replied", "data": {"body": "b"}})
    assert post(url, first, reference_signed(first)).status_code == 202
    same = b'{"data": {"body": "a"}, "type": "agent.replied"}'  # Other spacing and key order.
    assert post(url, same, reference_signed(same)).status_code == 200
    answer = post(url, second, reference_signed(second))
    assert answer.status_code == 409
    assert answer.json()["error"] == "conflict"
    assert [d.json for d in receiver.deliveries()] == [orjson.loads(first)]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-headers"),
        pytest.param({"webhook-signature": "v1,not base64!"}, id="bad-base64"),
        pytest.param({"webhook-signature": "garbage"}, id="no-version"),
        pytest.param({"webhook-timestamp": str(int(time.time()) - 3600)}, id="stale"),
    ],
)
def test_bad_signatures_are_401(receiver: ChatReceiver, url: str, headers: dict[str, str]) -> None:
    body = b'{"type": "agent.replied"}'
    signed = reference_signed(body) if headers else {"content-type": "application/json"}
    answer = post(url, body, {**signed, **headers})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_signature"
    assert receiver.deliveries() == []
    assert len(receiver.attempts()) == 1


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        pytest.param(b"[1, 2]", "application/json", 400, id="not-an-object"),
        pytest.param(b"{not json", "application/json", 400, id="not-json"),
        pytest.param(b'{"a": 1}', "text/plain", 415, id="not-json-content"),
    ],
)
def test_signed_but_unusable_bodies(
    receiver: ChatReceiver, url: str, body: bytes, content_type: str, status: int
) -> None:
    headers = {**reference_signed(body), "content-type": content_type}
    assert post(url, body, headers).status_code == status
    assert receiver.deliveries() == []


def test_other_paths_are_not_deliveries(receiver: ChatReceiver, url: str) -> None:
    body = b"{}"
    assert post(url.removesuffix(DEFAULT_PATH) + "/elsewhere", body, {}).status_code == 404
    assert receiver.attempts() == []


def test_clear_faults(receiver: ChatReceiver, replies: ChatReplySender) -> None:
    receiver.fail_next(5)
    receiver.drop_after_commit()
    receiver.clear_faults()
    replies.send(reply())
    assert outcomes(receiver) == [(202, "accepted")]
