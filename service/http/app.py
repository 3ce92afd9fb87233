"""The HTTP service: one application, one way in per request, one way out per error.

A POST to a webhook path goes to its target (webhooks.py) before the router: the targets
take every delivery, and Starlette's routing and request objects cost them more than the
rest of their work. A request under /ui goes to the console (console/app.py), which signs
its visitors in itself and answers in HTML. With an agent token set, a request to /mcp goes
to the MCP SDK's own app (service/agent/mcp.py) once it carries that token. Every other
request is routed to api.py. Errors are answered by errors.py alone, and every request
leaves one access-log line.
"""

from __future__ import annotations

import contextlib
import gc
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ticketsync.service.agent import MCP_PATH
from ticketsync.service.bootstrap import Container
from ticketsync.service.http import errors
from ticketsync.service.http.api import Api
from ticketsync.service.http.console.app import create_console, is_console
from ticketsync.service.http.log_fields import LOG_FIELDS, REQUEST_ID_HEADER, request_id
from ticketsync.service.http.responses import send_json
from ticketsync.service.http.webhooks import Webhooks
from ticketsync.service.queries import audit, outbox

logger = logging.getLogger(__name__)

# Allocations between two passes of the garbage collector over the young objects, once
# the service is up (the default is 700; see tune_garbage_collector).
YOUNG_COLLECTION_EVERY = 10_000


class AgentDoor:
    """The AI agent's way in to MCP: its bearer token, or 401 before the protocol sees the
    request. The admin token is not the agent's, and opens nothing here."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        scheme, _, token = given.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.token):
            await self.app(scope, receive, send)
            return
        status, content, headers = errors.refused(
            "unauthorized", "a valid 'Authorization: Bearer <agent token>' is required"
        )
        await send_json(send, status, content, headers)


def is_agent(path: str) -> bool:
    return path == MCP_PATH or path.startswith(MCP_PATH + "/")


class App(Starlette):
    """Starlette, with the webhook targets (and the console, and MCP) in front of its router."""

    def __init__(
        self,
        *,
        webhooks: Mapping[str, ASGIApp],
        console: ASGIApp | None = None,
        agent: ASGIApp | None = None,
        **options: Any,
    ):
        super().__init__(**options)
        self.webhooks = dict(webhooks)
        self.console = console
        self.agent = agent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = self.webhooks.get(scope["path"])
            if target is not None:
                if scope["method"] == "POST":
                    await target(scope, receive, send)
                else:
                    status, content, _ = errors.refused("method_not_allowed", "Method Not Allowed")
                    await send_json(send, status, content, {"Allow": "POST"})
                return
            if self.console is not None and is_console(scope["path"]):
                await self.console(scope, receive, send)
                return
            # Without an agent token there is no /mcp: the router answers 404.
            if self.agent is not None and is_agent(scope["path"]):
                await self.agent(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class AccessLog:
    """One canonical log line per request: method, path, status, time taken, request id;
    for a webhook, also the delivery id and the conversation id. The request id is echoed
    in the answer's X-Request-Id."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        rid = request_id(scope)
        fields: dict[str, object] = {"request_id": rid.decode("latin-1")}
        scope[LOG_FIELDS] = fields

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, rid)]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            logger.info(
                "http.request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    **fields,
                },
            )


def create_app(
    container: Container,
    *,
    shared_metrics: Path | None = None,
    worker_pid: Callable[[], int | None] | None = None,
) -> App:
    """The application over one container; `shared_metrics` and `worker_pid` are where
    `serve`'s worker child keeps its metrics and which process it is (see Api)."""
    webhooks = Webhooks(container)
    api = Api(container, webhooks, shared_metrics=shared_metrics, worker_pid=worker_pid)
    routes = [
        Route("/", api.reader(api.index, admin=False), methods=["GET"]),
        Route("/healthz", api.reader(api.healthz, ["detail"], admin=False), methods=["GET"]),
        # One endpoint for both: which was asked for is read from the raw path, where
        # `a%2Fexplain` is the conversation `a/explain` (addresses.py).
        Route(
            "/conversations/{conversation_id:id}/explain",
            api.reader(api.conversation),
            methods=["GET"],
        ),
        Route(
            "/conversations/{conversation_id:id}",
            api.reader(api.conversation),
            methods=["GET"],
        ),
        Route(
            "/tickets/local/{ticket_id}/comments", api.writer(api.local_comment), methods=["POST"]
        ),
        Route("/tickets/local/{ticket_id}", api.writer(api.local_change), methods=["PATCH"]),
        Route("/tickets/{system}/{ticket_id}", api.reader(api.ticket), methods=["GET"]),
        Route("/outbox", api.reader(api.outbox, outbox.FILTERS), methods=["GET"]),
        Route("/outbox/{call_id}/retry", api.writer(api.retry_call), methods=["POST"]),
        Route("/admin/rebuild", api.writer(api.start_rebuild), methods=["POST"]),
        Route("/admin/rebuild/{rebuild_id}", api.reader(api.rebuild_status), methods=["GET"]),
        Route("/audit", api.reader(api.audit, audit.FILTERS), methods=["GET"]),
        Route("/metrics", api.reader(api.metrics), methods=["GET"]),
        Route("/openapi.json", api.reader(api.openapi), methods=["GET"]),
    ]
    if container.dev_inbox is not None:
        routes += [
            Route("/dev/chat-replies", api.writer(api.dev_reply, admin=False), methods=["POST"]),
            Route(
                "/dev/chat-replies",
                api.reader(api.dev_replies, ["conversation_id"]),
                methods=["GET"],
            ),
        ]

    agent = None
    mcp_server = None
    if container.settings.agent_token:
        # Imported here: the SDK takes a second or two to import, which only /mcp needs.
        from ticketsync.service.agent import mcp as agent_mcp

        mcp_server = agent_mcp.build(container)
        agent = AgentDoor(agent_mcp.http_app(mcp_server), container.settings.agent_token)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        container.start()
        tune_garbage_collector()
        try:
            async with contextlib.AsyncExitStack() as running:
                if mcp_server is not None:
                    # The SDK's app keeps its sessions in a manager that its own lifespan
                    # runs; mounted inside ours, ours runs it.
                    await running.enter_async_context(mcp_server.session_manager.run())
                yield
        finally:
            container.stop()

    app = App(
        webhooks=webhooks.targets(),
        console=create_console(container, api.rebuilds),
        agent=agent,
        routes=routes,
        exception_handlers=errors.handlers(),
        lifespan=lifespan,
    )
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


def asgi(container: Container, **metrics: Any) -> ASGIApp:
    """The application wrapped in its access log (`metrics`: see create_app)."""
    return AccessLog(create_app(container, **metrics))
