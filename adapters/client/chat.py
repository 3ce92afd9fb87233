"""ChatClient: the chat webhook's events (docs/behaviour.md), signed and sent to ticketsync.

Each method builds one Standard Webhooks payload (`type`, `timestamp`, `data` with
`conversation_id`), signs it with adapters/chat/signing.py, POSTs it to
`{base_url}/webhooks/chat` and returns ticketsync's answer. What is valid is ticketsync's
to say: the client checks nothing the server checks, so there is one set of rules and
a refusal names its field the same way for every sender.

Retries. A connection error, a timeout or a 5xx is tried again, up to `retries` times,
with a short, growing, jittered pause. Every attempt carries the same `webhook-id` and the
same body bytes: ticketsync deduplicates by webhook-id and answers `200 duplicate` only
when the body is the one it stored (another body under a stored id is `409 conflict`), so
an attempt whose first try was stored but whose answer was lost comes back `duplicate`,
not refused. Only `webhook-timestamp` and the signature are made afresh for each attempt:
the timestamp must be within 300 s of the server's clock, and a retry after long
timeouts would otherwise be refused as stale.

The body is canonical JSON (sorted keys), so the same event built again from the same
values, in this process or another, is the same bytes: passing the same `event_id` and
`occurred_at` makes a re-sent event a duplicate, whatever order a dict was built in.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from ticketsync.adapters.chat.signing import decode_secret, signed_headers
from ticketsync.client.errors import ClientError, Refused, Unavailable
from ticketsync.events.errors import ConfigError

__all__ = ["ChatClient"]

PATH = "/webhooks/chat"
# First pause before a retry, in seconds; it doubles on each (0.25, 0.5, 1: under 2 s in
# all), with jitter so that many agents cut off at once do not come back in step.
BACKOFF = 0.25
# Transport failures that would fail the same way on every attempt: the URL or the
# request is wrong, not the network.
_UNSENDABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


class ChatClient:
    """Sends the AI agent's chat events to one ticketsync, signed with the chat's secret.

    Raises ValueError at construction when `base_url` is not an http(s) URL or `secret`
    is not a `whsec_` secret. Every sending method returns the answer's JSON
    (`{"status": "accepted" | "duplicate", "event_id", "position"}`, and `"ignored": true`
    for a type ticketsync stores but does not act on), and raises Refused or Unavailable.
    """

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        backoff: float = BACKOFF,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        try:
            decode_secret(secret)  # A wrong secret fails here, not at the first event.
        except ConfigError as error:
            raise ValueError(f"secret {error}") from None
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.url = str(url).rstrip("/") + PATH
        self.retries = retries
        self._secret = secret
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"ChatClient({self.url!r})"  # Never the secret.

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the events

    def started(
        self,
        conversation_id: str,
        *,
        customer: dict[str, Any],
        subject: str | None = None,
        channel: str | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`conversation.started`: who the customer is (`{id, email, name}`), about what, where."""
        data = {"customer": customer, "subject": subject, "channel": channel}
        return self.send("conversation.started", conversation_id, data, event_id, occurred_at)

    def message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        message_id: str | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`message.created`: a `user` or `assistant` message; a message_id is made when none is given."""
        data = {
            "message_id": f"msg_{uuid.uuid4().hex}" if message_id is None else message_id,
            "role": role,
            "content": content,
        }
        return self.send("message.created", conversation_id, data, event_id, occurred_at)

    def tool(
        self,
        conversation_id: str,
        tool: str,
        *,
        input: dict[str, Any],  # the webhook's name for it, builtin or not
        output: Any,
        status: str,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`tool.executed`: the tool's name, its input (an object), output (any JSON) and `ok` | `error`."""
        data = {"tool": tool, "input": input, "output": output, "status": status}
        return self.send("tool.executed", conversation_id, data, event_id, occurred_at)

    def intents(
        self,
        conversation_id: str,
        intents: Sequence[str],
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`intents.detected`: the intents detected, the primary first."""
        data = {"intents": list(intents)}
        return self.send("intents.detected", conversation_id, data, event_id, occurred_at)

    def note(
        self,
        conversation_id: str,
        text: str,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`note.added`: an internal note for the people on the conversation's ticket."""
        return self.send("note.added", conversation_id, {"text": text}, event_id, occurred_at)

    def escalate(
        self,
        conversation_id: str,
        reason: str,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`conversation.escalated`: the conversation needs a person, and why."""
        data = {"reason": reason}
        return self.send("conversation.escalated", conversation_id, data, event_id, occurred_at)

    def resolve(
        self,
        conversation_id: str,
        resolution: str,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """`conversation.resolved`: `resolved`, `pending_customer` or `duplicate`."""
        data = {"resolution": resolution}
        return self.send("conversation.resolved", conversation_id, data, event_id, occurred_at)

    # ------------------------------------------------------------------ sending

    def send(
        self,
        event_type: str,
        conversation_id: str,
        data: dict[str, Any],
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Send one event of any type (the methods above are this with the type's fields).

        `event_id` is the webhook-id (made when None); `occurred_at` the payload's
        `timestamp` (now when None; an aware datetime). Raises Refused or Unavailable;
        ValueError, before sending, for an `event_id` that cannot be a header or a naive
        `occurred_at`; TypeError when `data` is not JSON.
        """
        if event_id is None:
            event_id = f"evt_{uuid.uuid4().hex}"
        elif not event_id or not event_id.isascii() or not event_id.isprintable():
            # It travels as the webhook-id header, which carries printable ASCII only;
            # how long it may be is ticketsync's to say (a 401 naming webhook-id).
            raise ValueError(f"event_id must be printable ASCII, not {event_id!r}")
        body = orjson.dumps(
            {
                "type": event_type,
                "timestamp": _iso(occurred_at or datetime.now(UTC)),
                "data": {**data, "conversation_id": conversation_id},
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return self._deliver(event_id, body)

    def _deliver(self, webhook_id: str, body: bytes) -> dict[str, Any]:
        """POST `body` until ticketsync answers other than 5xx, or the attempts run out."""
        failure = ""
        status: int | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                pause = self._backoff * 2 ** (attempt - 1)
                self._sleep(random.uniform(pause / 2, pause))
            headers = signed_headers(self._secret, webhook_id, body, self._clock())
            headers["content-type"] = "application/json"
            try:
                response = self._http.post(self.url, content=body, headers=headers)
            except _UNSENDABLE as error:
                raise Unavailable(
                    f"the event cannot be sent to {self.url} ({type(error).__name__}: {error})",
                    status=None,
                    attempts=attempt + 1,
                ) from error
            except httpx.TransportError as error:
                failure, status = f"{type(error).__name__}: {error}", None
                continue
            if response.status_code >= 500:
                failure = f"{response.status_code} {_error_of(response)[1]}"
                status = response.status_code
                continue
            if response.is_success:
                return _answer(response)
            code, detail, field = _error_of(response)
            raise Refused(response.status_code, code, detail, field)
        raise Unavailable(
            f"ticketsync at {self.url} did not take event {webhook_id!r} in "
            f"{self.retries + 1} attempt(s); last: {failure}",
            status=status,
            attempts=self.retries + 1,
        )


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        # A 2xx means it was stored; what cannot be read is its position.
        raise ClientError(f"ticketsync answered {response.status_code} without a JSON object")
    return answer


def _error_of(response: httpx.Response) -> tuple[str | None, str, str | None]:
    """The `error`, `detail` and `field` of an error body (docs/behaviour.md, the chat webhook)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        text = " ".join(response.text.split())[:300]
        return None, text or response.reason_phrase or "no body", None
    code, detail, field = body.get("error"), body.get("detail"), body.get("field")
    return (
        code if isinstance(code, str) else None,
        detail if isinstance(detail, str) else orjson.dumps(body).decode()[:300],
        field if isinstance(field, str) else None,
    )


def _iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a `Z`, to the millisecond; refuses a naive time, which could be any zone's."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("occurred_at must be an aware datetime (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
