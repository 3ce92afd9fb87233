"""The small rules of the AI agent's tools that need no store."""

from __future__ import annotations

from ticketsync.service.agent.tools import control_of


def test_control_is_read_from_the_conversation_when_it_has_it() -> None:
    shown = {"control": {"holder": "human", "reason": "escalated", "since": "2026-11-25T10:00:00Z"}}
    assert control_of(shown) == {
        "holder": "human",
        "reason": "escalated",
        "since": "2026-11-25T10:00:00Z",
    }
