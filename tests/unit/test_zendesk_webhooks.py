"""Zendesk webhook signatures and payloads (event subscriptions and trigger bodies)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.datastructures import Headers

from tests.support import with_members
from ticketsync.adapters.zendesk import signature as zendesk_signature
from ticketsync.adapters.zendesk import trigger as zendesk_trigger
from ticketsync.adapters.zendesk import webhooks as zw
from ticketsync.events.errors import Refused
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketChangeNoticed,
    TicketCommentAdded,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.service.http.errors import STATUS as ANSWERED

ROOT = Path(__file__).resolve().parents[2]
# Zendesk's fixed secret for test requests sent before a webhook is saved. It looks like
# base64 ("this_secret_is_for_testing_only") but is the key as text.
TEST_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
OTHER_SECRET = "rotated-secret-2026"
STAMP = "2026-11-25T10:00:00Z"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp()
BODY = b'{"type":"zen:event-type:ticket.status_changed"}'


def hmac_b64(key: bytes, message: bytes) -> str:
    """Computed here, independently of the adapter."""
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def signed(body: bytes = BODY, timestamp: str = STAMP, secret: str = TEST_SECRET) -> dict[str, str]:
    return {
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": hmac_b64(secret.encode(), timestamp.encode() + body),
    }


def refused(call: Any, *args: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------- signatures

VECTORS = [
    pytest.param(
        "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=",
        "2021-07-25T10:00:00Z",
        b'{"say": "hello"}',
        "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=",
        id="reference-timestamp-then-body",
    ),
    pytest.param(
        TEST_SECRET,
        STAMP,
        BODY,
        hmac_b64(TEST_SECRET.encode("utf-8"), STAMP.encode() + BODY),
        id="zendesk-test-secret-as-text",
    ),
    pytest.param(
        TEST_SECRET,
        "2021-03-25T05:09:27Z",
        b"",
        hmac_b64(TEST_SECRET.encode("utf-8"), b"2021-03-25T05:09:27Z"),
        id="empty-body",
    ),
    pytest.param(
        "s3cr\u00e9t",
        STAMP,
        '{"body": "caf\u00e9"}'.encode(),
        hmac_b64("s3cr\u00e9t".encode(), STAMP.encode() + '{"body": "caf\u00e9"}'.encode()),
        id="utf8-secret-and-body",
    ),
]


@pytest.mark.parametrize("secret, timestamp, body, signature", VECTORS)
def test_signature_vectors(secret: str, timestamp: str, body: bytes, signature: str) -> None:
    assert zendesk_signature.sign(secret, timestamp, body) == signature
    now = datetime.fromisoformat(timestamp).timestamp()
    headers = {
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }
    assert zendesk_signature.verify(body, headers, [secret], now) is None


def test_old_body_then_timestamp_vector_is_refused() -> None:
    # reference/zendesk.md §1 TRAP: an old doc page signed body + timestamp.
    headers = {
        "X-Zendesk-Webhook-Signature": "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=",
        "X-Zendesk-Webhook-Signature-Timestamp": "2021-07-25T10:00:00Z",
    }
    now = datetime(2021, 7, 25, 10, 0, tzinfo=UTC).timestamp()
    error = refused(
        zendesk_signature.verify,
        b'{"say": "hello"}',
        headers,
        ["HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="],
        now,
    )
    assert (ANSWERED[error.code], error.code) == (401, "invalid_signature")


def test_secret_is_not_base64_decoded() -> None:
    decoded_key = base64.b64decode(TEST_SECRET)
    headers = {
        "X-Zendesk-Webhook-Signature": hmac_b64(decoded_key, STAMP.encode() + BODY),
        "X-Zendesk-Webhook-Signature-Timestamp": STAMP,
    }
    assert (
        refused(zendesk_signature.verify, BODY, headers, [TEST_SECRET], NOW).code
        == "invalid_signature"
    )


def test_signed_headers_verify() -> None:
    headers = zendesk_signature.signed_headers(TEST_SECRET, BODY, NOW + 0.9, invocation_id="inv-1")
    assert headers["X-Zendesk-Webhook-Signature-Timestamp"] == STAMP
    assert headers["X-Zendesk-Webhook-Invocation-Id"] == "inv-1"
    zendesk_signature.verify(BODY, headers, [TEST_SECRET], NOW)


ROTATIONS = [
    pytest.param([TEST_SECRET], TEST_SECRET, id="only"),
    pytest.param([OTHER_SECRET, TEST_SECRET], TEST_SECRET, id="second-of-two"),
    pytest.param([TEST_SECRET, OTHER_SECRET], OTHER_SECRET, id="new-after-old"),
    pytest.param(["", OTHER_SECRET], OTHER_SECRET, id="blank-entry-skipped"),
    pytest.param(TEST_SECRET, TEST_SECRET, id="bare-string-is-one-secret"),
]


@pytest.mark.parametrize("secrets, signing_secret", ROTATIONS)
def test_any_configured_secret_may_match(secrets: Any, signing_secret: str) -> None:
    zendesk_signature.verify(BODY, signed(secret=signing_secret), secrets, NOW)


WRONG_SECRETS = [
    pytest.param([OTHER_SECRET], TEST_SECRET, id="not-configured"),
    pytest.param([], TEST_SECRET, id="none-configured"),
    pytest.param([""], "", id="empty-key-never-matches"),
    pytest.param(TEST_SECRET, TEST_SECRET[0], id="bare-string-not-split-into-characters"),
]


@pytest.mark.parametrize("secrets, signing_secret", WRONG_SECRETS)
def test_unknown_secret_is_refused(secrets: Any, signing_secret: str) -> None:
    error = refused(zendesk_signature.verify, BODY, signed(secret=signing_secret), secrets, NOW)
    assert (ANSWERED[error.code], error.code) == (401, "invalid_signature")


def test_every_secret_is_tried_whichever_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_new, real_compare = hmac.new, hmac.compare_digest

    def counting_new(*args: Any, **kwargs: Any) -> Any:
        calls.append("hmac")
        return real_new(*args, **kwargs)

    def counting_compare(a: Any, b: Any) -> bool:
        calls.append("compare")
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "new", counting_new)
    monkeypatch.setattr(hmac, "compare_digest", counting_compare)
    secrets = [TEST_SECRET, OTHER_SECRET, "third"]
    traces = []
    for signing_secret in secrets:
        headers = signed(secret=signing_secret)
        calls.clear()
        zendesk_signature.verify(BODY, headers, secrets, NOW)
        traces.append(list(calls))
    assert traces == [["hmac", "compare"] * 3] * 3


@pytest.mark.parametrize("skew", [-300, -1, 0, 1, 300])
def test_timestamps_within_300_seconds_pass(skew: int) -> None:
    zendesk_signature.verify(BODY, signed(), [TEST_SECRET], NOW + skew)


@pytest.mark.parametrize("skew", [-301, 301, 86_400], ids=["future", "stale", "a-day-old"])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    # `now` minus skew: a negative skew puts the signing time ahead of the server clock.
    error = refused(zendesk_signature.verify, BODY, signed(), [TEST_SECRET], NOW + skew)
    assert (ANSWERED[error.code], error.code) == (401, "stale_timestamp")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({k.lower(): v for k, v in signed().items()}, id="lower-case"),
        pytest.param({k.upper(): v for k, v in signed().items()}, id="upper-case"),
        pytest.param(Headers(signed()), id="starlette-headers"),
    ],
)
def test_header_names_are_case_insensitive(headers: Any) -> None:
    zendesk_signature.verify(BODY, headers, [TEST_SECRET], NOW)


def test_fractional_or_offset_timestamps_are_signed_as_sent() -> None:
    for stamp in ("2026-11-25T10:00:00.250Z", "2026-11-25T11:00:00+01:00"):
        zendesk_signature.verify(BODY, signed(timestamp=stamp), [TEST_SECRET], NOW)


SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"

SIG_FIELD, STAMP_FIELD = zendesk_signature.SIGNATURE_HEADER, zendesk_signature.TIMESTAMP_HEADER

# (change to the headers, error code, the header `field` names or None)
REFUSALS = [
    pytest.param({SIGNATURE: None}, "missing_signature", SIG_FIELD, id="no-signature"),
    pytest.param({TIMESTAMP: None}, "missing_signature", STAMP_FIELD, id="no-timestamp"),
    pytest.param({SIGNATURE: None, TIMESTAMP: None}, "missing_signature", None, id="no-headers"),
    pytest.param({SIGNATURE: ""}, "missing_signature", SIG_FIELD, id="empty-signature"),
    pytest.param({TIMESTAMP: "1795600800"}, "malformed_timestamp", STAMP_FIELD, id="epoch-seconds"),
    pytest.param(
        {TIMESTAMP: "2026-11-25T10:00:00"}, "malformed_timestamp", STAMP_FIELD, id="no-zone"
    ),
    pytest.param(
        {TIMESTAMP: "2026-11-25 10:00:00Z"}, "malformed_timestamp", STAMP_FIELD, id="space"
    ),
    pytest.param(
        {TIMESTAMP: "2026-13-25T10:00:00Z"}, "malformed_timestamp", STAMP_FIELD, id="month-13"
    ),
    pytest.param({TIMESTAMP: "2026-11-25"}, "malformed_timestamp", STAMP_FIELD, id="date-only"),
    pytest.param({TIMESTAMP: "yesterday"}, "malformed_timestamp", STAMP_FIELD, id="words"),
    pytest.param({SIGNATURE: "not base64!"}, "malformed_signature", SIG_FIELD, id="not-base64"),
    pytest.param({SIGNATURE: "AAAA"}, "malformed_signature", SIG_FIELD, id="signature-too-short"),
    pytest.param(
        {SIGNATURE: hashlib.sha256(b"x").hexdigest()},
        "malformed_signature",
        SIG_FIELD,
        id="hex-digest",
    ),
    pytest.param({SIGNATURE: "A" * 4000}, "malformed_signature", SIG_FIELD, id="signature-huge"),
    pytest.param(
        {SIGNATURE: base64.b64encode(bytes(32)).decode()},
        "invalid_signature",
        None,
        id="wrong-signature",
    ),
    pytest.param(
        {TIMESTAMP: "2026-11-25T10:00:00+00:00"},
        "invalid_signature",
        None,
        id="same-instant-other-text",
    ),
]


@pytest.mark.parametrize("change, code, field", REFUSALS)
def test_refusals(change: dict[str, str | None], code: str, field: str | None) -> None:
    sent = signed()
    for name, value in change.items():
        if value is None:
            del sent[name]
        else:
            sent[name] = value
    error = refused(zendesk_signature.verify, BODY, sent, [TEST_SECRET], NOW)
    assert (ANSWERED[error.code], error.code, error.field) == (401, code, field)


@pytest.mark.parametrize("secrets", [(), ("",)], ids=["none", "empty"])
def test_no_configured_secret_says_so(secrets: tuple[str, ...]) -> None:
    error = refused(zendesk_signature.verify, BODY, signed(), secrets, NOW)
    assert (ANSWERED[error.code], error.code) == (401, "invalid_signature")
    assert "no Zendesk webhook secret is configured" in error.detail
    assert "TICKETSYNC_ZENDESK_WEBHOOK_SECRET" in error.detail


def test_changed_body_is_refused() -> None:
    error = refused(zendesk_signature.verify, BODY + b" ", signed(), [TEST_SECRET], NOW)
    assert error.code == "invalid_signature"


# ---------------------------------------------------------------- event subscriptions

EVENT_ID = "01JDQ8W5Y3S9K7H2M4N6P8R0TV"
AT = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)


def subscription(kind: str, event: Any, **detail: Any) -> dict[str, Any]:
    """A payload shaped like Zendesk's: string ids, UPPER-case enums, nanosecond time."""
    return {
        "account_id": 12345678,
        "detail": {
            "actor_id": "900123",
            "assignee_id": "366001",
            "brand_id": "360000001",
            "created_at": "2026-11-25T09:58:12Z",
            "custom_status": "18213093",
            "description": "My invoice is wrong",
            "external_id": "conv_42",
            "form_id": "360000002",
            "group_id": "360005555",
            "id": "5158",
            "is_public": True,
            "organization_id": None,
            "priority": "HIGH",
            "requester_id": "900456",
            "status": "OPEN",
            "subject": "[billing_problem] Invoice",
            "submitter_id": "900789",
            "tags": ["billing", "urgent"],
            "type": "INCIDENT",
            "updated_at": "2026-11-25T10:00:00Z",
            "via": {"channel": "web_service"},
            **detail,
        },
        "event": event,
        "id": EVENT_ID,
        "subject": "zen:ticket:5158",
        "time": "2026-11-25T10:00:00.123456789Z",
        "type": f"zen:event-type:ticket.{kind}",
        "zendesk_event_version": "2022-11-06",
    }


