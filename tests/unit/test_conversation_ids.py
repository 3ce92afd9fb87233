"""The conversation id rule (events/conversation_ids.py), and the chat parser that applies it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketsync.adapters.chat import webhooks
from ticketsync.events import conversation_ids
from ticketsync.events.errors import Refused
from ticketsync.service.http.openapi import ID_PATTERN

GOOD = [
    pytest.param("conv_42", id="plain"),
    pytest.param("acme/conv_1001", id="slash"),
    pytest.param("a/b/c/explain", id="slashes-and-explain"),
    pytest.param("100%", id="percent"),
    pytest.param("ann smith", id="space-inside"),
    pytest.param("what?#frag", id="query-and-fragment-marks"),
    pytest.param("café/日本語", id="unicode"),
    pytest.param("a.b/..c/.d/e..", id="dots-inside-segments"),
    pytest.param("evil\u202etxt", id="format-character-shown-escaped-by-the-console"),
    pytest.param("x" * 255, id="255-characters"),
    pytest.param("/leading/slash", id="empty-segment"),
]
BAD = [
    pytest.param("", "empty", id="empty"),
    pytest.param("x" * 256, "at most 255", id="256-characters"),
    pytest.param("   ", "whitespace", id="whitespace-only"),
    pytest.param(" conv", "whitespace", id="leading-space"),
    pytest.param("conv\t", "whitespace", id="trailing-tab"),
    pytest.param("conv\u3000", "whitespace", id="trailing-ideographic-space"),
    pytest.param("line\nbreak", "U+000A", id="newline"),
    pytest.param("nul\x00", "U+0000", id="nul"),
    pytest.param("del\x7f", "U+007F", id="del"),
    pytest.param("c1\x85x", "U+0085", id="c1-control"),
    pytest.param("dot/../seg", "'..'", id="dot-dot-segment"),
    pytest.param("trail/.", "'.'", id="dot-segment-last"),
    pytest.param("..", "'..'", id="dot-dot-only"),
    pytest.param(".", "'.'", id="dot-only"),
    pytest.param("./a", "'.'", id="dot-segment-first"),
    pytest.param(42, "string", id="not-a-string"),
]


@pytest.mark.parametrize("value", GOOD)
def test_ids_that_can_be_addressed_are_taken(value: str) -> None:
    assert conversation_ids.problem(value) is None


@pytest.mark.parametrize("value, says", BAD)
def test_ids_that_cannot_be_addressed_are_refused_with_the_reason(value: object, says: str) -> None:
    problem = conversation_ids.problem(value)
    assert problem is not None
    assert says in problem


def delivery(conversation_id: object) -> bytes:
    return orjson.dumps(
        {
            "type": "message.created",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {
                "conversation_id": conversation_id,
                "message_id": "m1",
                "role": "user",
                "content": "hi",
            },
        }
    )


@pytest.mark.parametrize("value, says", BAD)
def test_the_chat_parser_refuses_them_as_a_malformed_id(value: object, says: str) -> None:
    with pytest.raises(Refused) as refused:
        webhooks.parse(delivery(value))
    assert (refused.value.code, refused.value.field) == ("invalid_payload", "data.conversation_id")
    assert says in refused.value.detail


@pytest.mark.parametrize("value", GOOD)
def test_the_chat_parser_takes_the_others(value: str) -> None:
    assert webhooks.parse(delivery(value)).conversation_id == value


def test_a_delivery_stored_before_the_rule_is_still_read() -> None:
    raw = delivery("dot/../seg").decode()
    event = webhooks.parse_stored(raw, "d1", datetime(2026, 11, 25, tzinfo=UTC))
    assert event is not None
    assert event.conversation_id == "dot/../seg"


@settings(max_examples=300, derandomize=True, database=None)
@given(st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 255))
def test_every_id_the_api_description_allows_is_taken(value: str) -> None:
    """The description's pattern (service/http/openapi.py) may leave ids out, never let one in
    that the rule refuses: a client generated from it never sends an id it is refused for."""
    assert conversation_ids.problem(value) is None


@pytest.mark.parametrize("value, says", BAD)
def test_the_api_description_allows_none_of_the_refused(value: object, says: str) -> None:
    # Length is the schema's maxLength (255), not the pattern's.
    allowed = isinstance(value, str) and len(value) <= 255 and re.fullmatch(ID_PATTERN, value)
    assert not allowed
