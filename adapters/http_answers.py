"""How any help desk's HTTP answers read as the port's errors, where the systems agree:
a transport failure (was the request sent?) and a 2xx whose body is not a JSON object."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ticketsync.adapters.ports import CallFailed, OutcomeUnknown, Permanent, Retryable

# Transport failures that happen before any byte of the request leaves this process.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
# The request cannot be built or sent as it is; sending it again would fail the same way.
UNSENDABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def transport_failure(error: httpx.RequestError, system: str) -> CallFailed:
    """The error for a request to `system` (its name, for people) that got no answer."""
    name = type(error).__name__
    if isinstance(error, NOT_SENT):
        return Retryable(f"{system} was not reached ({name}); nothing was sent")
    if isinstance(error, UNSENDABLE):
        return Permanent(f"the request to {system} could not be sent ({name})")
    # A read timeout, a reset or a disconnect after the request went out: the system may
    # have applied it.
    return OutcomeUnknown(f"no answer from {system} after sending ({name})")


def json_object(response: httpx.Response, system: str) -> dict[str, Any]:
    """The JSON object in a 2xx answer; raises Retryable (OutcomeUnknown for writes)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        # A write got a 2xx, so it was applied, but what it made cannot be read.
        failure = Retryable if response.request.method == "GET" else OutcomeUnknown
        raise failure(
            f"{system} answered {response.status_code} without a JSON object",
            status=response.status_code,
        )
    return body
