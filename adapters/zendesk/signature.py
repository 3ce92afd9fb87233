"""Zendesk webhook signatures: signing a delivery, and verifying one against the secrets.

Every Zendesk webhook (event subscriptions and trigger bodies alike) is signed the same way:
base64(HMAC-SHA256(key = the secret as UTF-8 text, msg = the timestamp header's text + the
raw body)), no separator (docs/zendesk.md §1).

`verify` is a pure function of its arguments; it raises Refused (a 401 code) with the
stable error code of CONTRACT sections 2 and 3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from ticketsync.adapters.signature_headers import require_present
from ticketsync.events.errors import Refused

SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"
INVOCATION_HEADER = "x-zendesk-webhook-invocation-id"
# docs/zendesk.md §1: Zendesk documents no replay window; this is ours.
TOLERANCE_SECONDS = 300
# An HMAC-SHA256 digest is 32 bytes, 44 characters of base64; anything much longer is not one.
_DIGEST_SIZE = hashlib.sha256().digest_size
_MAX_SIGNATURE_CHARS = 128

# The timestamp header as Zendesk sends it: `2021-03-25T05:09:27Z`.
_HEADER_TIME = re.compile(
    r"(?P<clock>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})"
)


def _signed_at(text: str) -> datetime | None:
    """The header's time as aware UTC, or None when it is not in Zendesk's form."""
    match = _HEADER_TIME.fullmatch(text)
    if not match:
        return None
    # datetime takes microseconds; the header may carry up to nanoseconds.
    fraction = (match["fraction"] or "")[:6]
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    try:
        parsed = datetime.fromisoformat(
            f"{match['clock']}{'.' + fraction if fraction else ''}{zone}"
        )
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Zendesk-Webhook-Signature` value for `body` signed at `timestamp` (header text)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(
    secret: str, body: bytes, now: float, invocation_id: str | None = None
) -> dict[str, str]:
    """The headers Zendesk would send with `body` at `now`, signed with `secret`."""
    timestamp = datetime.fromtimestamp(math.floor(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": sign(secret, timestamp, body),
    }
    if invocation_id is not None:
        headers["X-Zendesk-Webhook-Invocation-Id"] = invocation_id
    return headers


def _unauthorized(code: str, detail: str, header: str | None = None) -> Refused:
    # `field` names the header at fault, when one is.
    return Refused(code, detail, header)


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    # HTTP header names are case-insensitive; Starlette's Headers already lower-cases them,
    # a plain dict in a test may not.
    return {name.lower(): value for name, value in headers.items()}


def _read_signature_headers(headers: Mapping[str, str]) -> tuple[str, datetime, bytes]:
    """The timestamp text, its time and the signature bytes, checked for presence and form."""
    signature_text, timestamp_text = require_present(headers, (SIGNATURE_HEADER, TIMESTAMP_HEADER))
    signed_at = _signed_at(timestamp_text)
    if signed_at is None:
        raise _unauthorized(
            "malformed_timestamp",
            f"{TIMESTAMP_HEADER} must be an ISO-8601 UTC time such as 2026-11-25T10:00:00Z",
            TIMESTAMP_HEADER,
        )
    signature = None
    if len(signature_text) <= _MAX_SIGNATURE_CHARS:
        try:
            signature = base64.b64decode(signature_text.strip(), validate=True)
        except (binascii.Error, ValueError):
            signature = None
    if signature is None or len(signature) != _DIGEST_SIZE:
        raise _unauthorized(
            "malformed_signature",
            f"{SIGNATURE_HEADER} must be the base64 of an HMAC-SHA256",
            SIGNATURE_HEADER,
        )
    return timestamp_text, signed_at, signature


def read_headers(headers: Mapping[str, str]) -> tuple[str, datetime, bytes]:
    """The signature headers, checked for presence and form only, before the body is read.

    Raises Refused (answered 401): `missing_signature`, `malformed_timestamp` or
    `malformed_signature`, its `field` naming the header.
    """
    return _read_signature_headers(_lowered(headers))


def verify(body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: float) -> None:
    """Check a delivery's signature and timestamp against the configured signing secrets.

    Raises Refused (answered 401): what `read_headers` raises, `stale_timestamp` when the
    timestamp is more than 300 s from `now`, `invalid_signature` when no secret matches.
    """
    verify_read(body, read_headers(headers), secrets, now)


def verify_read(
    body: bytes, read: tuple[str, datetime, bytes], secrets: Sequence[str], now: float
) -> None:
    """`verify`, for headers already read by `read_headers`."""
    timestamp_text, signed_at, signature = read
    if abs(now - signed_at.timestamp()) > TOLERANCE_SECONDS:
        raise _unauthorized(
            "stale_timestamp",
            f"{TIMESTAMP_HEADER} is more than {TOLERANCE_SECONDS} s from the server clock",
            TIMESTAMP_HEADER,
        )
    # Zendesk signs the timestamp text as sent followed by the raw bytes; parsing or
    # re-serialising either would change what was signed (docs/zendesk.md §1).
    content = timestamp_text.encode() + body
    if isinstance(secrets, str):
        # A bare string is a sequence of one-character keys; never let those match.
        secrets = (secrets,)
    if not any(secrets):
        # Say so, rather than that the signature matches none: the fix is in the settings.
        raise _unauthorized(
            "invalid_signature",
            "no Zendesk webhook secret is configured (TICKETSYNC_ZENDESK_WEBHOOK_SECRET)",
        )
    matched = False
    for secret in secrets:
        if not secret:
            # An empty key is one anybody can sign with.
            continue
        # The secret is the key as text, although it looks like base64 (docs/zendesk.md §1).
        expected = hmac.new(secret.encode(), content, hashlib.sha256).digest()
        # `|=` rather than an early return keeps the loop's length independent of which
        # secret matched; compare_digest takes the same time wherever the bytes differ.
        matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise _unauthorized(
            "invalid_signature", f"{SIGNATURE_HEADER} matches no configured signing secret"
        )
