"""One error type in, one table out: every refusal's code has a status, and `answer`
turns each expected exception into the contract's JSON body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ticketsync.adapters.ports import NotFound, TicketClosed
from ticketsync.events.errors import Refused, StoreUnavailable
from ticketsync.service.http import errors

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("adapters", "events", "projections", "service")


def raised_codes() -> dict[str, str]:
    """Every literal code passed to Refused(...) or to a helper ending in `Refused`, by code,
    with where it was first seen."""
    codes: dict[str, str] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = node.args[0]
                if name in ("Refused", "_unauthorized", "_bad_request", "refused") and (
                    isinstance(first, ast.Constant) and isinstance(first.value, str)
                ):
                    codes.setdefault(first.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return codes


def test_the_scan_finds_the_codes_it_should() -> None:
    codes = raised_codes()
    # One from each kind of caller: a signature check, a parser, the API, the body reader.
    for code in ("invalid_signature", "invalid_payload", "invalid_query", "payload_too_large"):
        assert code in codes, code


def test_every_code_raised_anywhere_has_a_status() -> None:
    missing = {code: where for code, where in raised_codes().items() if code not in errors.STATUS}
    assert not missing, f"codes with no status in service/http/errors.py STATUS: {missing}"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid_json", 400),
        ("invalid_payload", 400),
        ("missing_signature", 401),
        ("invalid_signature", 401),
        ("stale_timestamp", 401),
        ("not_found", 404),
        ("conflict", 409),
        ("payload_too_large", 413),
        ("unsupported_media_type", 415),
        ("invalid_data", 422),
    ],
)
def test_contract_statuses(code: str, status: int) -> None:
    assert errors.STATUS[code] == status


def test_a_refusal_is_answered_with_its_code_detail_and_field() -> None:
    status, body, headers = errors.answer(
        Refused("invalid_data", "role must be user or assistant", "data.role"), "/webhooks/chat"
    )
    assert status == 422
    assert body == {
        "error": "invalid_data",
        "detail": "role must be user or assistant",
        "field": "data.role",
    }
    assert headers == {}


def test_no_field_no_field_key() -> None:
    _, body, _ = errors.answer(Refused("invalid_json", "not JSON"), "/webhooks/chat")
    assert "field" not in body


def test_a_missing_token_names_the_scheme_a_bad_signature_does_not() -> None:
    assert errors.answer(Refused("unauthorized", "token"), "/outbox")[2] == {
        "WWW-Authenticate": "Bearer"
    }
    assert errors.answer(Refused("invalid_signature", "no match"), "/webhooks/chat")[2] == {}


def test_an_unlisted_code_is_a_bug_answered_500_without_its_detail() -> None:
    status, body, _ = errors.answer(Refused("no_such_code", "secret detail"), "/x")
    assert status == 500
    assert body["error"] == "internal_error"
    assert "secret" not in body["detail"]


def test_port_errors_store_trouble_and_the_unexpected() -> None:
    assert errors.answer(NotFound("no ticket 9"), "/t")[:2] == (
        404,
        {"error": "not_found", "detail": "no ticket 9"},
    )
    assert errors.answer(TicketClosed("closed"), "/t")[0] == 409
    status, body, headers = errors.answer(StoreUnavailable("down"), "/webhooks/chat")
    assert (status, body["error"], headers) == (503, "store_unavailable", {"Retry-After": "5"})
    assert "down" not in body["detail"]
    status, body, _ = errors.answer(ZeroDivisionError("boom"), "/t")
    assert (status, body["error"]) == (500, "internal_error")
    assert "boom" not in body["detail"]
