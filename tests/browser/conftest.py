"""Headless Chromium (Debian's `chromium`, driven by Playwright) against a real service.

No browser is downloaded: Playwright launches the system's executable. Without one the
browser tests are skipped with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.zendesk import ZendeskEmulator
from tests.emulators.zendesk import serve as serve_zendesk
from tests.support import Server, running

ZENDESK_SECRET = "zendesk-signing-secret"
VIEWPORT = {"width": 1280, "height": 800}


def chromium() -> str:
    """The system's Chromium, or a skip (a failure under CI) saying what is missing."""
    path = shutil.which("chromium")
    if path is None:
        reason = "no chromium executable on PATH (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies) and its page, 1280x800."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def zendesk() -> Iterator[tuple[ZendeskEmulator, str]]:
    emulator = ZendeskEmulator(email="sync@example.com", api_token="zd-token")
    with serve_zendesk(emulator) as base_url:
        yield emulator, base_url


@pytest.fixture(scope="module")
def server(
    zendesk: tuple[ZendeskEmulator, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`ticketsync serve` on SQLite, its help desk the Zendesk emulator, its backoff short."""
    folder: Path = tmp_path_factory.mktemp("console")
    env = {
        "TICKETSYNC_TICKETING": "zendesk",
        "TICKETSYNC_ZENDESK_URL": zendesk[1],
        "TICKETSYNC_ZENDESK_EMAIL": "sync@example.com",
        "TICKETSYNC_ZENDESK_API_TOKEN": "zd-token",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
        "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
        "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.3",
        "TICKETSYNC_HTTP_TIMEOUT": "2",
    }
    with running(f"sqlite:///{folder / 'ticketsync.db'}", folder, env=env) as started:
        yield started
