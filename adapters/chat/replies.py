"""What the chat is told, delivered to the chat platform as signed webhooks (CONTRACT section 5).

Agents' replies, and the facts of the conversation's ticket and hand-over (`ticket.created`,
`ticket.status_changed`, `control.changed`, each numbered in its conversation, so its
webhook-id is stable). Each reply is one `agent.replied` payload POSTed to TICKETSYNC_CHAT_REPLY_URL, signed the
Standard Webhooks way (https://www.standardwebhooks.com/) with TICKETSYNC_CHAT_REPLY_SECRET.
The webhook-id is a function of the ticket comment (`reply_webhook_id`) and the body a
function of the SendReply, so every retry of one reply is the same delivery to the receiver,
which deduplicates by webhook-id; only webhook-timestamp and the signature change.

Every failure is raised as one of the classes in adapters/ports.py, with `status` the HTTP
status when there was an answer and None when there was not:

    connection refused, connect timeout       Retryable       nothing was sent
    read/write timeout, connection dropped    OutcomeUnknown  it may have been delivered;
      after sending                                           resending is safe (same id)
    429                                       RateLimited     retry_after from Retry-After, else 60
    408, 5xx                                  Retryable       retry_after from Retry-After if given
    409, 3xx, any other 4xx                   Permanent       the receiver's error, shortened
    a URL httpx cannot send to                Permanent

409 is Permanent because the bytes of a retry are identical to the first attempt's: a
receiver that answers 409 (as CONTRACT section 2 does for "this webhook-id is stored with a
different body") will answer it to every retry, so the call is parked for a person to see.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from ticketsync.adapters.chat.signing import decode_secret, signed_headers
from ticketsync.adapters.http_answers import NOT_SENT, UNSENDABLE
from ticketsync.adapters.ports import CallFailed, OutcomeUnknown, Permanent, RateLimited, Retryable
from ticketsync.adapters.retry_after import parse_retry_after
from ticketsync.events.commands import (
    TELL_TYPES,
    SendReply,
    Tell,
    TellStatusChanged,
    TellTicketCreated,
)
from ticketsync.events.tickets import TicketRef

__all__ = ["EVENT_TYPE", "ChatReplySender", "reply_webhook_id", "tell_webhook_id"]

logger = logging.getLogger(__name__)

EVENT_TYPE = "agent.replied"
# A 429 without a readable Retry-After: wait a minute rather than hammer the receiver.
DEFAULT_RATE_LIMIT_WAIT = 60.0
MAX_DETAIL_CHARS = 300


def reply_webhook_id(reply: SendReply) -> str:
    """The webhook-id of a reply: the same for every attempt to deliver one ticket comment."""
    return f"reply-{reply.system}-{reply.ticket_id}-{reply.comment_id}"


def tell_webhook_id(tell: Tell) -> str:
    """The webhook-id of a fact told to the chat: its type, the conversation (hashed, since a
    conversation id may hold any character) and the fact's number in it."""
    digest = hashlib.sha256(tell.conversation_id.encode()).hexdigest()[:16]
    return f"{TELL_TYPES[type(tell)].replace('.', '-')}-{digest}-{tell.number}"


