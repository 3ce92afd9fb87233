"""GET /healthz while the store is down, over the real app: strangers are told `unavailable`,
never the driver's words (docs/behaviour.md, section "Limits"); see also
tests/reliability/test_health_detail.py, with a real PostgreSQL cut off."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH
from ticketsync.events.errors import StoreUnavailable

LEAKY = (
    'connection to server at "db.internal" (10.0.0.7), port 6432 failed: FATAL: password'
    ' authentication failed for user "ticketsync_prod" database "tickets_eu"'
)


def test_the_drivers_words_are_kept_from_strangers(
    app: Starlette, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down() -> None:
        raise StoreUnavailable(LEAKY)

    monkeypatch.setattr(app.state.api, "_positions", down)
    with TestClient(app) as client:
        answer = client.get("/healthz")
        detailed = client.get("/healthz", params={"detail": "1"}, headers=AUTH)
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "position": None,
        "error": "store_unavailable",
        "detail": "the database cannot be reached",
    }
    for word in ("db.internal", "10.0.0.7", "6432", "ticketsync_prod", "tickets_eu"):
        assert word not in answer.text
    assert detailed.json()["reason"] == LEAKY
    assert any(getattr(record, "error", None) == LEAKY for record in caplog.records)
