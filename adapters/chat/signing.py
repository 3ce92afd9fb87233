"""Standard Webhooks signatures for the chat platform: secrets, signing and verifying.

Signing follows Standard Webhooks 1.0 (https://www.standardwebhooks.com/): the signed
content is "<webhook-id>.<webhook-timestamp>.<raw body>", HMAC-SHA256 keyed with the
base64-decoded part of a `whsec_` secret, sent as space-separated `v1,<base64>` entries.
The same scheme signs the deliveries ticketsync receives and the replies it sends.

`verify` is a pure function of its arguments; it raises Refused (a 401 code) with the
stable error code that CONTRACT section 2 gives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping, Sequence

from ticketsync.adapters.signature_headers import require_present
from ticketsync.events.errors import ConfigError, Refused

SECRET_PREFIX = "whsec_"
SECRET_FORMAT = "'whsec_' followed by the base64 of the key"
TOLERANCE_SECONDS = 300
MAX_ID_LENGTH = 255
# A delivery may carry a few signatures (one per secret during a rotation); more than
# this is not a rotation, and each costs an HMAC.
MAX_SIGNATURES = 8


def generate_secret() -> str:
    """A new random `whsec_` secret (24 bytes of key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (`whsec_` + base64).

    Raises ConfigError, with a one-line reason, when the prefix is missing or the rest is
    not base64: a secret taken as it is would sign with other bytes than the sender's.
    """
    text = secret.strip()
    if not text.startswith(SECRET_PREFIX):
        raise ConfigError(
            f"must be a Standard Webhooks secret, {SECRET_FORMAT}; it has no 'whsec_'"
        )
    try:
        key = base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"must be a Standard Webhooks secret, {SECRET_FORMAT}; the part after 'whsec_' "
            "is not valid base64"
        ) from None
    if not key:
        raise ConfigError(f"must be a Standard Webhooks secret, {SECRET_FORMAT}; the key is empty")
    return key


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value (one `v1,` entry) for a delivery."""
    content = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, webhook_id: str, body: bytes, now: float) -> dict[str, str]:
    """The three Standard Webhooks headers for a delivery, signed with one secret."""
    timestamp = math.floor(now)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(decode_secret(secret), webhook_id, timestamp, body),
    }


def _unauthorized(code: str, detail: str, header: str | None = None) -> Refused:
    # `field` names the header at fault, when one is.
    return Refused(code, detail, header)


def read_headers(headers: Mapping[str, str]) -> tuple[str, int, list[bytes]]:
    """The delivery id, timestamp and signatures, checked for presence and form only.

    Raises Refused (answered 401) whose `field` names the header at fault when one is:
    `missing_signature`, `malformed_timestamp` or `malformed_signature`.
    """
    webhook_id, timestamp_text, signature_text = require_present(
        headers, ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if len(webhook_id) > MAX_ID_LENGTH or not webhook_id.isprintable():
        raise _unauthorized(
            "malformed_signature",
            f"webhook-id must be printable and at most {MAX_ID_LENGTH} characters",
            "webhook-id",
        )
    if not timestamp_text.isascii() or not timestamp_text.isdigit() or len(timestamp_text) > 12:
        raise _unauthorized(
            "malformed_timestamp",
            "webhook-timestamp must be a whole number of unix seconds, e.g. 1795600800",
            "webhook-timestamp",
        )
    signatures: list[bytes] = []
    entries = signature_text.split()
    if len(entries) > MAX_SIGNATURES:
        raise _unauthorized(
            "malformed_signature",
            f"webhook-signature has more than {MAX_SIGNATURES} entries",
            "webhook-signature",
        )
    for entry in entries:
        version, comma, value = entry.partition(",")
        if not comma or not version or not value:
            raise _unauthorized(
                "malformed_signature",
                "webhook-signature entries must look like 'v1,<base64>'",
                "webhook-signature",
            )
        if version != "v1":
            # Other schemes (v1a: asymmetric) may sit beside ours; they are not ours to check.
            continue
        try:
            signatures.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise _unauthorized(
                "malformed_signature",
                "a webhook-signature entry is not valid base64",
                "webhook-signature",
            ) from None
    return webhook_id, int(timestamp_text), signatures


def verify(body: bytes, headers: Mapping[str, str], keys: Sequence[bytes], now: float) -> str:
    """Check a delivery's signature and timestamp; return its webhook-id.

    Raises Refused (answered 401) when a header is missing or malformed, the timestamp is
    more than 300 s from `now`, or no `v1` signature matches any of `keys`.
    """
    return verify_read(body, read_headers(headers), keys, now)


def verify_read(
    body: bytes, read: tuple[str, int, list[bytes]], keys: Sequence[bytes], now: float
) -> str:
    """`verify`, for headers already read by `read_headers`."""
    webhook_id, timestamp, signatures = read
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise _unauthorized(
            "stale_timestamp",
            f"webhook-timestamp is more than {TOLERANCE_SECONDS} s from the server clock",
            "webhook-timestamp",
        )
    content = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    matched = False
    for key in keys:
        expected = hmac.new(key, content, hashlib.sha256).digest()
        for candidate in signatures:
            # compare_digest takes the same time wherever the bytes differ; `|=` rather
            # than an early return keeps the loop's length independent of which matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise _unauthorized("invalid_signature", "no webhook-signature matches a configured secret")
    return webhook_id
