"""Reading a webhook request off its ASGI messages: headers, body limits, a client that leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from ticketsync.events.errors import Refused
from ticketsync.service.http.errors import STATUS
from ticketsync.service.http.requests import receive_body, request_headers, require_json


def messages(*items: dict[str, Any]) -> Any:
    pending = list(items)

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    return receive


def chunks(parts: Iterable[bytes]) -> Any:
    parts = list(parts)
    return messages(
        *(
            {"type": "http.request", "body": part, "more_body": index < len(parts) - 1}
            for index, part in enumerate(parts)
        )
    )


def test_the_first_of_a_repeated_header_is_the_one_read() -> None:
    scope = {
        "headers": [
            (b"webhook-id", b"evt_1"),
            (b"content-type", b"application/json"),
            (b"webhook-id", b"evt_2"),
        ]
    }
    assert request_headers(scope) == {"webhook-id": "evt_1", "content-type": "application/json"}


def test_a_body_in_several_messages_is_joined() -> None:
    body = asyncio.run(receive_body({}, chunks([b'{"a":', b" 1", b"}"])))
    assert body == b'{"a": 1}'


def test_a_body_past_the_limit_is_refused_as_it_arrives() -> None:
    # No content-length: the limit is found while reading, not from the header.
    with pytest.raises(Refused) as refused:
        asyncio.run(receive_body({}, chunks([b"x" * 6, b"x" * 6, b"never read"]), limit=10))
    assert (STATUS[refused.value.code], refused.value.code) == (413, "payload_too_large")


def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(Refused) as refused:
        asyncio.run(receive_body({"content-length": "11"}, messages(), limit=10))
    assert STATUS[refused.value.code] == 413


def test_a_client_that_leaves_mid_body_is_a_400_not_an_error() -> None:
    receive = messages(
        {"type": "http.request", "body": b'{"type":', "more_body": True},
        {"type": "http.disconnect"},
    )
    with pytest.raises(Refused) as refused:
        asyncio.run(receive_body({}, receive))
    assert (STATUS[refused.value.code], refused.value.code) == (400, "incomplete_body")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=UTF-8", 'application/json;charset="utf8"'],
)
def test_json_is_recognised_in_its_spellings(content_type: str) -> None:
    require_json({"content-type": content_type})


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/json; charset=latin-1"])
def test_anything_else_is_a_415(content_type: str) -> None:
    with pytest.raises(Refused) as refused:
        require_json({"content-type": content_type} if content_type else {})
    assert STATUS[refused.value.code] == 415
