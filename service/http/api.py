"""The read API, the built-in desk's agent endpoints, rebuilds, health and metrics.

Handlers raise Refused (or a port's NotFound / TicketClosed); service/http/errors.py
answers every error. The webhook targets are in webhooks.py.
"""

from __future__ import annotations

import functools
import hmac
import importlib.metadata
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ticketsync.events.errors import Refused, StoreUnavailable
from ticketsync.service.bootstrap import Container
from ticketsync.service.http import addresses, local_desk
from ticketsync.service.http.requests import check_query, json_body, read_body
from ticketsync.service.http.responses import JSONResponse
from ticketsync.service.http.webhooks import Webhooks
from ticketsync.service.metrics import exposition
from ticketsync.service.queries import audit, outbox, status, views

logger = logging.getLogger(__name__)

# The fields of POST /admin/rebuild's body.
REBUILD_FIELDS = ("projections", "check")

# GET /: what a newcomer who opens the service's address in a browser or with curl sees.
INDEX = {
    "service": "ticketsync",
    "version": importlib.metadata.version("ticketsync"),
    "links": {
        "healthz": {"href": "/healthz", "title": "log position and projection lag (no token)"},
        "openapi": {"href": "/openapi.json", "title": "the API described (admin token)"},
        "ui": {"href": "/ui", "title": "the operations console in a browser (asks for the token)"},
    },
    "docs": "README.md beside the code: quick start, API, configuration and the CLI",
}


Handler = Callable[[Request], Awaitable[Response]]