def comment(**changes: Any) -> dict[str, Any]:
    value = {
        "id": "54509363035291",
        "body": "Your refund is on its way.",
        "html_body": "<p>Your refund is on its way.</p>",
        "is_public": True,
        "author": {"id": "366001", "is_staff": True, "name": "Ana Agent"},
    }
    return {"comment": {**value, **changes}}


def ticket_event(cls: type, **fields: Any) -> Any:
    defaults: dict[str, Any] = {
        "system": "zendesk",
        "ticket_id": "5158",
        "external_id": "conv_42",
        "occurred_at": AT,
    }
    if cls is not TicketCommentAdded:
        defaults["actor_id"] = "900123"
    return cls(**{**defaults, **fields})


PARSED = [
    pytest.param(
        subscription("comment_added", comment()),
        ticket_event(
            TicketCommentAdded,
            comment_id="54509363035291",
            body="Your refund is on its way.",
            public=True,
            author_id="366001",
            author_name="Ana Agent",
            author_is_agent=True,
        ),
        id="agent-public-reply",
    ),
    pytest.param(
        subscription(
            "comment_added",
            comment(
                id=54509451282203,
                body="Customer sounds upset",
                is_public=False,
                author={"id": 366001, "is_staff": True, "name": None},
            ),
        ),
        ticket_event(
            TicketCommentAdded,
            comment_id="54509451282203",
            body="Customer sounds upset",
            public=False,
            author_id="366001",
            author_name=None,
            author_is_agent=True,
        ),
        id="internal-note-numeric-ids",
    ),
    pytest.param(
        subscription(
            "comment_added",
            comment(body="Thanks!", author={"id": "900456", "is_staff": False, "name": "Cy"}),
        ),
        ticket_event(
            TicketCommentAdded,
            comment_id="54509363035291",
            body="Thanks!",
            public=True,
            author_id="900456",
            author_name="Cy",
            author_is_agent=False,
        ),
        id="requester-comment",
    ),
    pytest.param(
        subscription("status_changed", {"current": "SOLVED", "previous": "OPEN"}),
        ticket_event(TicketStatusChanged, status="solved", previous="open"),
        id="status-solved",
    ),
    pytest.param(
        subscription("status_changed", {"current": "PENDING", "previous": None}),
        ticket_event(TicketStatusChanged, status="pending", previous=None),
        id="status-no-previous",
    ),
    pytest.param(
        subscription("status_changed", {"current": "HOLD", "previous": "NEW"}),
        ticket_event(TicketStatusChanged, status="hold", previous="new"),
        id="status-hold",
    ),
    pytest.param(
        subscription("status_changed", {"current": "CLOSED", "previous": "SOLVED"}),
        ticket_event(TicketStatusChanged, status="closed", previous="solved"),
        id="status-closed",
    ),
    pytest.param(
        subscription("priority_changed", {"current": "NORMAL", "previous": "HIGH"}),
        ticket_event(TicketPriorityChanged, priority="medium"),
        id="priority-normal-is-medium",
    ),
    pytest.param(
        subscription("priority_changed", {"current": "URGENT", "previous": "LOW"}),
        ticket_event(TicketPriorityChanged, priority="urgent"),
        id="priority-urgent",
    ),
    pytest.param(
        subscription("priority_changed", {"current": None, "previous": "LOW"}),
        ticket_event(TicketPriorityChanged, priority=None),
        id="priority-removed",
    ),
    pytest.param(
        subscription("group_assignment_changed", {"current": "360005555", "previous": None}),
        ticket_event(TicketGroupChanged, group_id="360005555", group=None),
        id="group",
    ),
    pytest.param(
        subscription("group_assignment_changed", {"current": None, "previous": 360005555}),
        ticket_event(TicketGroupChanged, group_id=None, group=None),
        id="group-removed",
    ),
    pytest.param(
        subscription("agent_assignment_changed", {"current": 366002, "previous": "366001"}),
        ticket_event(TicketAssigneeChanged, assignee_id="366002", assignee=None),
        id="assignee-numeric",
    ),
    pytest.param(
        subscription(
            "status_changed",
            {"current": "OPEN", "previous": "PENDING"},
            id=5158,
            actor_id=900123,
            external_id=None,
        ),
        ticket_event(TicketStatusChanged, status="open", previous="pending", external_id=None),
        id="numeric-detail-ids-no-external-id",
    ),
    pytest.param(
        subscription("status_changed", {"current": "OPEN"}, actor_id="-1", external_id=""),
        ticket_event(
            TicketStatusChanged, status="open", previous=None, actor_id="-1", external_id=None
        ),
        id="system-actor-blank-external-id",
    ),
]


