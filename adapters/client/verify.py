"""verify_event: check what ticketsync POSTs to the chat (docs/behaviour.md, what the chat is told).

ticketsync signs what it tells the chat as Standard Webhooks 1.0 says
(https://www.standardwebhooks.com/), with TICKETSYNC_CHAT_REPLY_SECRET; this checks it
with the same code the server checks the chat's deliveries with (adapters/chat/signing.py),
so the two ends cannot disagree on the scheme.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ticketsync.adapters.chat.signing import decode_secret, verify
from ticketsync.client.errors import InvalidSignature
from ticketsync.events.errors import ConfigError
from ticketsync.events.errors import Refused as RefusedDelivery

__all__ = ["verify_event"]

_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verify_event(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | Sequence[str],
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload (`{"type", "timestamp", "data": {"conversation_id", ...}}`) of a delivery
    whose signature matches, as a dict.

    `headers` is any mapping, its names in any case; `body` the raw bytes as received (a
    str is taken as their UTF-8 text). `secret` is one `whsec_` secret, or several while
    one is being rotated (any may match). `now` (unix seconds) is for tests.

    Raises InvalidSignature when a header is missing or malformed, webhook-timestamp is
    more than 300 s from `now`, no `v1` signature matches, or the signed body is not a
    payload; ValueError when a secret is not a `whsec_` secret.
    """
    given = [secret] if isinstance(secret, str) else list(secret)
    if not given:
        raise ValueError("secret must be a whsec_ secret or a list of them, not empty")
    try:
        keys = [decode_secret(one) for one in given]
    except ConfigError as error:
        raise ValueError(f"secret {error}") from None
    raw = body.encode() if isinstance(body, str) else bytes(body)
    try:
        verify(raw, _lowered(headers), keys, time.time() if now is None else now)
    except RefusedDelivery as error:
        raise InvalidSignature(error.code, error.detail) from None
    return _payload(raw)


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """The signature headers by lower-case name; one given twice with two values is refused,
    since which of them was signed cannot be told."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key not in _HEADERS:
            continue
        if key in found and found[key] != value:
            raise InvalidSignature("malformed_signature", f"{key} is given twice")
        found[key] = value
    return found


def _payload(raw: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidSignature("invalid_payload", "the signed body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidSignature("invalid_payload", "the signed body is not a JSON object")
    data = payload.get("data")
    if not isinstance(payload.get("type"), str) or not isinstance(data, dict):
        raise InvalidSignature("invalid_payload", "the signed body has no `type` and `data`")
    if not isinstance(data.get("conversation_id"), str):
        raise InvalidSignature("invalid_payload", "the signed body's data has no conversation_id")
    return payload
