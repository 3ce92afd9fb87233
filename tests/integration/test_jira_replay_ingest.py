"""A Jira delivery stored by a version that kept no content keys, replayed under a new
identifier once the service has started again: still a duplicate of the first
(docs/behaviour.md, "Limits"), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.testclient import TestClient

from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.adapters.jira import signature as jira_signature
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.log import EventLog

JIRA_SECRET = "jira-ingest-secret"
AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
UPDATE = orjson.dumps(
    {
        "timestamp": 1_795_600_800_000,
        "webhookEvent": "jira:issue_updated",
        "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5"},
        "issue": {
            "key": "OPS-12",
            "fields": {
                "labels": ["ticketsync-conv_42"],
                "status": {"name": "Done", "statusCategory": {"key": "done"}},
            },
        },
        "changelog": {"id": "10071", "items": [{"field": "status", "toString": "Done"}]},
    }
)


def test_a_delivery_stored_before_content_keys_is_a_duplicate_when_replayed(
    database_url: str,
) -> None:
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        }
    )
    older = EventLog(settings.database)  # as the version before wrote it: no content key
    try:
        [first] = older.append(
            [
                NewEntry(
                    source="jira",
                    delivery_id="wh-1",
                    type="jira:issue_updated",
                    occurred_at=AT,
                    recorded_at=AT,
                    conversation_id="conv_42",
                    ticket="jira:OPS-12",
                    raw=UPDATE.decode(),
                )
            ]
        )
    finally:
        older.close()

    container = bootstrap.build(settings, run_workers=False)
    try:
        with TestClient(http.asgi(container)) as client:
            headers = jira_signature.signed_headers(JIRA_SECRET, UPDATE, identifier="wh-2")
            headers["content-type"] = "application/json"
            answer = client.post("/webhooks/jira", content=UPDATE, headers=headers)
        assert (answer.status_code, answer.json()) == (
            200,
            {"status": "duplicate", "event_id": "wh-2", "position": first.position},
        )
        assert [e.delivery_id for e in container.log.read(0, 10)] == ["wh-1"]
    finally:
        container.close()