@pytest.mark.parametrize("payload, expected", PARSED)
def test_parse_subscription_events(payload: dict[str, Any], expected: Any) -> None:
    delivery = zw.parse(orjson.dumps(payload), {})
    assert delivery.event == expected
    assert delivery.delivery_id == EVENT_ID
    assert delivery.type == payload["type"]
    assert delivery.occurred_at == AT
    assert delivery.ticket_id == "5158"
    assert delivery.external_id == expected.external_id
    assert delivery.data == payload


IGNORED = [
    pytest.param(
        subscription("tags_changed", {"added": ["vip"], "removed": []}), "5158", "conv_42"
    ),
    pytest.param(subscription("created", {}), "5158", "conv_42", id="ticket-created"),
    pytest.param(subscription("custom_status_changed", "not even an object"), "5158", "conv_42"),
    pytest.param(
        {
            "account_id": 1,
            "detail": {"id": "77", "external_id": "crm-77", "email": "a@b.c"},
            "event": {},
            "id": "01JDQ8W5Y3S9K7H2M4N6P8R0TX",
            "subject": "zen:user:77",
            "time": "2026-11-25T10:00:00.123456789Z",
            "type": "zen:event-type:user.created",
            "zendesk_event_version": "2022-11-06",
        },
        None,
        None,
        id="user-event",
    ),
]


