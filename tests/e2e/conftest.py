"""A real `ticketsync serve` process per store, shared by the tests of a module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.zendesk import ZendeskEmulator
from tests.emulators.zendesk import serve as serve_zendesk
from tests.support import Server, running


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'ticketsync.db'}"
    else:
        url = f"{request.getfixturevalue('postgres_server_url')}?schema=e2e_{uuid.uuid4().hex[:12]}"
    with running(url, folder) as started:
        started.database_url = url  # type: ignore[attr-defined]
        yield started


@pytest.fixture(scope="module")
def zendesk() -> Iterator[tuple[ZendeskEmulator, str]]:
    """The Zendesk emulator on 127.0.0.1, with the built-in routing table's groups."""
    emulator = ZendeskEmulator(email="sync@example.com", api_token="zd-token")
    with serve_zendesk(emulator) as base_url:
        yield emulator, base_url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """A fresh store for a module's service, and a folder to run it in."""
    folder = tmp_path_factory.mktemp("e2e")
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'ticketsync.db'}", folder
    return (
        f"{request.getfixturevalue('postgres_server_url')}?schema=e2e_{uuid.uuid4().hex[:10]}",
        folder,
    )
