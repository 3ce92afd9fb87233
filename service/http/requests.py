"""Reading requests: bodies with a size limit, headers, content types, query parameters.

Each refuses with Refused (events/errors.py); service/http/errors.py picks the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.types import Receive, Scope

from ticketsync.adapters import strict_json
from ticketsync.events.errors import Refused

MAX_BODY_BYTES = 1024 * 1024


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused (`payload_too_large`) as soon as it passes `limit` bytes."""
    return await receive_body(request.headers, request.receive, limit)


async def receive_body(
    headers: Mapping[str, str], receive: Receive, limit: int = MAX_BODY_BYTES
) -> bytes:
    """The raw body of a request from its ASGI messages, refused (`payload_too_large`) as
    soon as it passes `limit` bytes, and (`incomplete_body`) when the client leaves before
    it is whole."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused("payload_too_large", f"body is larger than {limit} bytes")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Refused("incomplete_body", "the client left before the body ended")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused("payload_too_large", f"body is larger than {limit} bytes")
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
    """Refuse (`unsupported_media_type`) unless the request says its body is JSON (UTF-8)."""
    content_type = headers.get("content-type", "")
    media_type, _, parameters = content_type.partition(";")
    charset = ""
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type.strip().lower() != "application/json" or charset not in ("", "utf-8", "utf8"):
        raise Refused(
            "unsupported_media_type",
            f"Content-Type must be application/json, got {content_type[:80]!r}",
        )


async def json_body(request: Request) -> Any:
    """A JSON request body, parsed; refused when it is not JSON, repeats a key or is too large."""
    require_json(request.headers)
    body = await read_body(request)
    return strict_json.loads(body)


def check_query(request: Request, known: frozenset[str]) -> None:
    """Refuse a query parameter the endpoint does not know, one given more than once, and
    one given empty: a typo (`conversation=` for `conversation_id=`) or an empty filter must
    never widen a query, and of two values neither is the obvious one (`invalid_query`,
    naming it)."""
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name not in known:
            takes = f"it takes {', '.join(sorted(known))}" if known else "it takes none"
            raise Refused("invalid_query", f"unknown query parameter {name[:100]!r}; {takes}", name)
        if name in seen:
            raise Refused("invalid_query", f"{name} is given more than once", name)
        if not value:
            raise Refused(
                "invalid_query", f"{name} is empty; leave it out or give it a value", name
            )
        seen.add(name)


def refuse_query_string(query_string: bytes) -> None:
    """Refuse (`invalid_query`, naming the first parameter) a request to an endpoint that
    takes no query parameters: one given is never read, so it must not look as if it were."""
    if not query_string:
        return
    text = query_string.decode("latin-1")
    first = text.split("&", 1)[0].partition("=")[0]
    name = unquote_plus(first)[:100]
    raise Refused("invalid_query", f"unknown query parameter {name!r}; it takes none", name)
