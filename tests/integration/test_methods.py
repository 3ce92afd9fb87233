"""A wrong method on a path is a 405 whose Allow names every method served on that path,
however many routes serve it."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("OPTIONS", "/tickets/local/1", "GET, HEAD, PATCH"),
        ("DELETE", "/tickets/local/1", "GET, HEAD, PATCH"),
        ("PUT", "/tickets/zendesk/1", "GET, HEAD"),
        ("GET", "/tickets/local/1/comments", "POST"),
        ("DELETE", "/dev/chat-replies", "GET, HEAD, POST"),
        ("GET", "/admin/rebuild", "POST"),
        ("OPTIONS", "/audit", "GET, HEAD"),
    ],
)
def test_allow_names_every_method_served_on_the_path(
    app: Starlette, method: str, path: str, allowed: str
) -> None:
    answer = TestClient(app).request(method, path, headers=AUTH)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allowed
    assert answer.json()["error"] == "method_not_allowed"
