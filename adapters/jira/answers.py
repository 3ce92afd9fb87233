"""How Jira's answers read: HTTP statuses and transport failures as the port's errors,
Jira's error text, JSON bodies, issue keys, and the transition that reaches a category."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from ticketsync.adapters import http_answers as shared
from ticketsync.adapters.ports import (
    CallFailed,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Retryable,
)
from ticketsync.adapters.retry_after import parse_retry_after

MAX_DETAIL_CHARS = 500


def pick(transitions: Sequence[dict[str, Any]], categories: Sequence[str]) -> dict | None:
    """The first transition into the first of `categories` that any transition reaches."""
    for category in categories:
        for transition in transitions:
            to = transition.get("to")
            target = to.get("statusCategory") if isinstance(to, dict) else None
            if (
                isinstance(target, dict)
                and target.get("key") == category
                and transition.get("id") is not None
            ):
                return transition
    return None


def transport_failure(error: httpx.RequestError) -> CallFailed:
    return shared.transport_failure(error, "Jira")


def http_failure(response: httpx.Response) -> CallFailed:
    status = response.status_code
    detail = f"Jira answered {status}: {describe(response)}"
    # An HTTP date is compared with the wall clock: both sides mean the same moment by it.
    wait = parse_retry_after(response.headers.get("retry-after"), now=time.time())
    if status == 429:
        # Without Retry-After the outbox's own backoff applies (ref: Rate limits).
        return RateLimited(detail, status=status, retry_after=wait)
    if status == 503:
        return Retryable(detail, status=status, retry_after=wait)
    if status >= 500:
        # A 500 or a gateway's 502/504 can come after Jira applied the request.
        return OutcomeUnknown(detail, status=status, retry_after=wait)
    if status == 404:
        return NotFound(detail, status=status)
    return Permanent(detail, status=status)


def describe(response: httpx.Response) -> str:
    """Jira's `errorMessages` and `errors`, or the start of a body that is not JSON."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        text = " ".join(response.text.split())
        return (text or response.reason_phrase or "no body")[:MAX_DETAIL_CHARS]
    parts = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{name}: {message}" for name, message in errors.items()]
    if not parts and body.get("message"):
        parts.append(str(body["message"]))
    text = "; ".join(parts) if parts else orjson.dumps(body).decode()
    return text[:MAX_DETAIL_CHARS]


def json(response: httpx.Response) -> dict[str, Any]:
    """The JSON object in a 2xx answer; raises Retryable (OutcomeUnknown for writes)."""
    return shared.json_object(response, "Jira")


def json_list(response: httpx.Response) -> list[Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, list):
        raise Retryable(
            f"Jira answered {response.status_code} without a JSON list",
            status=response.status_code,
        )
    return body


def fields(issue: Mapping[str, Any]) -> dict[str, Any]:
    fields = issue.get("fields")
    return fields if isinstance(fields, dict) else {}


def key(ticket_id: str) -> str:
    """An issue key as a path segment; raises NotFound for one Jira cannot have."""
    if not ticket_id or not ticket_id.replace("-", "").isalnum() or not ticket_id.isascii():
        raise NotFound(f"{ticket_id!r} is not a Jira issue key")
    return ticket_id


def quoted(text: str) -> str:
    """`text` as a JQL string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
