"""A large delivery is read off the event loop; a small one, most chat deliveries, on it.

A body's parse takes time linear in its size, up to about 0.7 us a byte (Jira wiki markup),
so past webhooks.PARSE_ON_LOOP_BYTES it could hold every other request up for milliseconds
(docs/behaviour.md, "Limits").
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support import ADMIN_TOKEN, CHAT_SECRET, message, signed
from ticketsync.adapters.ports import Delivery
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http
from ticketsync.service.http.webhooks import PARSE_ON_LOOP_BYTES


def on_the_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def client_and_reads(tmp_path: Path) -> Iterator[tuple[TestClient, list[tuple[int, bool, bool]]]]:
    """A client of the app whose chat source notes, of each body it verifies and parses, its
    size and whether each step ran on the event loop."""
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    container = bootstrap.build(settings, run_workers=False)
    source = container.webhooks["/webhooks/chat"]
    reads: list[tuple[int, bool, bool]] = []
    verified: list[bool] = []

    def verify(body: bytes, checked: object, now: float) -> object:
        verified.append(on_the_event_loop())
        return source.verify(body, checked, now)

    def parse(body: bytes, headers: Mapping[str, str]) -> Delivery:
        reads.append((len(body), verified.pop(), on_the_event_loop()))
        return source.parse(body, headers)

    container.webhooks = {
        **container.webhooks,
        "/webhooks/chat": dataclasses.replace(source, verify=verify, parse=parse),
    }
    try:
        with TestClient(http.create_app(container)) as client:
            yield client, reads
    finally:
        container.close()


def test_a_large_body_is_verified_and_parsed_in_a_thread(client_and_reads) -> None:
    client, reads = client_and_reads
    small = signed(message("conv_small", content="hello"))
    large = signed(message("conv_large", content="x" * 100_000))
    for body, headers in (small, large):
        assert client.post("/webhooks/chat", content=body, headers=headers).status_code == 202
    [(small_size, *small_on_loop), (large_size, *large_on_loop)] = reads
    assert small_size <= PARSE_ON_LOOP_BYTES < large_size
    assert small_on_loop == [True, True]
    assert large_on_loop == [False, False]
