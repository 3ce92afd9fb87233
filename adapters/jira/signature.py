"""Jira webhook signatures: signing a delivery, and verifying one against the secrets.

A Jira Cloud admin webhook with a secret signs each delivery as
`X-Hub-Signature: sha256=<lowercase hex HMAC-SHA256(key = the secret as UTF-8, msg = the raw
body)>` (reference/jira.md, "Webhooks"). Nothing time-bound is signed, so there is no
replay window to check: a replay is a repeat delivery, which the log deduplicates by
`X-Atlassian-Webhook-Identifier`.

`verify` is a pure function of its arguments; it raises Refused (answered 401) with the
stable error codes of CONTRACT sections 2 and 3, as the Zendesk signature does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from ticketsync.adapters.signature_headers import require_present
from ticketsync.events.errors import Refused

SIGNATURE_HEADER = "x-hub-signature"
IDENTIFIER_HEADER = "x-atlassian-webhook-identifier"
RETRY_HEADER = "x-atlassian-webhook-retry"
ALGORITHM = "sha256"
# CONTRACT section 3: lowercase hex only; base64 or another algorithm is refused.
_SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Jira sends with `body` under `secret`."""
    return f"{ALGORITHM}={hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}"


def signed_headers(secret: str, body: bytes, identifier: str | None = None) -> dict[str, str]:
    """The headers Jira would send with `body`, signed with `secret`."""
    headers = {"X-Hub-Signature": sign(secret, body)}
    if identifier is not None:
        headers["X-Atlassian-Webhook-Identifier"] = identifier
    return headers


def _unauthorized(code: str, detail: str, header: str | None = None) -> Refused:
    # `field` names the header at fault, when one is.
    return Refused(code, detail, header)


def read_headers(headers: Mapping[str, str]) -> bytes:
    """The signature's digest, checked for presence and form only, before the body is read.

    Raises Refused (answered 401): `missing_signature` without the header,
    `malformed_signature` when it is not `sha256=` and 64 lowercase hex digits.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    [value] = require_present(lowered, (SIGNATURE_HEADER,))
    match = _SIGNATURE.fullmatch(value.strip())
    if match is None:
        raise _unauthorized(
            "malformed_signature",
            f"{SIGNATURE_HEADER} must be sha256= and the lowercase hex of an HMAC-SHA256",
            SIGNATURE_HEADER,
        )
    return bytes.fromhex(match[1])


def verify(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Check a delivery's signature against the configured webhook secrets.

    Raises Refused (answered 401): what `read_headers` raises, and `invalid_signature` when
    no secret matches.
    """
    verify_read(body, read_headers(headers), secrets)


def verify_read(body: bytes, digest: bytes, secrets: Sequence[str]) -> None:
    """`verify`, for a digest already read by `read_headers`."""
    if isinstance(secrets, str):
        # A bare string is a sequence of one-character keys; never let those match.
        secrets = (secrets,)
    if not any(secrets):
        # Say so, rather than that the signature matches none: the fix is in the settings.
        raise _unauthorized(
            "invalid_signature",
            "no Jira webhook secret is configured (TICKETSYNC_JIRA_WEBHOOK_SECRET)",
        )
    matched = False
    for secret in secrets:
        if not secret:
            continue  # An empty key is one anybody can sign with.
        # Jira signs the raw bytes; parsing first would change what was signed.
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # Every secret is tried, whichever matches, and compare_digest takes the same time
        # wherever the bytes differ.
        matched |= hmac.compare_digest(expected, digest)
    if not matched:
        raise _unauthorized(
            "invalid_signature", f"{SIGNATURE_HEADER} matches no configured webhook secret"
        )
