"""Jira webhook signatures (X-Hub-Signature) and payloads (issue updates, comments)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tests.support import with_members
from ticketsync.adapters.jira import signature as jira_signature
from ticketsync.adapters.jira import webhooks as jw
from ticketsync.events.errors import Refused
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketCommentAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.service.http.errors import STATUS as ANSWERED

SECRET = "It's a Secret to Everybody"
OURS = "712020:ticketsync-bot"
AGENT = "5b10ac8d82e05b22cc7d4ef5"
STAMP_MS = 1_764_064_800_000  # 2025-11-25T10:00:00Z
AT = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
HEADERS = {"X-Atlassian-Webhook-Identifier": "wh-1"}


def refused(call: Any, *args: Any, **kwargs: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------- signatures


def test_reference_test_vector() -> None:
    expected = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    assert jira_signature.sign(SECRET, b"Hello World!") == expected
    jira_signature.verify(b"Hello World!", {"X-Hub-Signature": expected}, [SECRET])


def test_signed_headers_verify_and_carry_the_identifier() -> None:
    headers = jira_signature.signed_headers(SECRET, b"{}", identifier="wh-9")
    assert headers["X-Atlassian-Webhook-Identifier"] == "wh-9"
    jira_signature.verify(b"{}", headers, ["old-secret", SECRET])


def digest(key: str, body: bytes, algorithm: Any = hashlib.sha256) -> bytes:
    return hmac.new(key.encode(), body, algorithm).digest()


REFUSED = [
    pytest.param({}, "missing_signature", id="no-header"),
    pytest.param({"X-Hub-Signature": ""}, "missing_signature", id="empty-header"),
    pytest.param(
        {"X-Hub-Signature": "sha256=" + base64.b64encode(digest(SECRET, b"x")).decode()},
        "malformed_signature",
        id="base64",
    ),
    pytest.param(
        {"X-Hub-Signature": "sha1=" + digest(SECRET, b"x", hashlib.sha1).hex()},
        "malformed_signature",
        id="another-algorithm",
    ),
    pytest.param(
        {"X-Hub-Signature": digest(SECRET, b"x").hex()}, "malformed_signature", id="no-prefix"
    ),
    pytest.param(
        {"X-Hub-Signature": "sha256=" + digest("other", b"x").hex()},
        "invalid_signature",
        id="wrong-secret",
    ),
    pytest.param(
        {"X-Hub-Signature": "sha256=" + digest(SECRET, b"y").hex()},
        "invalid_signature",
        id="other-body",
    ),
]


@pytest.mark.parametrize("headers, code", REFUSED)
def test_bad_signatures_are_401(headers: dict[str, str], code: str) -> None:
    error = refused(jira_signature.verify, b"x", headers, [SECRET])
    assert (ANSWERED[error.code], error.code) == (401, code)


@pytest.mark.parametrize(
    "secrets, signing_secret",
    [([], SECRET), ([""], ""), (SECRET, SECRET[0])],
    ids=["none", "blank", "bare-string-is-one-secret"],
)
def test_no_usable_secret_matches(secrets: Any, signing_secret: str) -> None:
    headers = {"X-Hub-Signature": jira_signature.sign(signing_secret, b"x")}
    error = refused(jira_signature.verify, b"x", headers, secrets)
    assert (ANSWERED[error.code], error.code) == (401, "invalid_signature")


# ---------------------------------------------------------------- payloads


def issue(status_category: str = "indeterminate", labels: Any = ("ticketsync-conv_42",)) -> dict:
    return {
        "id": "10042",
        "key": "OPS-12",
        "fields": {
            "summary": "[billing_problem] Charged twice",
            "labels": list(labels),
            "status": {"name": "Done", "statusCategory": {"key": status_category}},
        },
    }


def updated(*items: dict[str, Any], actor: str = AGENT, **issue_fields: Any) -> dict[str, Any]:
    return {
        "timestamp": STAMP_MS,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": actor, "displayName": "Avery Agent"},
        "issue": issue(**issue_fields),
        "changelog": {"id": "10071", "items": list(items)},
    }


def commented(body: Any = "Hi *Rita*, refunded.", **comment: Any) -> dict[str, Any]:
    return {
        "timestamp": STAMP_MS,
        "webhookEvent": "comment_created",
        "comment": {
            "id": "10100",
            "author": {
                "accountId": AGENT,
                "displayName": "Avery Agent",
                "accountType": "atlassian",
            },
            "body": body,
            "created": "2025-11-25T10:00:00.000+0000",
            **comment,
        },
        "issue": {"id": "10042", "key": "OPS-12", "fields": {"summary": "x"}},
    }


def parse(payload: dict[str, Any], **kwargs: Any) -> jw.JiraDelivery:
    return jw.parse(orjson.dumps(payload), HEADERS, **kwargs)


STATUS_ITEM = {
    "field": "status",
    "fieldtype": "jira",
    "from": "3",
    "fromString": "In Progress",
    "to": "10001",
    "toString": "Done",
}


@pytest.mark.parametrize(
    "category, status", [("done", "solved"), ("indeterminate", "open"), ("new", "open")]
)
def test_status_change_by_category(category: str, status: str) -> None:
    delivery = parse(updated(STATUS_ITEM, status_category=category))
    assert delivery.event == TicketStatusChanged(
        system="jira",
        ticket_id="OPS-12",
        status=status,
        previous=None,
        actor_id=AGENT,
        external_id="conv_42",
        occurred_at=AT,
        status_name="Done",
        change_id="10071",
    )
    assert (delivery.delivery_id, delivery.type, delivery.ticket_id, delivery.external_id) == (
        "wh-1",
        "jira:issue_updated",
        "OPS-12",
        "conv_42",
    )
    assert delivery.occurred_at == AT


def test_assignee_and_priority_changes() -> None:
    assignee = {"field": "assignee", "fieldId": "assignee", "to": AGENT, "toString": "Avery Agent"}
    assert parse(updated(assignee)).event == TicketAssigneeChanged(
        system="jira",
        ticket_id="OPS-12",
        assignee_id=AGENT,
        assignee="Avery Agent",
        actor_id=AGENT,
        external_id="conv_42",
        occurred_at=AT,
        change_id="10071",
    )
    priority = {"field": "priority", "to": "1", "toString": "Highest"}
    event = parse(updated(priority)).event
    assert isinstance(event, TicketPriorityChanged)
    assert (event.priority, event.change_id) == ("urgent", "10071")


CHANGE_IDS = [
    pytest.param({"id": "10071"}, "10071", id="string"),
    pytest.param({"id": 10071}, "10071", id="number"),
    pytest.param({}, None, id="none"),
]


@pytest.mark.parametrize("changelog, change_id", CHANGE_IDS)
def test_the_signed_changelog_id_names_the_change(changelog: dict, change_id: str | None) -> None:
    """What a replay under a new identifier header is told by (projections/ordering.py)."""
    payload = {**updated(), "changelog": {**changelog, "items": [STATUS_ITEM]}}
    event = parse(payload).event
    assert isinstance(event, TicketStatusChanged)
    assert event.change_id == change_id


CONTENT_KEYS = [
    pytest.param(updated(STATUS_ITEM), "changelog:10071", id="status-change"),
    pytest.param(updated({"field": "summary", "toString": "x"}), "changelog:10071", id="ignored"),
    pytest.param({**updated(), "changelog": {"items": []}}, None, id="changelog-without-id"),
    pytest.param({**updated(), "changelog": None}, None, id="no-changelog"),
    pytest.param(commented(), "comment_created:10100", id="comment"),
    pytest.param({**commented(), "webhookEvent": "comment_updated"}, None, id="other-type"),
]


@pytest.mark.parametrize("payload, key", CONTENT_KEYS)
def test_the_signed_body_names_what_the_delivery_is(payload: dict, key: str | None) -> None:
    """A second dedup key beside the unsigned identifier header (service/store/log.py)."""
    assert parse(payload).content_key == key


STORED_KEYS = [
    pytest.param("jira:issue_updated", orjson.dumps(updated(STATUS_ITEM)), "changelog:10071"),
    pytest.param("comment_created", orjson.dumps(commented()), "comment_created:10100"),
    pytest.param("jira:issue_updated", b'{"changelog": {"id": {"n": 1}}}', None),
    pytest.param("comment_created", b"[1]", None),
    pytest.param("comment_created", b"not json", None),
]


@pytest.mark.parametrize("event_type, raw, key", STORED_KEYS)
def test_stored_deliveries_name_their_content_key(event_type: str, raw: bytes, key: str | None):
    """For deliveries stored before ingest kept content keys: what they name, or None."""
    assert jw.stored_content_key(event_type, raw.decode()) == key


def test_a_malformed_changelog_id_is_422() -> None:
    payload = {**updated(), "changelog": {"id": {"n": 1}, "items": [STATUS_ITEM]}}
    error = refused(parse, payload)
    assert (ANSWERED[error.code], error.code, error.field) == (422, "invalid_data", "changelog.id")


def test_status_wins_when_one_update_changes_several_fields() -> None:
    assignee = {"field": "assignee", "to": AGENT, "toString": "Avery Agent"}
    assert isinstance(parse(updated(assignee, STATUS_ITEM)).event, TicketStatusChanged)


def test_our_own_update_names_our_account_as_actor() -> None:
    event = parse(updated(STATUS_ITEM, actor=OURS, status_category="done")).event
    assert event is not None
    assert event.actor_id == OURS


@pytest.mark.parametrize(
    "payload",
    [
        updated({"field": "summary", "toString": "x"}),
        updated({"field": "priority", "toString": "Blocker-ish"}),
        {**updated(), "changelog": None},
    ],
    ids=["other-field", "site-priority", "no-changelog"],
)
def test_updates_ticketsync_does_not_act_on(payload: dict[str, Any]) -> None:
    assert parse(payload).event is None


def test_wiki_comment_reaches_the_chat_as_plain_text() -> None:
    delivery = parse(commented(), own_account_id=OURS)
    assert delivery.event == TicketCommentAdded(
        system="jira",
        ticket_id="OPS-12",
        comment_id="10100",
        body="Hi Rita, refunded.",
        public=True,
        author_id=AGENT,
        author_name="Avery Agent",
        author_is_agent=True,
        external_id=None,  # a comment's slim issue carries no labels
        occurred_at=AT,
    )


def test_adf_comment_body_is_accepted() -> None:
    body = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Done."}]}],
    }
    event = parse(commented(body)).event
    assert isinstance(event, TicketCommentAdded)
    assert event.body == "Done."


INTERNAL = [
    pytest.param({"jsdPublic": False}, False, id="jsm-internal"),
    pytest.param({"jsdPublic": True}, True, id="jsm-public"),
    pytest.param(
        {"visibility": {"type": "role", "value": "Administrators"}}, False, id="restricted"
    ),
    pytest.param({}, True, id="software-public"),
]


@pytest.mark.parametrize("extra, public", INTERNAL)
def test_internal_comments_are_not_public(extra: dict[str, Any], public: bool) -> None:
    event = parse(commented(**extra)).event
    assert isinstance(event, TicketCommentAdded)
    assert event.public is public


AUTHORS = [
    pytest.param({"accountId": OURS, "accountType": "atlassian"}, (), False, id="our-account"),
    pytest.param(
        {"accountId": AGENT, "accountType": "atlassian"}, ("10100",), False, id="our-comment-id"
    ),
    pytest.param({"accountId": "qm:1", "accountType": "customer"}, (), False, id="portal-customer"),
    pytest.param({"accountId": AGENT, "accountType": "atlassian"}, ("999",), True, id="an-agent"),
]


@pytest.mark.parametrize("author, own_ids, is_agent", AUTHORS)
def test_who_counts_as_an_agent(author: dict[str, Any], own_ids: Any, is_agent: bool) -> None:
    event = parse(commented(author=author), own_account_id=OURS, own_comment_ids=own_ids).event
    assert isinstance(event, TicketCommentAdded)
    assert event.author_is_agent is is_agent
    assert event.author_id == author["accountId"]


def test_unknown_event_is_stored_not_acted_on() -> None:
    payload = {"timestamp": STAMP_MS, "webhookEvent": "jira:issue_deleted", "issue": issue()}
    delivery = parse(payload)
    assert (delivery.event, delivery.ticket_id, delivery.external_id) == (None, "OPS-12", "conv_42")


MALFORMED = [
    pytest.param(b"{not json", HEADERS, 400, "invalid_json", None, id="not-json"),
    pytest.param(b"[]", HEADERS, 400, "invalid_payload", None, id="not-object"),
    pytest.param(
        orjson.dumps(commented()),
        {},
        400,
        "invalid_payload",
        "x-atlassian-webhook-identifier",
        id="no-identifier",
    ),
    pytest.param(
        orjson.dumps({**commented(), "webhookEvent": 7}),
        HEADERS,
        400,
        "invalid_payload",
        "webhookEvent",
        id="event-type",
    ),
    pytest.param(
        orjson.dumps({**commented(), "timestamp": "2025"}),
        HEADERS,
        400,
        "invalid_payload",
        "timestamp",
        id="timestamp",
    ),
    pytest.param(
        orjson.dumps({**commented(), "issue": {"id": "1"}}),
        HEADERS,
        422,
        "invalid_data",
        "issue.key",
        id="issue-key",
    ),
    pytest.param(
        orjson.dumps(commented(id=None)),
        HEADERS,
        422,
        "invalid_data",
        "comment.id",
        id="comment-id",
    ),
    pytest.param(
        orjson.dumps(commented(body=5)),
        HEADERS,
        422,
        "invalid_data",
        "comment.body",
        id="comment-body",
    ),
    pytest.param(
        orjson.dumps(commented(jsdPublic="no")),
        HEADERS,
        422,
        "invalid_data",
        "comment.jsdPublic",
        id="jsd-public",
    ),
    pytest.param(
        orjson.dumps({**updated(STATUS_ITEM), "issue": {"key": "OPS-1", "fields": {}}}),
        HEADERS,
        422,
        "invalid_data",
        "issue.fields.status",
        id="status",
    ),
    pytest.param(
        orjson.dumps({**updated(), "changelog": {"items": ["x"]}}),
        HEADERS,
        422,
        "invalid_data",
        "changelog.items[0]",
        id="changelog-item",
    ),
]


COMMENT_BODY = orjson.dumps(commented(body="refunded"))
REPEATED = [
    pytest.param(
        with_members(COMMENT_BODY, b"{", b'"webhookEvent":"jira:issue_updated",'),
        "webhookEvent",
        id="top-level",
    ),
    pytest.param(
        with_members(COMMENT_BODY, b'"comment":{', b'"body":"not refunded",'),
        "comment.body",
        id="nested",
    ),
    pytest.param(
        with_members(COMMENT_BODY, b'"issue":{', b'"x":[{"k":1,"k":2}],'),
        "issue.x[0].k",
        id="in-a-list",
    ),
    pytest.param(
        with_members(COMMENT_BODY, b'"author":{', b'"\\u0061ccountType":"customer",'),
        "comment.author.accountType",
        id="escaped",
    ),
]


@pytest.mark.parametrize("raw, field", REPEATED)
def test_a_repeated_key_is_refused_naming_it(raw: bytes, field: str) -> None:
    error = refused(jw.parse, raw, HEADERS)
    assert (ANSWERED[error.code], error.code, error.field) == (400, "invalid_json", field)
    assert repr(field.rpartition(".")[2].partition("[")[0]) in error.detail


@pytest.mark.parametrize("body, headers, status, code, field", MALFORMED)
def test_malformed_deliveries_are_refused_with_the_field(
    body: bytes, headers: dict[str, str], status: int, code: str, field: str | None
) -> None:
    error = refused(jw.parse, body, headers)
    assert (ANSWERED[error.code], error.code, error.field) == (status, code, field)
