"""Every error answer, in one place: which status a refusal's code answers, and the body.

Handlers raise; nothing in them picks a status for an error. `answer` turns an exception
into `(status, body, headers)` for the webhook targets (bare ASGI) and, through `handle`,
for every other endpoint (Starlette's exception handlers). The body is always
`{"error": "<stable code>", "detail": "<for a person>"}`, plus `"field": "<path>"` when one
field is at fault (CONTRACT section 2), and the refusal's own facts (a call's `state`).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from ticketsync.adapters.ports import NotFound, TicketClosed
from ticketsync.events.errors import Refused, StoreUnavailable
from ticketsync.service.http.responses import JSONResponse

logger = logging.getLogger(__name__)

# The status each refusal's code is answered with.
STATUS: dict[str, int] = {
    # The request cannot be read.
    "invalid_json": 400,
    "invalid_payload": 400,
    "incomplete_body": 400,
    "invalid_query": 400,
    "invalid_path": 400,
    "unknown_projection": 400,
    # No, or no valid, proof of who sent it.
    "unauthorized": 401,
    "missing_signature": 401,
    "malformed_signature": 401,
    "malformed_timestamp": 401,
    "stale_timestamp": 401,
    "invalid_signature": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    # The request line and headers did not arrive in time (http/protocol.py).
    "request_timeout": 408,
    # It contradicts what is stored.
    "conflict": 409,
    "already_done": 409,
    "not_parked": 409,
    "rebuild_running": 409,
    "ticket_closed": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    # Readable, but a field is wrong.
    "invalid_data": 422,
    # Refused by the connection before the application sees the request (http/protocol.py).
    "headers_too_large": 431,
    "internal_error": 500,
    "store_unavailable": 503,
}

STORE_UNAVAILABLE = "the database cannot be reached; nothing was stored, retry later"
UNEXPECTED = "an unexpected error occurred"

Answer = tuple[int, dict[str, str], dict[str, str]]


def body(code: str, detail: str, field: str | None = None) -> dict[str, str]:
    """The JSON body of an error answer."""
    content = {"error": code, "detail": detail}
    if field is not None:
        content["field"] = field
    return content


def refused(code: str, detail: str, field: str | None = None) -> Answer:
    """The answer to a refusal of `code`; an unlisted code is a bug, answered 500."""
    status = STATUS.get(code)
    if status is None:
        logger.error("http.unknown_refusal_code", extra={"code": code})
        return 500, body("internal_error", UNEXPECTED), {}
    # RFC 9110: a 401 names the scheme that would be accepted; webhooks sign instead.
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthorized" else {}
    return status, body(code, detail, field), headers


def answer(error: Exception, path: str) -> Answer:
    """The answer to an exception a handler raised while serving `path`."""
    if isinstance(error, Refused):
        status, content, headers = refused(error.code, error.detail, error.field)
        if status != 500:
            content = {**content, **error.facts}
        return status, content, headers
    if isinstance(error, NotFound):
        return refused("not_found", error.detail)
    if isinstance(error, TicketClosed):
        return refused("ticket_closed", error.detail)
    if isinstance(error, StoreUnavailable):
        logger.warning("store.unavailable", extra={"path": path, "error": str(error)})
        status, content, _ = refused("store_unavailable", STORE_UNAVAILABLE)
        return status, content, {"Retry-After": "5"}
    logger.error("http.unexpected_error", extra={"path": path}, exc_info=error)
    return 500, body("internal_error", UNEXPECTED), {}


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


async def handle(request: Request, error: Exception) -> Response:
    """Starlette's exception handler for every endpoint but the webhook targets."""
    if isinstance(error, HTTPException):
        # The router's own: no route for the path, or not for the method.
        codes = {404: "not_found", 405: "method_not_allowed"}
        headers: dict[str, Any] = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(
            body(codes.get(error.status_code, "http_error"), error.detail),
            status_code=error.status_code,
            headers=headers or None,
        )
    status, content, headers = answer(error, request.url.path)
    return JSONResponse(content, status_code=status, headers=headers or None)


def handlers() -> dict[Any, Any]:
    """Starlette's exception handlers: `handle` for each error type it answers.

    Starlette answers an HTTPException by itself unless its class is named here, and hands
    `Exception` to its outermost layer (which also re-raises it to the server's log), so
    every expected type is named.
    """
    return {
        kind: handle
        for kind in (HTTPException, Refused, NotFound, TicketClosed, StoreUnavailable, Exception)
    }
