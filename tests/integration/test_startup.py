"""What the service does once when it starts serving."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http


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