class Api:
    """The endpoints, bound to one container of collaborators."""

    def __init__(
        self,
        container: Container,
        webhooks: Webhooks,
        *,
        shared_metrics: Path | None = None,
        worker_pid: Callable[[], int | None] | None = None,
    ):
        self.container = container
        self.settings = container.settings
        self.webhooks = webhooks
        self.rebuilds: dict[str, Any] = {}
        # What GET /metrics answers from (metrics/exposition.py): with `serve`'s shared
        # directory and its worker child's pid, the child's metrics too.
        self.scraped = exposition.registry(
            container, webhooks.metrics, shared=shared_metrics, worker_pid=worker_pid
        )

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

    def writer(self, handler: Handler, *, admin: bool = True) -> Handler:
        """An endpoint that changes something (POST, PATCH): the token (unless `admin` is
        false), then no query parameter at all, then `handler`. Every such route but the
        webhook targets (webhooks.py) is built with it."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            if admin:
                self.require_admin(request)
            check_query(request, frozenset())
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
            raise Refused(
                "unauthorized", "a valid 'Authorization: Bearer <admin token>' is required"
            )

    async def local_comment(self, request: Request) -> Response:
        payload = await json_body(request)
        answer = await run_in_threadpool(
            local_desk.comment, self.container, request.path_params["ticket_id"], payload
        )
        self.container.wake()
        return JSONResponse(answer, status_code=201)

    async def local_change(self, request: Request) -> Response:
        payload = await json_body(request)
        answer = await run_in_threadpool(
            local_desk.change, self.container, request.path_params["ticket_id"], payload
        )
        self.container.wake()
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

        # An empty body means every projection; a body is read like any other, bounded.
        has_body = (
            request.headers.get("content-length", "0") != "0"
            or "transfer-encoding" in request.headers
        )
        payload = await json_body(request) if has_body else {}
        if not isinstance(payload, dict):
            raise Refused("invalid_payload", "body must be a JSON object")
        # A misspelt field ("projection") would otherwise rebuild every model.
        unknown = sorted(set(payload) - set(REBUILD_FIELDS))
        if unknown:
            raise Refused(
                "invalid_data",
                f"unknown field {unknown[0]!r}; fields are {', '.join(REBUILD_FIELDS)}",
                unknown[0],
            )
        names = payload.get("projections", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise Refused("invalid_data", "projections must be a list of names", "projections")
        check = payload.get("check", False)
        if not isinstance(check, bool):
            raise Refused("invalid_data", "check must be true or false", "check")
        try:
            check_names(names)
        except RebuildRefused as error:
            raise Refused("unknown_projection", str(error), "projections") from None
        rebuild = Rebuild(
            self.container.store,
            self.container.projector.policy,
            check=check,
            parse_stored=self.container.projector.parse_stored,
        )
        try:
            await run_in_threadpool(rebuild.claim)
        except RebuildRefused as error:
            raise Refused("rebuild_running", str(error)) from None
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
            raise Refused("not_found", "no rebuild with that id in this process")
        return JSONResponse(progress.as_dict())

    async def index(self, request: Request) -> Response:
        """Where to go from here, for someone who opened the service's address (no token)."""
        return JSONResponse(INDEX)

    async def healthz(self, request: Request) -> Response:
        """Health for anyone; the database's own error text only to the admin token with
        `?detail=1`: it names the host, port, user and database (docs/behaviour.md,
        section "Limits")."""
        detail = request.query_params.get("detail")
        if detail is not None:
            if detail != "1":
                raise Refused("invalid_query", "detail takes only 1", "detail")
            self.require_admin(request)
        try:
            position, projections = await run_in_threadpool(self._positions)
        except StoreUnavailable as error:
            logger.warning("store.unavailable", extra={"path": "/healthz", "error": str(error)})
            content = {
                "status": "unavailable",
                "position": None,
                "error": "store_unavailable",
                "detail": "the database cannot be reached",
            }
            if detail:
                content["reason"] = str(error)
            return JSONResponse(content, status_code=503)
        lags = status.lags(position, projections)
        return JSONResponse({"status": "ok", "position": position, "projections": lags})

    def _positions(self) -> tuple[int, dict[str, int]]:
        return status.positions(self.container)

    async def conversation(self, request: Request) -> Response:
        """GET /conversations/{id} and GET /conversations/{id}/explain: which one is read
        from the raw path (addresses.py), where `%2Fexplain` is part of an id."""
        conversation_id, suffix = addresses.conversation(
            request.scope, "/conversations/", ("explain",)
        )
        read = views.explain if suffix == "explain" else views.conversation
        body = await run_in_threadpool(read, self.container, conversation_id)
        if body is None:
            raise Refused("not_found", f"no conversation {conversation_id!r}")
        return JSONResponse(body)

    async def ticket(self, request: Request) -> Response:
        system, ticket_id = request.path_params["system"], request.path_params["ticket_id"]
        body = await run_in_threadpool(views.ticket, self.container, system, ticket_id)
        if body is None:
            raise Refused("not_found", f"no ticket {system}:{ticket_id}")
        return JSONResponse(body)

    async def outbox(self, request: Request) -> Response:
        try:
            query = outbox.query_from(request.query_params)
        except audit.BadQuery as bad:
            raise Refused("invalid_query", bad.detail, bad.field) from None
        calls, cursor = await run_in_threadpool(outbox.page, self.container.store, query)
        return JSONResponse({"calls": calls, "next": cursor})

    async def retry_call(self, request: Request) -> Response:
        self.require_admin(request)
        call_id = request.path_params["call_id"]
        # A call that is not parked is refused (NotParked, 409 with its state).
        call = await run_in_threadpool(self.container.dispatcher.retry, call_id)
        if call is None:
            raise Refused("not_found", f"no call {call_id!r}")
        self.container.wake()
        return JSONResponse(views.call(call))

    async def audit(self, request: Request) -> Response:
        try:
            query = audit.query_from(request.query_params)
        except audit.BadQuery as bad:
            raise Refused("invalid_query", bad.detail, bad.field) from None
        events, cursor = await run_in_threadpool(audit.page, self.container.log, query)
        return JSONResponse(
            {
                "events": events,
                "next": str(cursor) if cursor is not None else None,
            }
        )

    async def metrics(self, request: Request) -> Response:
        # The database is read while collecting (gauges.py): off the event loop.
        body, content_type = await run_in_threadpool(
            exposition.render, self.scraped, request.headers.get("accept")
        )
        return Response(body, media_type=content_type)

    async def openapi(self, request: Request) -> Response:
        from ticketsync.service.http.openapi import SPEC

        return JSONResponse(SPEC)
