"""The HTTP service: webhook targets, the read API and health.

Handlers raise; one table at the bottom turns exceptions into JSON answers of the form
`{"error": "<stable code>", "detail": "<for a person>", "field": "<path>"}`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hmac
import importlib.metadata
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ticketsync.adapters.chat import signing
from ticketsync.adapters.chat import webhooks as chat
from ticketsync.adapters.ports import NotFound, TicketClosed
from ticketsync.adapters.zendesk import signature as zendesk_signature
from ticketsync.adapters.zendesk import webhooks as zendesk_webhooks
from ticketsync.events.errors import RejectedDelivery, StoreUnavailable
from ticketsync.service.bootstrap import Container
from ticketsync.service.http import local_desk
from ticketsync.service.queries import audit, views
from ticketsync.service.store.entries import NewEntry

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# h11 refuses more than this by default, httptools does not; deliveries carry a few hundred.
MAX_HEADER_BYTES = 16 * 1024
# Allocations between two passes of the garbage collector over the young objects, once
# the service is up (the default is 700; see tune_garbage_collector).
YOUNG_COLLECTION_EVERY = 10_000

# The fields of POST /admin/rebuild's body.
REBUILD_FIELDS = ("projections", "check")

STORE_UNAVAILABLE = "the database cannot be reached; nothing was stored, retry later"
UNEXPECTED = "an unexpected error occurred"

# GET /: what a newcomer who opens the service's address in a browser or with curl sees.
INDEX = {
    "service": "ticketsync",
    "version": importlib.metadata.version("ticketsync"),
    "links": {
        "healthz": {"href": "/healthz", "title": "log position and projection lag (no token)"},
        "openapi": {"href": "/openapi.json", "title": "the API described (admin token)"},
        "ui": {"href": "/ui", "title": "the operations console: not there yet"},
    },
    "docs": "README.md beside the code: quick start, API, configuration and the CLI",
}


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """An error answer of the read API (bad query, unknown resource, no token)."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field


