"""Where the API description and the app could disagree, they do not: what the description
allows is accepted, and what the app refuses the description does not allow."""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH
from tests.support import wait_until
from ticketsync.service.http.openapi import SPEC
from ticketsync.service.workers.rebuild import PROJECTIONS


def parameter(path: str, name: str) -> dict:
    [found] = [p for p in SPEC["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found["schema"]


def test_a_rebuild_names_only_the_projections_there_are(app: Starlette) -> None:
    body = SPEC["paths"]["/admin/rebuild"]["post"]["requestBody"]["content"]["application/json"]
    allowed = body["schema"]["properties"]["projections"]["items"]["enum"]
    assert allowed == list(PROJECTIONS)
    with TestClient(app) as client:
        answer = client.post("/admin/rebuild", json={"projections": allowed}, headers=AUTH)
        assert answer.status_code == 202, answer.text
        # It runs in a thread of its own: done before the store is closed under it.
        progress = f"/admin/rebuild/{answer.json()['id']}"
        wait_until(lambda: client.get(progress, headers=AUTH).json()["state"] != "running")
        assert client.get(progress, headers=AUTH).json()["state"] == "done"


def test_the_largest_cursor_the_description_allows_is_accepted(app: Starlette) -> None:
    pattern = parameter("/audit", "after")["pattern"]
    largest = "9" * 18
    assert re.fullmatch(pattern, largest)
    assert not re.fullmatch(pattern, str(2**63))
    with TestClient(app) as client:
        assert client.get("/audit", params={"after": largest}, headers=AUTH).status_code == 200
        refused = client.get("/audit", params={"after": str(2**63)}, headers=AUTH)
    assert refused.status_code == 400
