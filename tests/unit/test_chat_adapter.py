"""Standard Webhooks verification and chat payload parsing, as pure functions."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import standardwebhooks

from tests.support import CHAT_SECRET, OTHER_SECRET, message, with_members
from ticketsync.adapters.chat import signing
from ticketsync.adapters.chat import webhooks as chat
from ticketsync.events.chat import (
    ConversationStarted,
    Customer,
    IntentsDetected,
    MessageCreated,
    NoteAdded,
    ToolExecuted,
)
from ticketsync.events.errors import ConfigError, Refused
from ticketsync.service.http.errors import STATUS

NOW = 1_800_000_000
KEY = signing.decode_secret(CHAT_SECRET)
BODY = b'{"type":"message.created"}'


def headers(
    webhook_id: str = "evt_1", timestamp: int = NOW, secret: str = CHAT_SECRET, body: bytes = BODY
) -> dict[str, str]:
    return signing.signed_headers(secret, webhook_id, body, timestamp)


def test_signature_interoperates_with_the_reference_library() -> None:
    reference = standardwebhooks.Webhook(CHAT_SECRET)
    signature = reference.sign("evt_1", datetime.fromtimestamp(NOW, UTC), BODY.decode())
    assert signature == signing.sign(KEY, "evt_1", NOW, BODY)
    # And the reference accepts what we sign (it checks against the wall clock).
    import time

    now = int(time.time())
    ours = signing.signed_headers(CHAT_SECRET, "evt_2", BODY, now)
    assert reference.verify(BODY, ours) == {"type": "message.created"}


def test_valid_delivery_returns_its_id() -> None:
    assert signing.verify(BODY, headers(), [KEY], NOW) == "evt_1"


def test_any_configured_secret_may_match() -> None:
    other = signing.decode_secret(OTHER_SECRET)
    assert signing.verify(BODY, headers(secret=OTHER_SECRET), [KEY, other], NOW) == "evt_1"


def test_any_signature_entry_may_match() -> None:
    good = headers()
    wrong = headers(secret=OTHER_SECRET)
    both = {
        **good,
        "webhook-signature": f"{wrong['webhook-signature']} {good['webhook-signature']}",
    }
    assert signing.verify(BODY, both, [KEY], NOW) == "evt_1"


def test_other_signature_schemes_are_passed_over() -> None:
    good = headers()
    mixed = {**good, "webhook-signature": f"v1a,AAAA {good['webhook-signature']}"}
    assert signing.verify(BODY, mixed, [KEY], NOW) == "evt_1"


@pytest.mark.parametrize("skew", [-300, 300, 0])
def test_timestamps_within_300_seconds_pass(skew: int) -> None:
    assert signing.verify(BODY, headers(timestamp=NOW + skew), [KEY], NOW)


ID, TIMESTAMP, SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"

# (change to the headers, error code, the header `field` names or None)
REFUSALS = [
    pytest.param({ID: None}, "missing_signature", ID, id="no-webhook-id"),
    pytest.param({TIMESTAMP: None}, "missing_signature", TIMESTAMP, id="no-timestamp"),
    pytest.param({SIGNATURE: None}, "missing_signature", SIGNATURE, id="no-signature"),
    pytest.param({ID: None, SIGNATURE: None}, "missing_signature", None, id="two-missing"),
    pytest.param({TIMESTAMP: "soon"}, "malformed_timestamp", TIMESTAMP, id="timestamp-word"),
    pytest.param({TIMESTAMP: "1.8e9"}, "malformed_timestamp", TIMESTAMP, id="timestamp-float"),
    pytest.param({TIMESTAMP: "-1"}, "malformed_timestamp", TIMESTAMP, id="timestamp-negative"),
    pytest.param({SIGNATURE: "garbage"}, "malformed_signature", SIGNATURE, id="no-comma"),
    pytest.param({SIGNATURE: "v1,###"}, "malformed_signature", SIGNATURE, id="not-base64"),
    pytest.param(
        {SIGNATURE: " ".join(["v1,AAAA"] * 9)},
        "malformed_signature",
        SIGNATURE,
        id="too-many-entries",
    ),
    pytest.param({ID: "x" * 256}, "malformed_signature", ID, id="id-too-long"),
    pytest.param({ID: "evt\n1"}, "malformed_signature", ID, id="id-not-printable"),
    pytest.param({SIGNATURE: "v1,AAAA"}, "invalid_signature", None, id="wrong-signature"),
    pytest.param({SIGNATURE: "v2,AAAA"}, "invalid_signature", None, id="only-unknown-schemes"),
]


@pytest.mark.parametrize("change, code, field", REFUSALS)
def test_refusals(change: dict[str, str | None], code: str, field: str | None) -> None:
    sent = {**headers()}
    for name, value in change.items():
        if value is None:
            del sent[name]
        else:
            sent[name] = value
    with pytest.raises(Refused) as refused:
        signing.verify(BODY, sent, [KEY], NOW)
    assert (STATUS[refused.value.code], refused.value.code, refused.value.field) == (
        401,
        code,
        field,
    )


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    with pytest.raises(Refused) as refused:
        signing.verify(BODY, headers(timestamp=NOW + skew), [KEY], NOW)
    assert (STATUS[refused.value.code], refused.value.code) == (401, "stale_timestamp")
    assert refused.value.field == "webhook-timestamp"


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(Refused) as refused:
        signing.verify(BODY, headers(secret=OTHER_SECRET), [KEY], NOW)
    assert refused.value.code == "invalid_signature"


def test_changed_body_is_refused() -> None:
    with pytest.raises(Refused):
        signing.verify(BODY + b" ", headers(), [KEY], NOW)


def test_bad_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        signing.decode_secret("whsec_not base64!")
    with pytest.raises(ConfigError):
        signing.decode_secret("whsec_")
    # The key in base64 but without the prefix: Standard Webhooks secrets always carry it.
    with pytest.raises(ConfigError, match="whsec_"):
        signing.decode_secret(CHAT_SECRET.removeprefix("whsec_"))


def test_generated_secret_round_trips() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(signing.decode_secret(secret)) == 24


def body(event_type: str = "message.created", **data: object) -> bytes:
    envelope = {
        "type": event_type,
        "timestamp": "2026-11-25T10:00:00Z",
        "data": {"conversation_id": "c1", **data},
    }
    return orjson.dumps(envelope)


AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

PARSED = [
    pytest.param(
        body(
            "conversation.started",
            customer={"id": "u1", "email": "a@b.c", "name": "Ann"},
            subject="Refund",
            channel="web",
        ),
        ConversationStarted(
            conversation_id="c1",
            customer=Customer(id="u1", email="a@b.c", name="Ann"),
            subject="Refund",
            channel="web",
            occurred_at=AT,
        ),
        id="started",
    ),
    pytest.param(
        body("conversation.started", customer={"id": "u1"}),
        ConversationStarted(
            conversation_id="c1",
            customer=Customer(id="u1"),
            subject=None,
            channel=None,
            occurred_at=AT,
        ),
        id="started-minimal",
    ),
    pytest.param(
        body(message_id="m1", role="user", content="hi"),
        MessageCreated(
            conversation_id="c1", message_id="m1", role="user", content="hi", occurred_at=AT
        ),
        id="message",
    ),
    pytest.param(
        body("tool.executed", tool="lookup", input={"b": 1, "a": 2}, output=[1, "x"], status="ok"),
        ToolExecuted(
            conversation_id="c1",
            tool="lookup",
            input_json='{"a":2,"b":1}',
            output_json='[1,"x"]',
            status="ok",
            occurred_at=AT,
        ),
        id="tool",
    ),
    pytest.param(
        body("intents.detected", intents=["billing_problem", "usage_help"]),
        IntentsDetected(
            conversation_id="c1", intents=("billing_problem", "usage_help"), occurred_at=AT
        ),
        id="intents",
    ),
    pytest.param(
        body("note.added", text="Customer is a reseller"),
        NoteAdded(conversation_id="c1", text="Customer is a reseller", occurred_at=AT),
        id="note",
    ),
]


@pytest.mark.parametrize("raw, expected", PARSED)
def test_parse_known_types(raw: bytes, expected: object) -> None:
    delivery = chat.parse(raw)
    assert delivery.event == expected
    assert delivery.conversation_id == "c1"
    assert delivery.occurred_at == AT


def test_unknown_type_is_well_formed_but_has_no_event() -> None:
    delivery = chat.parse(body("conversation.rated", stars=5))
    assert delivery.event is None
    assert delivery.type == "conversation.rated"


def test_naive_timestamp_is_taken_as_utc() -> None:
    raw = orjson.dumps(
        {"type": "x", "timestamp": "2026-11-25T10:00:00", "data": {"conversation_id": "c"}}
    )
    assert chat.parse(raw).occurred_at == AT


@pytest.mark.parametrize(
    "timestamp", ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00+00:00", "2026-11-25T11:30:00+01:30"]
)
def test_timestamps_are_read_in_utc(timestamp: str) -> None:
    raw = orjson.dumps({"type": "x", "timestamp": timestamp, "data": {"conversation_id": "c"}})
    occurred_at = chat.parse(raw).occurred_at
    assert occurred_at == AT
    assert occurred_at.utcoffset() == timedelta(0)


BAD_PAYLOADS = [
    pytest.param(b"{not json", 400, "invalid_json", None, id="not-json"),
    pytest.param(b"[1, 2]", 400, "invalid_payload", None, id="array"),
    pytest.param(b'"text"', 400, "invalid_payload", None, id="string"),
    pytest.param(
        orjson.dumps({"timestamp": "2026-11-25T10:00:00Z", "data": {"conversation_id": "c"}}),
        400,
        "invalid_payload",
        "type",
        id="no-type",
    ),
    pytest.param(
        orjson.dumps(
            {"type": 5, "timestamp": "2026-11-25T10:00:00Z", "data": {"conversation_id": "c"}}
        ),
        400,
        "invalid_payload",
        "type",
        id="type-not-string",
    ),
    pytest.param(
        orjson.dumps({"type": "x", "data": {"conversation_id": "c"}}),
        400,
        "invalid_payload",
        "timestamp",
        id="no-timestamp",
    ),
    pytest.param(
        orjson.dumps({"type": "x", "timestamp": 1764064800, "data": {"conversation_id": "c"}}),
        400,
        "invalid_payload",
        "timestamp",
        id="timestamp-number",
    ),
    pytest.param(
        orjson.dumps({"type": "x", "timestamp": "yesterday", "data": {"conversation_id": "c"}}),
        400,
        "invalid_payload",
        "timestamp",
        id="timestamp-not-iso",
    ),
    pytest.param(
        orjson.dumps({"type": "x", "timestamp": "2026-11-25T10:00:00Z"}),
        400,
        "invalid_payload",
        "data",
        id="no-data",
    ),
    pytest.param(
        orjson.dumps({"type": "x", "timestamp": "2026-11-25T10:00:00Z", "data": [1]}),
        400,
        "invalid_payload",
        "data",
        id="data-not-object",
    ),
    pytest.param(
        orjson.dumps({"type": "x", "timestamp": "2026-11-25T10:00:00Z", "data": {}}),
        400,
        "invalid_payload",
        "data.conversation_id",
        id="no-conversation",
    ),
    pytest.param(
        orjson.dumps(
            {"type": "x", "timestamp": "2026-11-25T10:00:00Z", "data": {"conversation_id": 42}}
        ),
        400,
        "invalid_payload",
        "data.conversation_id",
        id="conversation-not-string",
    ),
    pytest.param(
        orjson.dumps(
            {"type": "x", "timestamp": "2026-11-25T10:00:00Z", "data": {"conversation_id": ""}}
        ),
        400,
        "invalid_payload",
        "data.conversation_id",
        id="conversation-empty",
    ),
    pytest.param(
        body(message_id="m1", role="robot", content="hi"),
        422,
        "invalid_data",
        "data.role",
        id="unknown-role",
    ),
    pytest.param(
        body(message_id="m1", role="user", content=7),
        422,
        "invalid_data",
        "data.content",
        id="content-not-string",
    ),
    pytest.param(
        body(role="user", content="hi"), 422, "invalid_data", "data.message_id", id="no-message-id"
    ),
    pytest.param(
        body("conversation.started", customer="ann"),
        422,
        "invalid_data",
        "data.customer",
        id="customer-not-object",
    ),
    pytest.param(
        body("conversation.started", customer={"id": "u1", "email": 5}),
        422,
        "invalid_data",
        "data.customer.email",
        id="email-not-string",
    ),
    pytest.param(
        body("conversation.started", customer={"email": "a@b.c"}),
        422,
        "invalid_data",
        "data.customer.id",
        id="customer-without-id",
    ),
    pytest.param(
        body("tool.executed", tool="t", input=[1], status="ok"),
        422,
        "invalid_data",
        "data.input",
        id="tool-input-not-object",
    ),
    pytest.param(
        body("tool.executed", tool="t", input={}, status="fine"),
        422,
        "invalid_data",
        "data.status",
        id="tool-status",
    ),
    pytest.param(
        body("intents.detected", intents="billing"),
        422,
        "invalid_data",
        "data.intents",
        id="intents-not-list",
    ),
    pytest.param(
        body("intents.detected", intents=["ok", 3]),
        422,
        "invalid_data",
        "data.intents",
        id="intent-not-string",
    ),
    pytest.param(
        body("conversation.escalated"), 422, "invalid_data", "data.reason", id="no-reason"
    ),
    pytest.param(
        body("conversation.resolved", resolution="done"),
        422,
        "invalid_data",
        "data.resolution",
        id="bad-resolution",
    ),
    pytest.param(body("note.added"), 422, "invalid_data", "data.text", id="note-without-text"),
    pytest.param(
        body("note.added", text=""), 422, "invalid_data", "data.text", id="note-text-empty"
    ),
    pytest.param(
        body("note.added", text=" \n "), 422, "invalid_data", "data.text", id="note-text-blank"
    ),
    pytest.param(
        body("note.added", text=["a"]), 422, "invalid_data", "data.text", id="note-text-not-string"
    ),
]


@pytest.mark.parametrize("raw, status, code, field", BAD_PAYLOADS)
def test_bad_payloads(raw: bytes, status: int, code: str, field: str | None) -> None:
    with pytest.raises(Refused) as refused:
        chat.parse(raw)
    assert (STATUS[refused.value.code], refused.value.code, refused.value.field) == (
        status,
        code,
        field,
    )


MESSAGE = orjson.dumps(message("c1", role="user", content="hi", message_id="m1"))
# What the one reader takes for the agent's words, another takes for the customer's.
REPEATED = [
    pytest.param(
        with_members(MESSAGE, b"{", b'"type":"conversation.resolved",'), "type", id="top-level"
    ),
    pytest.param(with_members(MESSAGE, b'"data":{', b'"role":"agent",'), "data.role", id="nested"),
    pytest.param(
        with_members(MESSAGE, b'"data":{', b'"tags":[{"k":1,"k":2}],'),
        "data.tags[0].k",
        id="in-a-list",
    ),
    pytest.param(
        with_members(MESSAGE, b'"data":{', b'"r\\u006fle":"agent",'), "data.role", id="escaped"
    ),
]


@pytest.mark.parametrize("raw, field", REPEATED)
def test_a_repeated_key_is_refused_naming_it(raw: bytes, field: str) -> None:
    with pytest.raises(Refused) as refused:
        chat.parse(raw)
    assert (STATUS[refused.value.code], refused.value.code, refused.value.field) == (
        400,
        "invalid_json",
        field,
    )
    assert repr(field.rpartition(".")[2].partition("[")[0]) in refused.value.detail


def test_a_stored_delivery_that_repeats_a_key_is_read_as_it_was_accepted() -> None:
    raw = with_members(MESSAGE, b'"data":{', b'"role":"agent",').decode()
    event = chat.parse_stored(raw, "evt_1", AT)
    assert isinstance(event, MessageCreated)
    assert event.role == "user"  # orjson's reading: the last of the two


def test_signature_covers_exact_bytes() -> None:
    # Re-serialising would change whitespace and break the signature; we sign bytes.
    raw = b'{"a":  1}'
    signature = signing.sign(KEY, "id", NOW, raw)
    expected = base64.b64encode(
        __import__("hmac").new(KEY, b"id.%d.%s" % (NOW, raw), "sha256").digest()
    ).decode()
    assert signature == "v1," + expected


@pytest.mark.parametrize(
    "raw",
    [
        *(row.values[0] for row in PARSED),
        body(message_id="m1", role="user", content=""),
        body("conversation.rated", stars=5),
        orjson.dumps(
            {
                "type": "message.created",
                "timestamp": "2026-11-25T10:00:00",
                "data": {
                    "conversation_id": "c",
                    "message_id": "m",
                    "role": "assistant",
                    "content": "x",
                },
            }
        ),
    ],
)
def test_stored_events_read_as_parse_reads_them(raw: bytes) -> None:
    assert chat.parse_stored(raw.decode(), "evt_1", AT) == chat.parse(raw).event


@pytest.mark.parametrize("raw", [row.values[0] for row in BAD_PAYLOADS if row.values[1] == 422])
def test_stored_events_refuse_what_parse_refuses(raw: bytes) -> None:
    with pytest.raises(Refused):
        chat.parse_stored(raw.decode(), "evt_1", AT)
