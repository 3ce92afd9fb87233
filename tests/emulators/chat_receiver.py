"""A fake chat platform endpoint that receives agents' replies (CONTRACT section 5).

It checks signatures with the `standardwebhooks` package, the Standard Webhooks reference
implementation, rather than with adapters/chat/signing.py: a delivery it accepts is one any
Standard Webhooks receiver would accept. It answers the way CONTRACT section 2 answers
ticketsync's own webhooks, since a receiver that deduplicates by webhook-id behaves so:

    injected failure (fail_next)            the injected status, nothing processed
    missing or bad signature, stale time    401 {"error": "invalid_signature", ...}
    not application/json                    415
    not a JSON object                       400
    new webhook-id                          202 {"status": "accepted", "event_id": ...}
    known webhook-id, same JSON             200 {"status": "duplicate", "event_id": ...}
    known webhook-id, other JSON            409 {"error": "conflict", ...}

    receiver = ChatReceiver(secret=CHAT_SECRET)
    with serve(receiver) as url:
        ChatReplySender(url, CHAT_SECRET).send(reply)
    assert [d.webhook_id for d in receiver.deliveries()] == [reply_webhook_id(reply)]

deliveries() is what was accepted, once per webhook-id; attempts() is every request,
including injected failures, refusals and duplicates, so tests can see retries.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import anyio
import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = ["DEFAULT_PATH", "Attempt", "ChatReceiver", "serve"]

DEFAULT_PATH = "/ticketsync/replies"
JSON_CONTENT_TYPE = "application/json"

# How often a withheld answer checks whether serve() is stopping.
_POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class Attempt:
    """One request as the receiver got it, and what it answered."""

    webhook_id: str | None  # None when the header was missing.
    headers: Mapping[str, str]  # Names are lower-case.
    body: bytes
    json: Any  # The parsed body; None when it is empty or not JSON.
    received_at: datetime
    status: int  # What the receiver answered; for a withheld answer, what it would have.
    # accepted, duplicate, conflict, injected, invalid_signature, invalid_payload,
    # unsupported_media_type, or withheld (accepted, then never answered).
    outcome: str


@dataclass
class _Fault:
    remaining: int
    status: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)


class ChatReceiver:
    """The chat platform's reply endpoint, served by the Starlette application in `app`.

    Uvicorn serves `app` on its own thread while tests read state from theirs, so every
    access to state holds `_lock`, and the lock is never held across an `await`.
    """

    def __init__(
        self,
        secret: str,
        *,
        path: str = DEFAULT_PATH,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        self._webhook = Webhook(secret)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._attempts: list[Attempt] = []
        self._accepted: dict[str, Attempt] = {}  # By webhook-id, in order of acceptance.
        self._failures: list[_Fault] = []
        self._drops: list[_Fault] = []
        self.app = Starlette(routes=[Route(path, self._endpoint, methods=["POST"])])

    # ------------------------------------------------------------------ test controls

    def fail_next(
        self, n: int = 1, status: int = 500, retry_after: int | str | None = None
    ) -> None:
        """Answer the next n requests with `status` (and Retry-After) without processing them."""
        if n < 1:
            raise ValueError("n must be at least 1")
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._failures.append(_Fault(n, status, MappingProxyType(headers)))

    def drop_after_commit(self, n: int = 1) -> None:
        """Accept the next n valid deliveries, then never answer them.

        The connection stays open until the client's read timeout fires, so the client
        cannot tell whether the reply arrived, and its resend is a duplicate.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._drops.append(_Fault(n))

    def clear_faults(self) -> None:
        """Forget every fault set by fail_next() and drop_after_commit()."""
        with self._lock:
            self._failures.clear()
            self._drops.clear()

    # ------------------------------------------------------------------ inspection

    def deliveries(self) -> list[Attempt]:
        """The accepted deliveries, one per webhook-id, in the order they were accepted."""
        with self._lock:
            return list(self._accepted.values())

    def replies(self) -> list[Attempt]:
        """The accepted `agent.replied` deliveries: agents' replies, without the facts of the
        ticket and of who holds the conversation that the chat is told as well."""
        return [d for d in self.deliveries() if (d.json or {}).get("type") == "agent.replied"]

    def attempts(self) -> list[Attempt]:
        """Every request received, in order, whatever it was answered."""
        with self._lock:
            return list(self._attempts)

    # ------------------------------------------------------------------ HTTP layer

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            failure = _take(self._failures)
            if failure is not None:
                status, outcome = failure.status, "injected"
                answer = _error(status, "injected", "failure injected by the test")
                answer.headers.update(failure.headers)
                parsed: Any = _loads(body)
            else:
                status, outcome, answer, parsed = self._process(body, headers)
                if outcome == "accepted" and _take(self._drops) is not None:
                    outcome, answer = "withheld", _WithheldAnswer(self._stopping)
            attempt = Attempt(
                webhook_id=headers.get("webhook-id"),
                headers=MappingProxyType(headers),
                body=body,
                json=parsed,
                received_at=self._clock(),
                status=status,
                outcome=outcome,
            )
            self._attempts.append(attempt)
            if outcome in ("accepted", "withheld"):
                assert attempt.webhook_id is not None
                self._accepted[attempt.webhook_id] = attempt
        return answer

    def _process(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, Response, Any]:
        """Verify, parse and deduplicate one delivery; called holding the lock."""
        parsed = _loads(body)
        try:
            # The raw bytes, as signed; json_parse=False because parsing is ours to report.
            self._webhook.verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError) as error:
            # ValueError (binascii.Error among them): a malformed signature header, which
            # the reference implementation does not turn into WebhookVerificationError.
            detail = str(error) or type(error).__name__
            return 401, "invalid_signature", _error(401, "invalid_signature", detail), parsed
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON_CONTENT_TYPE:
            detail = f"content-type must be {JSON_CONTENT_TYPE}"
            return (
                415,
                "unsupported_media_type",
                _error(415, "unsupported_media_type", detail),
                parsed,
            )
        if not isinstance(parsed, dict):
            detail = "body must be a JSON object"
            return 400, "invalid_payload", _error(400, "invalid_payload", detail), parsed
        webhook_id = headers["webhook-id"]  # verify() refuses a delivery without one.
        first = self._accepted.get(webhook_id)
        if first is None:
            answer = _json(202, {"status": "accepted", "event_id": webhook_id})
            return 202, "accepted", answer, parsed
        if _canonical(first.json) == _canonical(parsed):
            answer = _json(200, {"status": "duplicate", "event_id": webhook_id})
            return 200, "duplicate", answer, parsed
        detail = "this webhook-id was accepted before with a different body"
        return 409, "conflict", _error(409, "conflict", detail), parsed


