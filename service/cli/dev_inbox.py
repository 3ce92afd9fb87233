"""A stand-in chat platform for `serve --dev`: agents' replies land here when no real one is set.

It receives what TICKETSYNC_CHAT_REPLY_URL would (signed Standard Webhooks deliveries),
checks the signature like any receiver should, keeps the replies in memory (one per
webhook-id) and lists them at GET /dev/chat-replies, so `ticketsync simulate` can show a
reply travelling from the ticket back to the chat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import orjson

# Where the service hosts it (service/http/app.py); `serve --dev` saves its URL in .env.
ROUTE = "/dev/chat-replies"


class DevInbox:
    """`verify(body, headers, now)` checks a delivery's signature with `secret` as the chat
    would, returning its webhook-id (bootstrap.dev_inbox gives the chat adapter's)."""

    def __init__(self, secret: str, verify: Callable[[bytes, Any, float], str]):
        self.secret = secret
        self._verify = verify
        self._lock = threading.Lock()
        self._replies: dict[str, dict[str, Any]] = {}

    def receive(self, body: bytes, headers: Any, now: float) -> bool:
        """Keep a verified delivery; False when it was already kept. Raises Refused."""
        webhook_id = self._verify(body, headers, now)
        payload = orjson.loads(body)
        with self._lock:
            if webhook_id in self._replies:
                return False
            self._replies[webhook_id] = {"webhook_id": webhook_id, **payload}
            return True

    def replies(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            kept = list(self._replies.values())
        return [
            r for r in kept if conversation_id in (None, r.get("data", {}).get("conversation_id"))
        ]
