"""Admin request bodies: a field of the wrong type or an unknown one is a 422 naming it,
and nothing is done (no rebuild claimed, no comment added)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH


@pytest.mark.parametrize(
    "body, field",
    [
        pytest.param({"check": {}}, "check", id="check-object"),
        pytest.param({"check": "yes"}, "check", id="check-string"),
        pytest.param({"check": 1}, "check", id="check-number"),
        pytest.param({"check": None}, "check", id="check-null"),
        pytest.param({"projections": {}}, "projections", id="projections-object"),
        pytest.param({"projections": ""}, "projections", id="projections-empty-string"),
        pytest.param({"projections": None}, "projections", id="projections-null"),
        pytest.param({"projections": [1]}, "projections", id="projections-not-names"),
        pytest.param({"projection": ["conversations"]}, "projection", id="misspelt-field"),
    ],
)
def test_a_rebuild_with_a_bad_field_is_refused_and_not_started(
    app: Starlette, body: dict[str, Any], field: str
) -> None:
    answer = TestClient(app).post("/admin/rebuild", json=body, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"], answer.json()["field"]) == ("invalid_data", field)
    assert app.state.api.rebuilds == {}


def test_a_comment_with_an_unknown_field_is_refused(app: Starlette) -> None:
    body = {"author": "Dana", "body": "internal only", "pubilc": False}
    answer = TestClient(app).post("/tickets/local/1/comments", json=body, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"], answer.json()["field"]) == ("invalid_data", "pubilc")
