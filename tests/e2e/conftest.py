"""A real `ticketsync serve` process per store, shared by the tests of a module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

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
