"""The read API's shapes built from stored rows."""

from __future__ import annotations

from ticketsync.service.queries import views
from ticketsync.service.store.calls import Call


def test_a_calls_times_are_iso_8601_utc_like_every_other_time() -> None:
    row = Call(
        call_id="call_1",
        conversation_id="conv_42",
        kind="create_ticket",
        command='{"kind": "create_ticket"}',
        state="pending",
        attempts=1,
        next_attempt_at=1_795_600_805.25,
        created_at=1_795_600_800.0,
        updated_at=1_795_600_801.5,
        last_error=None,
        uncertain=False,
        queued_key="ticketsync:q1",
    )
    shown = views.call(row)
    assert shown["next_attempt_at"] == "2026-11-25T10:00:05.250000Z"
    assert shown["created_at"] == "2026-11-25T10:00:00Z"
    assert shown["updated_at"] == "2026-11-25T10:00:01.500000Z"
