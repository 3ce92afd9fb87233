"""A body that names a key twice, on every way in: 400 `invalid_json`, and nothing stored.

Each webhook path gets a correctly signed body with one repeated key, then the same body
without the repeat, which is taken: the refusal was for the repeat alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import orjson
import pytest
from starlette.testclient import TestClient

from tests.support import ADMIN_TOKEN, CHAT_SECRET, message, signed, with_members
from ticketsync.adapters.jira import signature as jira_signature
from ticketsync.adapters.zendesk import signature as zendesk_signature
from ticketsync.service import bootstrap, config
from ticketsync.service.bootstrap import Container
from ticketsync.service.http import app as http

ZENDESK_SECRET = "zendesk-repeated-keys-secret"
JIRA_SECRET = "jira-repeated-keys-secret"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[Container, TestClient]]:
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
            "TICKETSYNC_JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        }
    )
    container = bootstrap.build(settings, run_workers=False)
    try:
        # Entered, the client runs the app's lifespan, which starts the ingest's writer.
        with TestClient(http.create_app(container)) as client:
            yield container, client
    finally:
        container.close()


def chat(body: bytes) -> dict[str, str]:
    return signed(body)[1]


def zendesk(body: bytes) -> dict[str, str]:
    headers = zendesk_signature.signed_headers(ZENDESK_SECRET, body, time.time())
    return {**headers, "content-type": "application/json"}


def jira(body: bytes) -> dict[str, str]:
    headers = jira_signature.signed_headers(JIRA_SECRET, body, identifier=uuid.uuid4().hex)
    return {**headers, "content-type": "application/json"}


CHAT_BODY = orjson.dumps(message("conv_repeat", role="user", content="hi", message_id="m1"))
ZENDESK_BODY = orjson.dumps(
    {
        "id": "01KREPEATED",
        "type": "zen:event-type:ticket.status_changed",
        "time": "2026-11-25T10:00:00Z",
        "subject": "zen:ticket:5158",
        "detail": {"id": "5158", "external_id": "conv_repeat"},
        "event": {"current": "SOLVED", "previous": "OPEN"},
    }
)
JIRA_BODY = orjson.dumps(
    {
        "timestamp": 1795600800000,
        "webhookEvent": "comment_created",
        "comment": {"id": "10100", "author": {"accountId": "557058:a"}, "body": "refunded"},
        "issue": {"id": "10042", "key": "OPS-12", "fields": {"labels": ["ticketsync-conv_1"]}},
    }
)

PATHS = [
    pytest.param(
        "/webhooks/chat",
        CHAT_BODY,
        with_members(CHAT_BODY, b'"data":{', b'"role":"agent",'),
        chat,
        "data.role",
        id="chat",
    ),
    pytest.param(
        "/webhooks/zendesk",
        ZENDESK_BODY,
        with_members(ZENDESK_BODY, b'"detail":{', b'"external_id":"conv_other",'),
        zendesk,
        "detail.external_id",
        id="zendesk",
    ),
    pytest.param(
        "/webhooks/jira",
        JIRA_BODY,
        with_members(JIRA_BODY, b'"comment":{', b'"body":"not refunded",'),
        jira,
        "comment.body",
        id="jira",
    ),
]


@pytest.mark.parametrize("path, body, repeated, sign, field", PATHS)
def test_a_webhook_that_repeats_a_key_is_refused_and_not_stored(
    served: tuple[Container, TestClient],
    path: str,
    body: bytes,
    repeated: bytes,
    sign: Callable[[bytes], dict[str, str]],
    field: str,
) -> None:
    container, client = served
    answer = client.post(path, content=repeated, headers=sign(repeated))
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"], answer.json()["field"]) == ("invalid_json", field)
    assert container.log.read(0, 100) == []
    assert client.post(path, content=body, headers=sign(body)).status_code == 202
    assert len(container.log.read(0, 100)) == 1


def test_an_admin_body_that_repeats_a_key_is_refused_and_nothing_is_done(
    served: tuple[Container, TestClient],
) -> None:
    container, client = served
    headers = {**AUTH, "content-type": "application/json"}
    answer = client.post("/admin/rebuild", content=b'{"check":false,"check":true}', headers=headers)
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"], answer.json()["field"]) == ("invalid_json", "check")
    assert container.log.read(0, 100) == []
