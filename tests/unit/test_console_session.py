"""The console's session cookie and origin check, as pure functions."""

from __future__ import annotations

import pytest

from ticketsync.service.http.console import session

TOKEN = "admin-token"
NOW = 1_800_000_000.0


def test_a_session_issued_now_is_valid_and_another_tokens_is_not() -> None:
    cookie = session.issue(TOKEN, NOW)
    assert session.valid(cookie, TOKEN, NOW + 60)
    assert not session.valid(cookie, "another-token", NOW + 60)


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("9" * 5000 + ".nonce.mac", id="issue-time-of-thousands-of-digits"),
        pytest.param("12x.nonce.mac", id="issue-time-not-a-number"),
        pytest.param("", id="empty"),
    ],
)
def test_a_cookie_that_is_not_ours_is_refused_without_raising(cookie: str) -> None:
    assert not session.valid(cookie, TOKEN, NOW)


@pytest.mark.parametrize(
    "origin, scheme, host, same",
    [
        pytest.param("http://sync.example:8000", "http", "sync.example:8000", True, id="same"),
        pytest.param(None, "http", "sync.example", True, id="no-origin-left-to-csrf"),
        # A proxy ends TLS: the browser says https, the service sees http.
        pytest.param("https://sync.example", "http", "sync.example", True, id="behind-tls-proxy"),
        pytest.param("http://sync.example", "https", "sync.example", False, id="downgraded"),
        pytest.param("https://evil.example", "http", "sync.example", False, id="other-host"),
        pytest.param("http://sync.example:8001", "http", "sync.example:8000", False, id="port"),
        pytest.param("http://sync.example", "http", None, False, id="no-host"),
    ],
)
def test_same_origin(origin: str | None, scheme: str, host: str | None, same: bool) -> None:
    assert session.same_origin(origin, scheme, host) is same
