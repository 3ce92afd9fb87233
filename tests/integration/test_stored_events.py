"""A log written before ingest kept the typed event (raw bodies only) and the same
deliveries taken in now (the event stored beside the body) make the same conversations,
live and rebuilt, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.testclient import TestClient

from tests.fakes import FakeHelpDesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET, message, payload, signed
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http
from ticketsync.service.queries import views
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.workers.rebuild import Rebuild

CONVERSATIONS = ("c1", "c2", "c3")


def deliveries() -> list[dict[str, Any]]:
    seconds = itertools.count(1)

    def at(event: dict[str, Any]) -> dict[str, Any]:
        event["timestamp"] = f"2026-11-25T10:{next(seconds):02d}:00Z"
        return event

    events = []
    for cid in CONVERSATIONS:
        events += [
            at(
                payload(
                    "conversation.started",
                    cid,
                    customer={"id": f"u_{cid}", "email": f"{cid}@example.com", "name": "Ann"},
                    subject="Refund",
                )
            ),
            at(payload("intents.detected", cid, intents=["billing_problem"])),
            at(message(cid, content="I was charged twice", message_id=f"m1_{cid}")),
            at(
                payload(
                    "tool.executed",
                    cid,
                    tool="refund_lookup",
                    input={"order": "A1"},
                    output=None,
                    status="ok",
                )
            ),
            at(payload("conversation.escalated", cid, reason="a human please")),
            at(payload("conversation.resolved", cid, resolution="pending_customer")),
        ]
    events.append(at(payload("conversation.rated", "c1", stars=5)))  # a type nobody acts on
    return events


def service(url: str) -> Any:
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    return bootstrap.build(settings, help_desk=FakeHelpDesk(), run_workers=False)


def models(container: Any) -> dict[str, Any]:
    shown = {}
    for cid in CONVERSATIONS:
        view = views.conversation(container, cid)
        assert view is not None
        shown[cid] = {key: value for key, value in view.items() if key != "pending_calls"}
    return shown


def test_an_old_log_and_a_new_one_make_the_same_conversations(database_url: str) -> None:
    events = deliveries()
    old = service(database_url)
    second = database_url.replace("schema=t_", "schema=n_")
    new = service(second if second != database_url else database_url + ".new")
    try:
        # The old form: the body alone, as ingest stored it before.
        at = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
        old.log.append(
            [
                NewEntry(
                    source="chat",
                    delivery_id=f"evt_{index}",
                    type=event["type"],
                    occurred_at=datetime.fromisoformat(event["timestamp"]),
                    recorded_at=at,
                    conversation_id=event["data"]["conversation_id"],
                    raw=orjson.dumps(event).decode(),
                )
                for index, event in enumerate(events)
            ]
        )
        # The new form: through the webhook target, which stores the event beside the body.
        with TestClient(http.create_app(new)) as client:
            for index, event in enumerate(events):
                body, headers = signed(orjson.dumps(event), webhook_id=f"evt_{index}")
                assert (
                    client.post("/webhooks/chat", content=body, headers=headers).status_code == 202
                )
        stored = new.log.read(0, 100)
        assert all(entry.data is not None for entry in stored)
        assert orjson.loads(stored[-1].data) == {"event": None}
        while old.projector.run_once() or new.projector.run_once():
            pass
        live = models(old)
        assert live == models(new)
        # Both decided the same: one ticket asked for per conversation.
        for cid in CONVERSATIONS:
            assert old.store.pending_calls(cid) == new.store.pending_calls(cid) == 1
        for container in (old, new):
            result = Rebuild(
                container.store,
                container.projector.policy,
                check=True,
                parse_stored=container.projector.parse_stored,
            ).run()
            assert result.matches is True
    finally:
        old.close()
        new.close()