def _ticket(ticket: TicketRef, *, whole: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {"system": ticket.system, "id": ticket.id}
    if whole:
        shown |= {"url": ticket.url, "status": ticket.status}
        if ticket.status_name is not None and ticket.status_name != ticket.status:
            shown["status_name"] = ticket.status_name  # the help desk's own word for it
    return shown


def tell_payload(tell: Tell) -> dict[str, Any]:
    """The payload of a fact told to the chat, in the Standard Webhooks payload shape."""
    data: dict[str, Any] = {"conversation_id": tell.conversation_id}
    if isinstance(tell, TellTicketCreated):
        data |= {
            "ticket": _ticket(tell.ticket),
            "route": {"group": tell.group, "priority": tell.priority, "tags": list(tell.tags)},
            "follows": _ticket(tell.follows, whole=False) if tell.follows else None,
        }
    elif isinstance(tell, TellStatusChanged):
        data |= {
            "ticket": _ticket(tell.ticket),
            "previous_status": tell.previous_status,
            "conversation_status": tell.conversation_status,
        }
    else:
        data |= {
            "holder": tell.holder,
            "reason": tell.reason,
            "ticket": _ticket(tell.ticket, whole=False) if tell.ticket else None,
        }
    return {"type": TELL_TYPES[type(tell)], "timestamp": _iso(tell.occurred_at), "data": data}


def reply_payload(reply: SendReply) -> dict[str, Any]:
    """The `agent.replied` payload of a reply, in the Standard Webhooks payload shape."""
    sent_at = _iso(reply.sent_at)
    return {
        "type": EVENT_TYPE,
        # The event's own time, not the attempt's, so a retry carries the same body.
        "timestamp": sent_at,
        "data": {
            "conversation_id": reply.conversation_id,
            "ticket": {"system": reply.system, "id": reply.ticket_id},
            "comment_id": reply.comment_id,
            "author": {"name": reply.author_name},
            "body": reply.body,
            "sent_at": sent_at,
        },
    }


class ChatReplySender:
    """Delivers agents' replies to the chat platform's reply URL, through a synchronous httpx client.

    Raises ConfigError at construction when the secret is not a `whsec_` base64 secret;
    `send` raises the CallFailed subclasses listed in the module docstring.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        decode_secret(secret)  # A bad secret fails at startup, not at the first reply.
        self.url = url
        self._secret = secret
        self._clock = clock
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"ChatReplySender({self.url!r})"  # Never the secret.

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> ChatReplySender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, reply: SendReply) -> None:
        """POST one reply, signed; return once the receiver answered 2xx.

        Raises Retryable, RateLimited, OutcomeUnknown or Permanent (module docstring).
        """
        self._post(reply_webhook_id(reply), reply_payload(reply), reply.conversation_id)

    def tell(self, tell: Tell) -> None:
        """POST one fact about the conversation's ticket or hand-over, signed; as `send`."""
        self._post(tell_webhook_id(tell), tell_payload(tell), tell.conversation_id)

    def _post(self, webhook_id: str, payload: dict[str, Any], conversation_id: str) -> None:
        body = orjson.dumps(payload)
        headers = signed_headers(self._secret, webhook_id, body, self._clock())
        headers["content-type"] = "application/json"
        fields = {"webhook_id": webhook_id, "conversation_id": conversation_id}
        started = time.monotonic()
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except (httpx.RequestError, httpx.InvalidURL) as error:
            failure = _transport_failure(error)
            logger.warning(
                "chat_reply.failed",
                extra={**fields, "error": type(error).__name__, "outcome": type(failure).__name__},
            )
            raise failure from error
        fields |= {
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        if response.is_success:
            logger.info("chat_reply.delivered", extra=fields)
            return
        failure = _http_failure(response, self._clock())
        logger.warning("chat_reply.refused", extra={**fields, "outcome": type(failure).__name__})
        raise failure


# ---------------------------------------------------------------------- answers


def _transport_failure(error: Exception) -> CallFailed:
    name = type(error).__name__
    if isinstance(error, NOT_SENT):
        return Retryable(f"the chat reply URL was not reached ({name}); nothing was sent")
    if isinstance(error, (*UNSENDABLE, httpx.InvalidURL)):
        return Permanent(f"the reply could not be sent to the chat reply URL ({name})")
    # A read or write timeout, a reset or a disconnect once the request started going out:
    # the receiver may have taken it. Resending is safe, as it deduplicates by webhook-id.
    return OutcomeUnknown(f"no answer from the chat reply URL after sending ({name})")


def _http_failure(response: httpx.Response, now: float) -> CallFailed:
    status = response.status_code
    detail = f"the chat reply URL answered {status}: {_describe(response)}"
    if status == 429:
        wait = _retry_after(response, now)
        return RateLimited(
            detail, status=status, retry_after=DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        )
    if status == 408 or status >= 500:
        return Retryable(detail, status=status, retry_after=_retry_after(response, now))
    return Permanent(detail, status=status)


def _describe(response: httpx.Response) -> str:
    """The receiver's `error` and `detail` (CONTRACT section 2's shape), or the start of its body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("error", "detail", "message") if body.get(key)]
        text = ": ".join(parts) if parts else orjson.dumps(body).decode()
    else:
        text = " ".join(response.text.split()) or response.reason_phrase or "no body"
    return text[:MAX_DETAIL_CHARS]


def _retry_after(response: httpx.Response, now: float) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date; None when absent or unreadable."""
    return parse_retry_after(response.headers.get("retry-after"), now=now)


def _iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a `Z`; a naive time is taken as UTC, as adapters/chat/webhooks.py reads them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