@pytest.mark.parametrize("payload, ticket_id, external_id", IGNORED)
def test_other_types_are_well_formed_without_event(
    payload: dict[str, Any], ticket_id: str | None, external_id: str | None
) -> None:
    delivery = zw.parse(orjson.dumps(payload), {})
    assert delivery.event is None
    assert (delivery.ticket_id, delivery.external_id) == (ticket_id, external_id)
    assert delivery.delivery_id == payload["id"]
    assert delivery.data == payload


def without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    copy = orjson.loads(orjson.dumps(payload))
    target = copy
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copy


def replaced(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    copy = orjson.loads(orjson.dumps(payload))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


STATUS = subscription("status_changed", {"current": "SOLVED", "previous": "OPEN"})
COMMENT = subscription("comment_added", comment())

BAD_SUBSCRIPTIONS = [
    pytest.param(b"{not json", 400, "invalid_json", None, id="not-json"),
    pytest.param(b"", 400, "invalid_json", None, id="empty-body"),
    pytest.param(b"[1]", 400, "invalid_payload", None, id="array"),
    pytest.param(without(STATUS, "id"), 400, "invalid_payload", "id", id="no-id"),
    pytest.param(replaced(STATUS, 42, "id"), 400, "invalid_payload", "id", id="id-number"),
    pytest.param(replaced(STATUS, "", "id"), 400, "invalid_payload", "id", id="id-empty"),
    pytest.param(without(STATUS, "type"), 400, "invalid_payload", "type", id="no-type"),
    pytest.param(replaced(STATUS, 7, "type"), 400, "invalid_payload", "type", id="type-number"),
    pytest.param(without(STATUS, "time"), 400, "invalid_payload", "time", id="no-time"),
    pytest.param(
        replaced(STATUS, 1795600800, "time"), 400, "invalid_payload", "time", id="time-epoch"
    ),
    pytest.param(
        replaced(STATUS, "last tuesday", "time"), 400, "invalid_payload", "time", id="time-words"
    ),
    pytest.param(without(STATUS, "detail"), 400, "invalid_payload", "detail", id="no-detail"),
    pytest.param(
        replaced(STATUS, [], "detail"), 400, "invalid_payload", "detail", id="detail-list"
    ),
    pytest.param(
        without(STATUS, "detail", "id"), 400, "invalid_payload", "detail.id", id="no-detail-id"
    ),
    pytest.param(
        replaced(STATUS, True, "detail", "id"),
        400,
        "invalid_payload",
        "detail.id",
        id="detail-id-bool",
    ),
    pytest.param(
        replaced(STATUS, 51.5, "detail", "id"),
        400,
        "invalid_payload",
        "detail.id",
        id="detail-id-float",
    ),
    pytest.param(without(STATUS, "event"), 422, "invalid_data", "event", id="no-event"),
    pytest.param(
        replaced(STATUS, "SOLVED", "event"), 422, "invalid_data", "event", id="event-string"
    ),
    pytest.param(
        replaced(STATUS, "REOPENED", "event", "current"),
        422,
        "invalid_data",
        "event.current",
        id="unknown-status",
    ),
    pytest.param(
        without(STATUS, "event", "current"),
        422,
        "invalid_data",
        "event.current",
        id="no-current-status",
    ),
    pytest.param(
        replaced(STATUS, 3, "event", "previous"),
        422,
        "invalid_data",
        "event.previous",
        id="previous-status-number",
    ),
    pytest.param(
        subscription("priority_changed", {"current": "CRITICAL"}),
        422,
        "invalid_data",
        "event.current",
        id="unknown-priority",
    ),
    pytest.param(
        subscription("group_assignment_changed", {"current": ["360005555"]}),
        422,
        "invalid_data",
        "event.current",
        id="group-list",
    ),
    pytest.param(
        subscription("agent_assignment_changed", {"current": {"id": 1}}),
        422,
        "invalid_data",
        "event.current",
        id="assignee-object",
    ),
    pytest.param(
        replaced(STATUS, 5.5, "detail", "external_id"),
        422,
        "invalid_data",
        "detail.external_id",
        id="external-id-float",
    ),
    pytest.param(
        replaced(STATUS, {}, "detail", "actor_id"),
        422,
        "invalid_data",
        "detail.actor_id",
        id="actor-id-object",
    ),
    pytest.param(
        without(COMMENT, "event", "comment"),
        422,
        "invalid_data",
        "event.comment",
        id="no-comment",
    ),
    pytest.param(
        without(COMMENT, "event", "comment", "id"),
        422,
        "invalid_data",
        "event.comment.id",
        id="no-comment-id",
    ),
    pytest.param(
        replaced(COMMENT, None, "event", "comment", "body"),
        422,
        "invalid_data",
        "event.comment.body",
        id="comment-body-null",
    ),
    pytest.param(
        replaced(COMMENT, "true", "event", "comment", "is_public"),
        422,
        "invalid_data",
        "event.comment.is_public",
        id="is-public-string",
    ),
    pytest.param(
        without(COMMENT, "event", "comment", "author"),
        422,
        "invalid_data",
        "event.comment.author",
        id="no-author",
    ),
    pytest.param(
        without(COMMENT, "event", "comment", "author", "is_staff"),
        422,
        "invalid_data",
        "event.comment.author.is_staff",
        id="no-is-staff",
    ),
    pytest.param(
        replaced(COMMENT, 7, "event", "comment", "author", "name"),
        422,
        "invalid_data",
        "event.comment.author.name",
        id="author-name-number",
    ),
]


@pytest.mark.parametrize("payload, status, code, field", BAD_SUBSCRIPTIONS)
def test_bad_subscription_payloads(payload: Any, status: int, code: str, field: str | None) -> None:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    error = refused(zw.parse, raw, {})
    assert (ANSWERED[error.code], error.code, error.field) == (status, code, field)


STATUS_BODY = orjson.dumps(STATUS)
REPEATED = [
    pytest.param(with_members(STATUS_BODY, b"{", b'"id":"01OTHER",'), "id", id="top-level"),
    pytest.param(
        with_members(STATUS_BODY, b'"detail":{', b'"external_id":"conv_other",'),
        "detail.external_id",
        id="nested",
    ),
    pytest.param(
        with_members(STATUS_BODY, b'"detail":{', b'"x":[{"k":1,"k":2}],'),
        "detail.x[0].k",
        id="in-a-list",
    ),
    pytest.param(
        with_members(STATUS_BODY, b'"event":{', b'"\\u0063urrent":"OPEN",'),
        "event.current",
        id="escaped",
    ),
]


@pytest.mark.parametrize("raw, field", REPEATED)
def test_a_repeated_key_is_refused_naming_it(raw: bytes, field: str) -> None:
    error = refused(zw.parse, raw, {})
    assert (ANSWERED[error.code], error.code, error.field) == (400, "invalid_json", field)
    assert repr(field.rpartition(".")[2].partition("[")[0]) in error.detail


def test_a_stored_delivery_that_repeats_a_key_is_read_as_it_was_accepted() -> None:
    raw = with_members(STATUS_BODY, b'"event":{', b'"current":"OPEN",').decode()
    event = zw.parse_stored(raw, "evt_1", datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    assert isinstance(event, TicketStatusChanged)
    assert event.status == "solved"  # orjson's reading: the last of the two


def test_naive_time_is_taken_as_utc() -> None:
    payload = replaced(STATUS, "2026-11-25T10:00:00.123456", "time")
    assert zw.parse(orjson.dumps(payload), {}).occurred_at == AT


# ---------------------------------------------------------------- trigger bodies

PLACEHOLDER = re.compile(r"\{\{([a-z_.]+)\}\}")
INVOCATION = "8350205582"
RENDERED = {
    "ticket.id": "5158",
    "ticket.external_id": "conv_42",
    "ticket.updated_at_with_timestamp": "2026-11-25T10:00Z",
    "ticket.latest_comment.id": "54509363035291",
}
TRIGGER_AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

# The body published before (trigger/1): the comment's text, author and role and the
# ticket's fields, rendered in. Deliveries of it are still accepted, as notices.
TRIGGER_1 = """\
{
  "ticketsync": "trigger/1",
  "ticket_id": "{{ticket.id}}",
  "external_id": "{{ticket.external_id}}",
  "updated_at": "{{ticket.updated_at_with_timestamp}}",
  "actor_id": "{{current_user.id}}",
  "status": "{{ticket.status}}",
  "priority": "{{ticket.priority}}",
  "group": "{{ticket.group.name}}",
  "assignee_id": "{{ticket.assignee.id}}",
  "assignee": "{{ticket.assignee.name}}",
  "comment": {
    "id": "{{ticket.latest_comment.id}}",
    "body": "{{ticket.latest_comment.value}}",
    "public": "{{ticket.latest_comment.is_public}}",
    "author_id": "{{ticket.latest_comment.author.id}}",
    "author_name": "{{ticket.latest_comment.author.name}}",
    "author_role": "{{current_user.role}}"
  }
}
"""
RENDERED_1 = {
    **RENDERED,
    "current_user.id": "900456",
    "ticket.status": "Open",
    "ticket.priority": "Normal",
    "ticket.group.name": "Billing Team",
    "ticket.assignee.id": "366001",
    "ticket.assignee.name": "Ana Agent",
    "ticket.latest_comment.value": 'Still broken: "RF-1"\nAny news?',
    "ticket.latest_comment.is_public": "true",
    "ticket.latest_comment.author.id": "900456",
    "ticket.latest_comment.author.name": "Cy Customer",
    "current_user.role": "End-user",
}
# A customer's comment that closes its string when Zendesk pastes it in unescaped: the body
# goes on to name another ticket, conversation and comment, and an agent as the author.
CRAFTED = (
    'thanks", "public": "true", "author_id": "366001", "author_name": "Ana Agent",'
    ' "author_role": "Agent"}, "ticket_id": "7001", "external_id": "conv_other",'
    ' "comment_x": {"id": "1", "body": "'
)


def render(
    template: str = zendesk_trigger.TRIGGER_BODY, *, escape: bool = True, **values: str
) -> bytes:
    """Fill the placeholders as Zendesk would: as text, escaped inside the JSON strings
    (or, with `escape=False`, pasted in as they are)."""
    rendered = RENDERED_1 if template is TRIGGER_1 else RENDERED
    given = {**rendered, **{name.replace("__", "."): value for name, value in values.items()}}

    def text(match: re.Match[str]) -> str:
        value = given.get(match[1], "")
        return orjson.dumps(value).decode()[1:-1] if escape else value

    return PLACEHOLDER.sub(text, template).encode()


def trigger_headers(invocation: str | None = INVOCATION) -> dict[str, str]:
    headers = {"X-Zendesk-Webhook-Signature-Timestamp": "2026-11-25T10:00:07Z"}
    if invocation is not None:
        headers["X-Zendesk-Webhook-Invocation-Id"] = invocation
    return headers


def test_trigger_body_carries_ids_only() -> None:
    # Nothing a person wrote is pasted into it, so nothing can close one of its strings.
    assert set(PLACEHOLDER.findall(zendesk_trigger.TRIGGER_BODY)) == set(RENDERED)
    assert orjson.loads(zendesk_trigger.TRIGGER_BODY)["ticketsync"] == "trigger/2"


def test_setup_page_shows_the_trigger_body() -> None:
    page = (ROOT / "docs" / "zendesk-webhooks.md").read_text(encoding="utf-8")
    assert zendesk_trigger.TRIGGER_BODY.strip() in page


def noticed(**fields: Any) -> TicketChangeNoticed:
    defaults: dict[str, Any] = {
        "system": "zendesk",
        "ticket_id": "5158",
        "comment_id": "54509363035291",
        "external_id": "conv_42",
        "occurred_at": TRIGGER_AT,
    }
    return TicketChangeNoticed(**{**defaults, **fields})


TRIGGERS = [
    pytest.param(render(), noticed(), id="notice"),
    pytest.param(
        render(ticket__external_id="", ticket__latest_comment__id=""),
        noticed(external_id=None, comment_id=None),
        id="notice-with-empty-placeholders",
    ),
    pytest.param(
        render(ticket__updated_at_with_timestamp=""),
        noticed(occurred_at=datetime(2026, 11, 25, 10, 0, 7, tzinfo=UTC)),
        id="no-updated-at-uses-signing-time",
    ),
    pytest.param(
        orjson.dumps(
            {
                "ticketsync": "trigger/2",
                "ticket_id": 5158,
                "external_id": "conv_42",
                "updated_at": "2026-11-25T10:00Z",
                "comment_id": 54509363035291,
            }
        ),
        noticed(),
        id="unquoted-numbers",
    ),
    # The body published before: a notice too, whatever its comment and fields say.
    pytest.param(render(TRIGGER_1), noticed(), id="trigger-1-comment-is-a-notice"),
    pytest.param(
        render(TRIGGER_1, current_user__role="Agent", ticket__latest_comment__value="Refunded"),
        noticed(),
        id="trigger-1-agent-role-is-not-believed",
    ),
    pytest.param(
        render(
            TRIGGER_1,
            ticket__latest_comment__is_public="yes",
            current_user__role="Agente",
            ticket__status="Geschlossen",
        ),
        noticed(),
        id="trigger-1-fields-are-not-read",
    ),
    pytest.param(
        orjson.dumps(
            {
                "ticketsync": "trigger/1",
                "ticket_id": "5158",
                "external_id": "conv_42",
                "updated_at": "2026-11-25T10:00Z",
                "status": "Open",
            }
        ),
        noticed(comment_id=None),
        id="trigger-1-status-body-is-a-notice",
    ),
]


@pytest.mark.parametrize("raw, expected", TRIGGERS)
def test_a_trigger_delivery_is_a_notice(raw: bytes, expected: TicketChangeNoticed) -> None:
    delivery = zw.parse(raw, trigger_headers())
    assert delivery.event == expected
    assert delivery.type == "trigger.ticket_changed"
    assert delivery.delivery_id == INVOCATION
    assert delivery.ticket_id == "5158"
    assert delivery.external_id == expected.external_id
    assert delivery.occurred_at == expected.occurred_at


def test_a_crafted_comment_pasted_unescaped_names_nothing_but_a_ticket() -> None:
    """The comment closes its string, and the body that results is valid JSON naming another
    ticket and conversation and an agent as the author. It repeats keys to do so, and is
    refused for that; read as a stored body is (the last key winning), all it would be
    believed for is that the ticket it names changed, which the projection reads from the
    API."""
    raw = render(TRIGGER_1, escape=False, ticket__latest_comment__value=CRAFTED)
    assert orjson.loads(raw)["comment"]["author_role"] == "Agent"  # what it claims
    assert trigger_refusal(raw).code == "invalid_json"
    event = zw.parse_stored(raw.decode(), INVOCATION, TRIGGER_AT)
    assert event == noticed(ticket_id="7001", external_id="conv_other")
    assert not isinstance(event, TicketCommentAdded)


def test_trigger_keeps_the_body_in_data_with_empty_placeholders_as_none() -> None:
    delivery = zw.parse(render(TRIGGER_1, ticket__group__name=""), trigger_headers())
    assert delivery.data["status"] == "Open"
    assert delivery.data["group"] is None
    assert delivery.data["comment"]["id"] == "54509363035291"


def test_invocation_header_name_is_case_insensitive() -> None:
    headers = {"x-zendesk-webhook-invocation-id": "inv-9"}
    assert zw.parse(render(), headers).delivery_id == "inv-9"
    assert zw.parse(render(), Headers({"X-Zendesk-Webhook-Invocation-Id": "inv-8"})).delivery_id


def test_a_stored_trigger_delivery_reads_back_as_its_notice() -> None:
    event = zw.parse_stored(render(TRIGGER_1).decode(), INVOCATION, TRIGGER_AT)
    assert event == noticed()


def trigger_refusal(raw: bytes, headers: dict[str, str] | None = None) -> Refused:
    return refused(zw.parse, raw, trigger_headers() if headers is None else headers)


BAD_TRIGGERS = [
    pytest.param(
        render(),
        trigger_headers(None),
        400,
        "invalid_payload",
        zendesk_signature.INVOCATION_HEADER,
        id="no-invocation-id",
    ),
    pytest.param(
        render(),
        trigger_headers(""),
        400,
        "invalid_payload",
        zendesk_signature.INVOCATION_HEADER,
        id="empty-invocation-id",
    ),
    pytest.param(
        render().replace(b"trigger/2", b"trigger/3"),
        None,
        400,
        "invalid_payload",
        "ticketsync",
        id="unknown-version",
    ),
    pytest.param(
        render(ticket__id=""), None, 400, "invalid_payload", "ticket_id", id="empty-ticket-id"
    ),
    pytest.param(
        render(ticket__updated_at_with_timestamp="Nov 25, 2026"),
        None,
        400,
        "invalid_payload",
        "updated_at",
        id="updated-at-not-iso",
    ),
    pytest.param(
        render(ticket__updated_at_with_timestamp=""),
        {zendesk_signature.INVOCATION_HEADER: INVOCATION},
        400,
        "invalid_payload",
        "updated_at",
        id="no-time-at-all",
    ),
    pytest.param(
        b'{"ticketsync": "trigger/2", "ticket_id": "5158", "updated_at": "2026-11-25T10:00Z",'
        b' "external_id": ["conv_42"]}',
        None,
        422,
        "invalid_data",
        "external_id",
        id="external-id-list",
    ),
]


@pytest.mark.parametrize("raw, headers, status, code, field", BAD_TRIGGERS)
def test_bad_trigger_bodies(
    raw: bytes, headers: dict[str, str] | None, status: int, code: str, field: str
) -> None:
    error = trigger_refusal(raw, headers)
    assert (ANSWERED[error.code], error.code, error.field) == (status, code, field)
