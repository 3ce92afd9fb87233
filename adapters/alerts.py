"""Alerts to an admin's chat channel through an incoming webhook (Slack, Mattermost, Teams).

Each alert is one `POST {"text": "..."}` to TICKETSYNC_ALERT_WEBHOOK_URL, the shape those
three accept (https://api.slack.com/messaging/webhooks,
https://developers.mattermost.com/integrate/webhooks/incoming/). Failures are raised as the
classes of adapters/ports.py, so the outbox retries them like any call:

    connection refused, timeouts, resets      Retryable (OutcomeUnknown once sent)
    429                                       RateLimited, retry_after from Retry-After, else 60
    408, 5xx                                  Retryable, retry_after from Retry-After if given
    any other answer that is not 2xx          Permanent: the channel's words, shortened

The URL carries the channel's credential in its path: it is never logged nor put in an
error's words.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import orjson

from ticketsync.adapters.http_answers import NOT_SENT, UNSENDABLE
from ticketsync.adapters.ports import CallFailed, OutcomeUnknown, Permanent, RateLimited, Retryable
from ticketsync.adapters.retry_after import parse_retry_after
from ticketsync.events.commands import SendAlert

__all__ = ["WebhookAlerts"]

DEFAULT_RATE_LIMIT_WAIT = 60.0
MAX_DETAIL_CHARS = 300


class WebhookAlerts:
    """Posts alerts to one incoming-webhook URL through a synchronous httpx client."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._clock = clock
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return "WebhookAlerts('***')"  # the URL is a credential

    def close(self) -> None:
        self._client.close()

    def send(self, alert: SendAlert) -> None:
        """POST the alert's text; return once the channel answered 2xx.

        Raises Retryable, RateLimited, OutcomeUnknown or Permanent (module docstring).
        """
        body = orjson.dumps({"text": alert.text})
        try:
            response = self._client.post(
                self._url, content=body, headers={"content-type": "application/json"}
            )
        except (httpx.RequestError, httpx.InvalidURL) as error:
            raise _transport_failure(error) from error
        if response.is_success:
            return
        raise _http_failure(response, self._clock())


def _transport_failure(error: Exception) -> CallFailed:
    name = type(error).__name__
    if isinstance(error, NOT_SENT):
        return Retryable(f"the alert webhook was not reached ({name}); nothing was sent")
    if isinstance(error, (*UNSENDABLE, httpx.InvalidURL)):
        return Permanent(f"the alert could not be sent to the alert webhook ({name})")
    return OutcomeUnknown(f"no answer from the alert webhook after sending ({name})")


def _http_failure(response: httpx.Response, now: float) -> CallFailed:
    status = response.status_code
    words = " ".join(response.text.split()) or response.reason_phrase or "no body"
    detail = f"the alert webhook answered {status}: {words[:MAX_DETAIL_CHARS]}"
    wait = parse_retry_after(response.headers.get("retry-after"), now=now)
    if status == 429:
        return RateLimited(
            detail, status=status, retry_after=DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        )
    if status == 408 or status >= 500:
        return Retryable(detail, status=status, retry_after=wait)
    return Permanent(detail, status=status)
