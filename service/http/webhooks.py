"""The webhook targets (CONTRACT sections 2 and 3): verify, parse, append, then answer.

Every delivery comes this way, so a target is a bare ASGI app, past the framework's
router, request objects and middleware. Each source (chat, Zendesk, ...) is a
WebhookSource that bootstrap builds; this module knows none of them by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from ticketsync.adapters.ports import Delivery, WebhookSource
from ticketsync.events.errors import Refused
from ticketsync.service.bootstrap import Container
from ticketsync.service.http import errors
from ticketsync.service.http.log_fields import LOG_FIELDS
from ticketsync.service.http.requests import (
    receive_body,
    refuse_query_string,
    request_headers,
    require_json,
)
from ticketsync.service.http.responses import send_json
from ticketsync.service.metrics.webhook_metrics import WebhookMetrics
from ticketsync.service.store import codec
from ticketsync.service.store.entries import NewEntry

logger = logging.getLogger(__name__)

# Reading a body (its signature, then its parse) takes up to about 0.7 us a byte: the worst is
# Jira wiki markup dense with marks or brackets; a chat body takes a hundredth of that. Past
# this size a body could hold the event loop for more than a millisecond or two, so it is read
# in a worker thread (docs/behaviour.md, "Limits"). Nearly every chat delivery is smaller and
# stays on the loop, where the hop to a thread would cost more than the reading.
PARSE_ON_LOOP_BYTES = 2048


def _read(
    source: WebhookSource, body: bytes, checked: Any, headers: dict[str, str], now: float
) -> tuple[str, Delivery]:
    """A delivery's body verified and parsed: its text and what it says. Raises Refused."""
    # The signature covers the raw bytes; parsing first could change them.
    source.verify(body, checked, now)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("invalid_json", "body is not valid UTF-8") from None
    return text, source.parse(body, headers)


class Webhooks:
    """The targets of one container, counting their outcomes and timing their ingest."""

    def __init__(self, container: Container):
        self.container = container
        self.metrics = WebhookMetrics()

    def targets(self) -> dict[str, ASGIApp]:
        """A bare ASGI app per webhook path."""
        return {path: self._target(source) for path, source in self.container.webhooks.items()}

    def _target(self, source: WebhookSource) -> ASGIApp:
        async def target(scope: Scope, receive: Receive, send: Send) -> None:
            # The request's log line (service/http/app.py AccessLog) takes the ids read here.
            facts: dict[str, object] = scope.get(LOG_FIELDS, {})
            started = time.perf_counter()
            try:
                # No sender adds a query string to the address it is given, and none signs
                # one: a parameter there is a mistake in the configured URL or someone
                # else's, and is refused at once rather than silently not read.
                refuse_query_string(scope.get("query_string", b""))
                status, content = await self.receive(source, request_headers(scope), receive, facts)
                headers: Mapping[str, str] = {}
            except Exception as error:
                status, content, headers = errors.answer(error, scope["path"])
                # The code of the answer's body: one of errors.STATUS, a bounded set.
                refused = isinstance(error, Refused) and status < 500
                self.metrics.count(
                    source.source, "refused" if refused else "failed", content["error"]
                )
                if isinstance(error, Refused):
                    logger.info(
                        "webhook.rejected",
                        extra={
                            "source": source.source,
                            "status": status,
                            "error": error.code,
                            **facts,
                        },
                    )
            await send_json(send, status, content, headers)
            if status == 202:
                self.metrics.ingested(source.source, time.perf_counter() - started)

        return target

    async def receive(
        self,
        source: WebhookSource,
        headers: dict[str, str],
        receive: Receive,
        facts: dict[str, object] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One delivery: refused, or stored and answered (202 new, 200 a duplicate).

        `facts` gets the delivery's ids, for the request's log line, once they are read.
        """
        if facts is None:
            facts = {}
        # Cheap refusals first, before reading a body that may be large.
        require_json(headers)
        checked = source.check_headers(headers)
        body = await receive_body(headers, receive)
        now = self.container.clock()
        if len(body) > PARSE_ON_LOOP_BYTES:
            text, delivery = await run_in_threadpool(_read, source, body, checked, headers, now)
        else:
            text, delivery = _read(source, body, checked, headers, now)
        facts["delivery_id"] = delivery.delivery_id
        conversation_id = delivery.conversation_id
        ticket = None
        if delivery.ticket_id is not None:
            ticket = f"{source.source}:{delivery.ticket_id}"
            if conversation_id is None:
                known = await run_in_threadpool(
                    self.container.store.ticket_state, source.source, delivery.ticket_id
                )
                conversation_id = known[0] if known else None
        if conversation_id is not None:
            facts["conversation_id"] = conversation_id
        entry = NewEntry(
            source=source.source,
            delivery_id=delivery.delivery_id,
            type=delivery.type,
            occurred_at=delivery.occurred_at,
            recorded_at=datetime.fromtimestamp(self.container.clock(), UTC),
            conversation_id=conversation_id,
            ticket=ticket,
            raw=text,
            # What was understood now is what the projection reads: it never parses again.
            data=codec.dump_event(delivery.event),
            content_key=delivery.content_key,
        )
        return await self._store(entry, ignored=delivery.event is None, facts=facts)

    async def _store(
        self, entry: NewEntry, *, ignored: bool, facts: dict[str, object]
    ) -> tuple[int, dict[str, Any]]:
        """Append a verified delivery; the answer CONTRACT section 2 gives for it."""
        outcome = await self.container.ingestor.append(entry)
        if outcome.status != "conflict":  # counted as refused, with the others
            self.metrics.count(entry.source, outcome.status)
        logger.info(
            "webhook." + outcome.status,
            extra={"source": entry.source, "position": outcome.position, **facts},
        )
        if outcome.status == "conflict":
            raise Refused(
                "conflict",
                f"delivery id {entry.delivery_id!r} was already stored with a different body",
            )
        content: dict[str, Any] = {
            "status": outcome.status,
            "event_id": entry.delivery_id,
            "position": outcome.position,
        }
        if ignored:
            content["ignored"] = True
        return (202 if outcome.status == "accepted" else 200), content