def _error_body(code: str, detail: str, field: str | None) -> dict[str, str]:
    body = {"error": code, "detail": detail}
    if field is not None:
        body["field"] = field
    return body


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes."""
    return await receive_body(request.headers, request.receive, limit)


async def receive_body(
    headers: Mapping[str, str], receive: Receive, limit: int = MAX_BODY_BYTES
) -> bytes:
    """The raw body of a request from its ASGI messages, refused with 413 as soon as it
    passes `limit` bytes, and with 400 when the client leaves before it is whole."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RejectedDelivery(413, "payload_too_large", f"body is larger than {limit} bytes")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise RejectedDelivery(400, "incomplete_body", "the client left before the body ended")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RejectedDelivery(413, "payload_too_large", f"body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def request_headers(scope: Scope) -> dict[str, str]:
    """A request's headers by (lower-case) name; of a repeated header, the first."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


def require_json(headers: Mapping[str, str]) -> None:
    """Raise 415 unless the request says its body is JSON (UTF-8)."""
    content_type = headers.get("content-type", "")
    media_type, _, parameters = content_type.partition(";")
    charset = ""
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type.strip().lower() != "application/json" or charset not in ("", "utf-8", "utf8"):
        raise RejectedDelivery(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, got {content_type[:80]!r}",
        )


Handler = Callable[[Request], Awaitable[Response]]


def check_query(request: Request, known: frozenset[str]) -> None:
    """Refuse a query parameter the endpoint does not know, one given more than once, and
    one given empty: a typo (`conversation=` for `conversation_id=`) or an empty filter must
    never widen a query, and of two values neither is the obvious one. Raises ApiError
    (400 invalid_query, naming it)."""
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name not in known:
            takes = f"it takes {', '.join(sorted(known))}" if known else "it takes none"
            raise ApiError(
                400, "invalid_query", f"unknown query parameter {name[:100]!r}; {takes}", name
            )
        if name in seen:
            raise ApiError(400, "invalid_query", f"{name} is given more than once", name)
        if not value:
            raise ApiError(
                400, "invalid_query", f"{name} is empty; leave it out or give it a value", name
            )
        seen.add(name)


class Api:
    """The endpoints, bound to one container of collaborators."""

    def __init__(self, container: Container):
        self.container = container
        self.settings = container.settings
        self.chat_keys = container.chat_webhook_keys
        self.counters: dict[tuple[str, str], int] = {}
        self.rebuilds: dict[str, Any] = {}

    def count(self, source: str, outcome: str) -> None:
        key = (source, outcome)
        self.counters[key] = self.counters.get(key, 0) + 1

    def reader(self, handler: Handler, query: Iterable[str] = (), *, admin: bool = True) -> Handler:
        """A read endpoint: the token (unless `admin` is false), then the query's parameter
        names against `query`, then `handler`. Every GET route is built with it."""
        known = frozenset(query)

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            if admin:
                self.require_admin(request)
            check_query(request, known)
            return await handler(request)

        return endpoint

    def require_admin(self, request: Request) -> None:
        expected = self.settings.admin_token or ""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not (
            expected
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), expected.encode())
        ):
            raise ApiError(
                401, "unauthorized", "a valid 'Authorization: Bearer <admin token>' is required"
            )

    async def chat_webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._webhook("chat", self._chat_webhook, scope, receive, send)

    async def zendesk_webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._webhook("zendesk", self._zendesk_webhook, scope, receive, send)

    async def _webhook(
        self,
        source: str,
        handle: Callable[[dict[str, str], Receive], Awaitable[tuple[int, dict[str, Any]]]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """A webhook target as a bare ASGI app: every delivery comes this way, so it goes
        without the framework's layers (request objects, routing, middleware), and answers
        each outcome itself, as the exception handlers below answer the other endpoints."""
        extra: tuple[tuple[bytes, bytes], ...] = ()
        try:
            status, body = await handle(request_headers(scope), receive)
        except RejectedDelivery as rejected:
            self.count(source, f"rejected_{rejected.status}")
            logger.info(
                "webhook.rejected",
                extra={"source": source, "status": rejected.status, "error": rejected.code},
            )
            status, body = (
                rejected.status,
                _error_body(rejected.code, rejected.detail, rejected.field),
            )
        except StoreUnavailable as error:
            logger.warning("store.unavailable", extra={"path": scope["path"], "error": str(error)})
            status, body = 503, _error_body("store_unavailable", STORE_UNAVAILABLE, None)
            extra = ((b"retry-after", b"5"),)
        except Exception:
            logger.exception("http.unexpected_error", extra={"path": scope["path"]})
            status, body = 500, _error_body("internal_error", UNEXPECTED, None)
        content = orjson.dumps(body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(content)),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _chat_webhook(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        # Cheap refusals first, before reading a body that may be large.
        require_json(headers)
        signed = signing.read_headers(headers)
        body = await receive_body(headers, receive)
        # The signature covers the raw bytes; parsing first could change them.
        delivery_id = signing.verify_read(body, signed, self.chat_keys, self.container.clock())
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RejectedDelivery(400, "invalid_json", "body is not valid UTF-8") from None
        delivery = chat.parse(body)
        entry = NewEntry(
            source="chat",
            delivery_id=delivery_id,
            type=delivery.type,
            occurred_at=delivery.occurred_at,
            recorded_at=datetime.fromtimestamp(self.container.clock(), UTC),
            conversation_id=delivery.conversation_id,
            raw=text,
        )
        return await self._store(entry, ignored=delivery.event is None)

    async def _store(self, entry: NewEntry, *, ignored: bool) -> tuple[int, dict[str, Any]]:
        """Append a verified delivery; the answer CONTRACT section 2 gives for it."""
        outcome = await self.container.ingestor.append(entry)
        self.count(entry.source, outcome.status)
        logger.info(
            "webhook." + outcome.status,
            extra={
                "source": entry.source,
                "delivery_id": entry.delivery_id,
                "position": outcome.position,
            },
        )
        if outcome.status == "conflict":
            raise RejectedDelivery(
                409,
                "conflict",
                f"delivery id {entry.delivery_id!r} was already stored with a different body",
            )
        body_out: dict[str, Any] = {
            "status": outcome.status,
            "event_id": entry.delivery_id,
            "position": outcome.position,
        }
        if ignored:
            body_out["ignored"] = True
        return (202 if outcome.status == "accepted" else 200), body_out

    async def _zendesk_webhook(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        require_json(headers)
        for name in ("x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"):
            if not headers.get(name):
                raise RejectedDelivery(401, "missing_signature", f"missing header: {name}", name)
        body = await receive_body(headers, receive)
        # Zendesk signs the raw bytes; parsing first could change them.
        zendesk_signature.verify(
            body, headers, self.settings.zendesk_webhook_secrets, self.container.clock()
        )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RejectedDelivery(400, "invalid_json", "body is not valid UTF-8") from None
        delivery = zendesk_webhooks.parse(body, headers)
        conversation_id = delivery.external_id
        if conversation_id is None and delivery.ticket_id is not None:
            known = await run_in_threadpool(
                self.container.store.ticket_state, "zendesk", delivery.ticket_id
            )
            conversation_id = known[0] if known else None
        entry = NewEntry(
            source="zendesk",
            delivery_id=delivery.delivery_id,
            type=delivery.type,
            occurred_at=delivery.occurred_at,
            recorded_at=datetime.fromtimestamp(self.container.clock(), UTC),
            conversation_id=conversation_id,
            ticket=f"zendesk:{delivery.ticket_id}" if delivery.ticket_id else None,
            raw=text,
        )
        return await self._store(entry, ignored=delivery.event is None)

    async def _json_body(self, request: Request) -> Any:
        require_json(request.headers)
        body = await read_body(request)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise RejectedDelivery(
                400, "invalid_json", f"body is not valid JSON: {error}"
            ) from None

    async def local_comment(self, request: Request) -> Response:
        self.require_admin(request)
        payload = await self._json_body(request)
        answer = await run_in_threadpool(
            local_desk.comment, self.container, request.path_params["ticket_id"], payload
        )
        self._wake()
        return JSONResponse(answer, status_code=201)

    async def local_change(self, request: Request) -> Response:
        self.require_admin(request)
        payload = await self._json_body(request)
        answer = await run_in_threadpool(
            local_desk.change, self.container, request.path_params["ticket_id"], payload
        )
        self._wake()
        return JSONResponse(answer)

    async def dev_reply(self, request: Request) -> Response:
        inbox = self.container.dev_inbox
        assert inbox is not None
        body = await read_body(request)
        fresh = inbox.receive(body, request.headers, self.container.clock())
        return JSONResponse(
            {"status": "accepted" if fresh else "duplicate"}, status_code=202 if fresh else 200
        )

    async def dev_replies(self, request: Request) -> Response:
        inbox = self.container.dev_inbox
        assert inbox is not None
        return JSONResponse({"replies": inbox.replies(request.query_params.get("conversation_id"))})

    async def start_rebuild(self, request: Request) -> Response:
        from ticketsync.service.workers.rebuild import Rebuild, RebuildRefused, check_names

        self.require_admin(request)
        # An empty body means every projection; a body is read like any other, bounded.
        has_body = (
            request.headers.get("content-length", "0") != "0"
            or "transfer-encoding" in request.headers
        )
        payload = await self._json_body(request) if has_body else {}
        if not isinstance(payload, dict):
            raise ApiError(400, "invalid_payload", "body must be a JSON object")
        # A misspelt field ("projection") would otherwise rebuild every model.
        unknown = sorted(set(payload) - set(REBUILD_FIELDS))
        if unknown:
            raise ApiError(
                422,
                "invalid_data",
                f"unknown field {unknown[0]!r}; fields are {', '.join(REBUILD_FIELDS)}",
                unknown[0],
            )
        names = payload.get("projections", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ApiError(
                422, "invalid_data", "projections must be a list of names", "projections"
            )
        check = payload.get("check", False)
        if not isinstance(check, bool):
            raise ApiError(422, "invalid_data", "check must be true or false", "check")
        try:
            check_names(names)
        except RebuildRefused as error:
            raise ApiError(400, "unknown_projection", str(error), "projections") from None
        rebuild = Rebuild(self.container.store, self.container.projector.policy, check=check)
        try:
            await run_in_threadpool(rebuild.claim)
        except RebuildRefused as error:
            raise ApiError(409, "rebuild_running", str(error)) from None
        self.rebuilds[rebuild.rebuild_id] = rebuild.progress
        threading.Thread(
            target=self._run_rebuild, args=(rebuild,), name="rebuild", daemon=True
        ).start()
        return JSONResponse(rebuild.progress.as_dict(), status_code=202)

    def _run_rebuild(self, rebuild: Any) -> None:
        try:
            rebuild.run()
        except Exception:
            logger.exception("rebuild.failed", extra={"rebuild_id": rebuild.rebuild_id})

    async def rebuild_status(self, request: Request) -> Response:
        progress = self.rebuilds.get(request.path_params["rebuild_id"])
        if progress is None:
            raise ApiError(404, "not_found", "no rebuild with that id in this process")
        return JSONResponse(progress.as_dict())

    def _wake(self) -> None:
        for worker in self.container.workers:
            worker.wake.set()

    async def index(self, request: Request) -> Response:
        """Where to go from here, for someone who opened the service's address (no token)."""
        return JSONResponse(INDEX)

    async def healthz(self, request: Request) -> Response:
        try:
            position, projections = await run_in_threadpool(self._positions)
        except StoreUnavailable as error:
            return JSONResponse(
                {"status": "unavailable", "error": "store_unavailable", "detail": str(error)},
                status_code=503,
            )
        lags = {
            name: {"position": at, "lag": max(0, position - at)} for name, at in projections.items()
        }
        return JSONResponse({"status": "ok", "position": position, "projections": lags})

    def _positions(self) -> tuple[int, dict[str, int]]:
        positions = {self.container.projector.name: 0}
        positions.update(self.container.store.projection_positions())
        return self.container.log.position(), positions

    def _gauges(self) -> tuple[int, dict[str, int], dict[str, int]]:
        return *self._positions(), self.container.store.unfinished_calls()

    async def conversation(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        body = await run_in_threadpool(views.conversation, self.container, conversation_id)
        if body is None:
            raise ApiError(404, "not_found", f"no conversation {conversation_id!r}")
        return JSONResponse(body)

    async def ticket(self, request: Request) -> Response:
        system, ticket_id = request.path_params["system"], request.path_params["ticket_id"]
        body = await run_in_threadpool(views.ticket, self.container, system, ticket_id)
        if body is None:
            raise ApiError(404, "not_found", f"no ticket {system}:{ticket_id}")
        return JSONResponse(body)

    async def outbox(self, request: Request) -> Response:
        state = request.query_params.get("state")
        if state not in (None, "pending", "parked", "done"):
            raise ApiError(400, "invalid_query", "state must be pending, parked or done", "state")
        calls = await run_in_threadpool(self.container.store.calls, state)
        return JSONResponse({"calls": [views.call(call) for call in calls]})

    async def retry_call(self, request: Request) -> Response:
        self.require_admin(request)
        call_id = request.path_params["call_id"]
        call = await run_in_threadpool(self.container.dispatcher.retry, call_id)
        if call is None:
            raise ApiError(404, "not_found", f"no call {call_id!r}")
        if call.state == "done":
            raise ApiError(409, "already_done", f"call {call_id!r} has succeeded already")
        for worker in self.container.workers:
            worker.wake.set()
        return JSONResponse(views.call(call))

    async def audit(self, request: Request) -> Response:
        try:
            query = audit.query_from(request.query_params)
        except audit.BadQuery as bad:
            raise ApiError(400, "invalid_query", bad.detail, bad.field) from None
        events, cursor = await run_in_threadpool(audit.page, self.container.log, query)
        return JSONResponse(
            {
                "events": events,
                "next": str(cursor) if cursor is not None else None,
            }
        )

    async def metrics(self, request: Request) -> Response:
        lines = [
            "# HELP ticketsync_webhooks_total Webhook deliveries by source and outcome.",
            "# TYPE ticketsync_webhooks_total counter",
        ]
        for (source, outcome), value in sorted(self.counters.items()):
            lines.append(
                f'ticketsync_webhooks_total{{source="{source}",outcome="{outcome}"}} {value}'
            )
        try:
            position, projections, calls = await run_in_threadpool(self._gauges)
        except StoreUnavailable:
            position, projections, calls = None, {}, {}
        lines += [
            "# HELP ticketsync_log_position Position of the newest entry in the event log.",
            "# TYPE ticketsync_log_position gauge",
        ]
        if position is not None:
            lines.append(f"ticketsync_log_position {position}")
        lines += [
            "# HELP ticketsync_projection_lag Log entries a projection has still to read.",
            "# TYPE ticketsync_projection_lag gauge",
        ]
        for name, at in sorted(projections.items()):
            lag = max(0, (position or 0) - at)
            lines.append(f'ticketsync_projection_lag{{projection="{name}"}} {lag}')
        lines += [
            "# HELP ticketsync_outbox_calls Outgoing calls not yet done, by state.",
            "# TYPE ticketsync_outbox_calls gauge",
        ]
        for state, count in calls.items():
            lines.append(f'ticketsync_outbox_calls{{state="{state}"}} {count}')
        return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    async def openapi(self, request: Request) -> Response:
        from ticketsync.service.http.openapi import SPEC

        return JSONResponse(SPEC)


async def _rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RejectedDelivery)
    return JSONResponse(_error_body(exc.code, exc.detail, exc.field), status_code=exc.status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(
        _error_body(exc.code, exc.detail, exc.field), status_code=exc.status, headers=headers
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return JSONResponse(_error_body("not_found", exc.detail, None), status_code=404)


async def _closed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TicketClosed)
    return JSONResponse(_error_body("ticket_closed", exc.detail, None), status_code=409)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("store.unavailable", extra={"path": request.url.path, "error": str(exc)})
    return JSONResponse(
        _error_body(
            "store_unavailable",
            STORE_UNAVAILABLE,
            None,
        ),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def allowed_methods(request: Request) -> str:
    """The methods served on the request's path, over every route that matches it.

    Starlette's Allow names only the first route whose path matches, but one path may be
    served by several (PATCH /tickets/local/{id} and GET /tickets/{system}/{id})."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and isinstance(route, Route):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return JSONResponse(
        _error_body(codes.get(exc.status_code, "http_error"), exc.detail, None),
        status_code=exc.status_code,
        headers=headers or None,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("http.unexpected_error", extra={"path": request.url.path})
    return JSONResponse(_error_body("internal_error", UNEXPECTED, None), status_code=500)


HEADERS_TOO_LARGE = JSONResponse(
    {
        "error": "headers_too_large",
        "detail": f"request headers are larger than {MAX_HEADER_BYTES} bytes",
    },
    status_code=431,
)


class AccessLog:
    """One canonical log line per request: method, path, status and time taken.

    Requests for a (method, path) of `direct` go straight to its app, past the router.
    """

    def __init__(self, app: ASGIApp, direct: Mapping[tuple[str, str], ASGIApp] | None = None):
        self.app = app
        self.direct = dict(direct or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        app = self.direct.get((scope["method"], scope["path"]), self.app)
        if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
            # The HTTP parser reads headers of any size; a request with this much of them
            # is no delivery of ours, and nothing of it is kept.
            app = HEADERS_TOO_LARGE

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_status)
        finally:
            logger.info(
                "http.request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


class Endpoint:
    """A bare ASGI app, so that a Starlette route passes it the request as it came."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(container: Container) -> Starlette:
    """The Starlette application over one container."""
    api = Api(container)
    routes = [
        Route("/webhooks/chat", Endpoint(api.chat_webhook), methods=["POST"]),
        Route("/", api.reader(api.index, admin=False), methods=["GET"]),
        Route("/healthz", api.reader(api.healthz, admin=False), methods=["GET"]),
        Route(
            "/conversations/{conversation_id:path}",
            api.reader(api.conversation),
            methods=["GET"],
        ),
        Route("/webhooks/zendesk", Endpoint(api.zendesk_webhook), methods=["POST"]),
        Route("/tickets/local/{ticket_id}/comments", api.local_comment, methods=["POST"]),
        Route("/tickets/local/{ticket_id}", api.local_change, methods=["PATCH"]),
        Route("/tickets/{system}/{ticket_id}", api.reader(api.ticket), methods=["GET"]),
        Route("/outbox", api.reader(api.outbox, ["state"]), methods=["GET"]),
        Route("/outbox/{call_id}/retry", api.retry_call, methods=["POST"]),
        Route("/admin/rebuild", api.start_rebuild, methods=["POST"]),
        Route("/admin/rebuild/{rebuild_id}", api.reader(api.rebuild_status), methods=["GET"]),
        Route("/audit", api.reader(api.audit, audit.FILTERS), methods=["GET"]),
        Route("/metrics", api.reader(api.metrics), methods=["GET"]),
        Route("/openapi.json", api.reader(api.openapi), methods=["GET"]),
    ]
    if container.dev_inbox is not None:
        routes += [
            Route("/dev/chat-replies", api.dev_reply, methods=["POST"]),
            Route(
                "/dev/chat-replies",
                api.reader(api.dev_replies, ["conversation_id"]),
                methods=["GET"],
            ),
        ]
    handlers = {
        RejectedDelivery: _rejected,
        ApiError: _api_error,
        StoreUnavailable: _store_unavailable,
        NotFound: _not_found,
        TicketClosed: _closed,
        HTTPException: _http_error,
        Exception: _unexpected,
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        container.start()
        tune_garbage_collector()
        try:
            yield
        finally:
            container.stop()

    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)  # type: ignore[arg-type]
    app.state.api = api
    return app


def tune_garbage_collector() -> None:
    """Collect once, leave what start-up built out of the collector's passes, and let the
    young objects pile up longer between passes.

    What start-up builds (modules, the app, the pools: a few hundred thousand objects) lives
    as long as the process. Every full pass of the cyclic collector walked all of it, 40 to
    70 ms in which no request was answered, and under load that came every second or so:
    it was every connection's slowest request at once. Frozen, those objects are still freed
    by reference counting; the passes only walk what was made since. A request makes a few
    hundred objects, nearly all freed by reference counting, so a pass over the young ones
    every 700 allocations (the default) was mostly wasted work; one every
    YOUNG_COLLECTION_EVERY still comes every few dozen requests.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def asgi(container: Container) -> ASGIApp:
    """The application wrapped in its access log; webhooks are taken in past its router."""
    app = create_app(container)
    api: Api = app.state.api
    return AccessLog(
        app,
        {
            ("POST", "/webhooks/chat"): api.chat_webhook,
            ("POST", "/webhooks/zendesk"): api.zendesk_webhook,
        },
    )
