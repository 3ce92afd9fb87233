"""What the service does once when it starts serving."""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path

import pytest

from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.events.errors import StoreUnavailable
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http
from ticketsync.service.store.log import EventLog


def test_start_up_leaves_its_objects_out_of_the_collectors_passes(tmp_path: Path) -> None:
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'ticketsync.db'}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    container = bootstrap.build(settings, run_workers=False)
    app = http.create_app(container)

    async def serve_once() -> tuple[int, int]:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count(), gc.get_threshold()[0]

    gc.unfreeze()
    threshold = gc.get_threshold()
    # Another test's service may have tuned this process's collector already.
    gc.set_threshold(700, *threshold[1:])
    try:
        frozen, young = asyncio.run(serve_once())
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        container.close()
    # The app, its container and every module imported so far: far more than a few.
    assert frozen > 10_000
    assert young == http.YOUNG_COLLECTION_EVERY > 700
    assert gc.isenabled()


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_named_with_how_to_create_it(
    postgres_server_url: str,
) -> None:
    base = postgres_server_url.rsplit("/", 1)[0]
    with pytest.raises(StoreUnavailable) as refused:
        EventLog(config.parse_database_url(f"{base}/no_such_database_here"))
    assert "has no database 'no_such_database_here'" in str(refused.value)
    assert "createdb" in str(refused.value)


@pytest.mark.postgres
def test_a_postgresql_server_that_is_not_there_is_told_from_a_missing_database(
    postgres_server_url: str,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(StoreUnavailable) as refused:
        EventLog(config.parse_database_url(f"postgresql://postgres@127.0.0.1:{port}/test"))
    assert f"no PostgreSQL server answers at 127.0.0.1:{port}" in str(refused.value)
