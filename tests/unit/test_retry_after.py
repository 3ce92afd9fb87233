"""Retry-After read as seconds to wait: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketsync.adapters.retry_after import parse_retry_after

# 2026-11-25T10:00:00Z, a Wednesday.
NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC).timestamp()

CASES = [
    pytest.param("120", 120.0, id="delay-seconds"),
    pytest.param("0", 0.0, id="zero-seconds"),
    pytest.param("  7\t", 7.0, id="surrounding-space"),
    pytest.param("1.5", 1.5, id="decimal-seconds-read"),
    pytest.param("Wed, 25 Nov 2026 10:00:30 GMT", 30.0, id="imf-fixdate"),
    pytest.param("Wednesday, 25-Nov-26 10:01:00 GMT", 60.0, id="obsolete-rfc850-date"),
    pytest.param("Wed Nov 25 10:00:45 2026", 45.0, id="obsolete-asctime-date"),
    pytest.param("Wed, 25 Nov 2026 09:59:00 GMT", 0.0, id="date-in-the-past-means-now"),
    pytest.param("Sun, 06 Nov 1994 08:49:37 GMT", 0.0, id="date-long-past-means-now"),
    pytest.param("Wed, 25 Nov 2026 10:00:00 GMT", 0.0, id="date-now"),
    pytest.param(None, None, id="absent"),
    pytest.param("", None, id="empty"),
    pytest.param("   ", None, id="blank"),
    pytest.param("soon", None, id="garbage"),
    pytest.param("-3", None, id="negative"),
    pytest.param("+5", None, id="signed"),
    pytest.param("1e3", None, id="exponent"),
    pytest.param("inf", None, id="infinity"),
    pytest.param("nan", None, id="not-a-number"),
    pytest.param("1" * 400, None, id="too-many-digits"),
    pytest.param("٣", None, id="non-ascii-digit"),
    pytest.param("Wed, 31 Feb 2026 10:00:00 GMT", None, id="impossible-date"),
    pytest.param("Wed, 25 Nov 2026", None, id="date-without-time"),
    pytest.param("Wed, 25 Nov 99999 10:00:00 GMT", None, id="year-out-of-range"),
]


@pytest.mark.parametrize("value, expected", CASES)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected
