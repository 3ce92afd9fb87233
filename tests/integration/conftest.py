"""The app over a fresh SQLite store, served in-process, for tests of requests and answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Starlette]:
    """The app with every route (the dev inbox's too), its workers not started."""
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    container = bootstrap.build(
        settings, run_workers=False, dev_inbox=bootstrap.dev_inbox(CHAT_SECRET)
    )
    try:
        yield http.create_app(container)
    finally:
        container.close()