class _WithheldAnswer(Response):
    """A response that never comes: it sends nothing until the client hangs up.

    ASGI has no way to reset a connection, so this waits for `http.disconnect` and then
    ends the request without answering, as the Zendesk emulator's drop_after_commit does.
    """

    def __init__(self, stopping: threading.Event) -> None:
        super().__init__(status_code=503)
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while not self._stopping.is_set():
            with anyio.move_on_after(_POLL_INTERVAL):
                if (await receive())["type"] == "http.disconnect":
                    return
        # serve() is stopping and uvicorn waits for open requests; answer so it can finish.
        response = _error(503, "receiver_stopped", "the receiver shut down")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


@contextmanager
def serve(receiver: ChatReceiver, *, startup_timeout: float = 5.0) -> Iterator[str]:
    """Serve the receiver with uvicorn on 127.0.0.1 in a background thread; yield its endpoint URL.

    The URL is the full one to deliver to (TICKETSYNC_CHAT_REPLY_URL), path included.
    Raises RuntimeError when the server is not up within `startup_timeout` seconds.
    """
    # tests/emulators/zendesk.py's serve() is typed for, and reaches into, the Zendesk
    # emulator, so this is the same recipe rather than a call to it. Binding port 0 here
    # and handing uvicorn the socket avoids the race between finding a port and binding it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{receiver.path}"
    config = uvicorn.Config(
        receiver.app, http="h11", lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="chat-receiver", daemon=True
    )
    receiver._stopping.clear()
    thread.start()
    try:
        _wait_until(lambda: server.started or not thread.is_alive(), startup_timeout)
        if not server.started:
            raise RuntimeError(f"chat receiver did not start on {url}")
        yield url
    finally:
        # Release withheld answers first: uvicorn's graceful shutdown waits for them.
        receiver._stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


# ---------------------------------------------------------------------- helpers


def _take(faults: list[_Fault]) -> _Fault | None:
    """The first fault, used up by one; None when there is none."""
    if not faults:
        return None
    fault = faults[0]
    fault.remaining -= 1
    if fault.remaining == 0:
        faults.pop(0)
    return fault


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


def _canonical(value: Any) -> bytes:
    # Compare parsed JSON: a resend with other spacing or key order is the same delivery.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_CONTENT_TYPE)


def _error(status: int, code: str, detail: str) -> Response:
    return _json(status, {"error": code, "detail": detail})


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
