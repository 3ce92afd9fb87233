"""Jira Cloud webhook payloads turned into ticket-side events.

Facts relied on are in reference/jira.md, "Webhooks". An admin webhook posts JSON with
`webhookEvent`, `timestamp` (epoch milliseconds) and the `issue`; the dedup key is the
`X-Atlassian-Webhook-Identifier` header, the same on every retry. The signature covers the
body only, so a captured delivery can be sent again under a new identifier: `content_key`
names what the signed body is (`changelog:<id>` for an update, `comment_created:<id>` for a
comment), and the log takes a second delivery naming the same one as a duplicate
(docs/behaviour.md, "Limits"). Understood:

- `jira:issue_updated`: its `changelog.items` (status, assignee, priority), the actor in
  `user`, the changelog's `id` as the event's `change_id`. One delivery becomes one event: a
  status change if the update has one, else an assignee change, else a priority change; the
  whole payload stays in `data`. A status is read by the category of the issue's status
  after the update (`issue.fields.status.statusCategory.key`): `done` is `solved`, any other
  `open`.
- `comment_created`: the top-level `comment`, its body a wiki-markup string (or ADF, which
  some senders use), read as plain text.

The conversation id comes from the issue's `ticketsync-<id>` label (labels.CONVERSATION_PREFIX),
when the payload lists labels. Any other `webhookEvent` is well-formed and not acted on (event
None). Echoes: every event names ticketsync's Jira account as its actor or author when it
made the change (`actor_id`, `author_id`: the `accountId`), which the reconciliation policy
ignores as it does Zendesk's; a comment by that account, or one whose id ticketsync recorded
when it created it, is also never taken for an agent's.

`parse` is a pure function of its arguments; it raises Refused with the HTTP status
and stable error code of CONTRACT sections 2 and 3, as the Zendesk parser does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ticketsync.adapters import strict_json
from ticketsync.adapters.jira import adf
from ticketsync.adapters.jira.labels import conversation_in
from ticketsync.adapters.jira.signature import IDENTIFIER_HEADER
from ticketsync.adapters.payload_fields import MAX_ID_LENGTH, Fields
from ticketsync.events.errors import Refused
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketCommentAdded,
    TicketEvent,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import Priority

SYSTEM = "jira"
ISSUE_UPDATED = "jira:issue_updated"
COMMENT_CREATED = "comment_created"
DONE = "done"

# Jira's default priority scheme; ticketsync's urgent is Jira's Highest (CONTRACT section 4).
PRIORITY_FROM_JIRA: Mapping[str, Priority] = {
    "highest": "urgent",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "lowest": "low",
}
# JSM portal customers: their comments are the customer's words, never an agent's reply.
CUSTOMER_ACCOUNT_TYPE = "customer"


@dataclass(frozen=True, kw_only=True)
class JiraDelivery:
    """A verified, well-formed Jira payload: its envelope, and its event when ticketsync acts on it."""

    delivery_id: str  # the dedup key: X-Atlassian-Webhook-Identifier
    type: str  # webhookEvent
    occurred_at: datetime
    ticket_id: str | None  # the issue key, OPS-12
    external_id: str | None  # ticketsync's conversation id, from the issue's label
    event: TicketEvent | None  # None: a well-formed payload ticketsync does not act on
    data: dict[str, Any]  # what the audit trail shows
    content_key: str | None = None  # what the signed body names: changelog:10071


def _bad_request(code: str, detail: str, field: str | None = None) -> Refused:
    return Refused(code, detail, field)


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    own_account_id: str | None = None,
    own_comment_ids: Collection[str] = (),
) -> JiraDelivery:
    """Parse and validate a Jira admin-webhook delivery.

    `own_account_id` is ticketsync's Jira account (GET /rest/api/3/myself) and
    `own_comment_ids` the comments it created: neither is ever an agent's comment.

    Raises Refused: 400 `invalid_json` when the body is not JSON or repeats a key, 400
    `invalid_payload` when it is not an object or its envelope is missing or mistyped (the
    identifier header, `webhookEvent`, `timestamp`), 422 `invalid_data` when a type
    ticketsync acts on carries an invalid field (`field` is its path, `issue.key`).
    """
    payload = strict_json.loads(body)
    if not isinstance(payload, dict):
        raise _bad_request("invalid_payload", "body must be a JSON object")
    lowered = {name.lower(): value for name, value in headers.items()}
    delivery_id = lowered.get(IDENTIFIER_HEADER)
    if not delivery_id or len(delivery_id) > MAX_ID_LENGTH or not delivery_id.isprintable():
        raise _bad_request(
            "invalid_payload",
            f"a Jira delivery needs the {IDENTIFIER_HEADER} header",
            IDENTIFIER_HEADER,
        )
    event_type = payload.get("webhookEvent")
    if not isinstance(event_type, str) or not event_type:
        raise _bad_request(
            "invalid_payload", "webhookEvent must be a non-empty string", "webhookEvent"
        )
    occurred_at = _epoch_ms(payload.get("timestamp"))
    if occurred_at is None:
        raise _bad_request("invalid_payload", "timestamp must be epoch milliseconds", "timestamp")
    builder = _BUILDERS.get(event_type)
    if builder is None:
        issue = payload.get("issue")
        key = issue.get("key") if isinstance(issue, dict) else None
        return JiraDelivery(
            delivery_id=delivery_id,
            type=event_type,
            occurred_at=occurred_at,
            ticket_id=key if isinstance(key, str) and key else None,
            external_id=_labelled_conversation(issue),
            event=None,
            data=payload,
        )
    fields = _Fields(payload, "")
    issue = fields.object("issue")
    context = _Context(
        ticket_id=issue.id("key"),
        external_id=_labelled_conversation(issue.data),
        occurred_at=occurred_at,
        own_account_id=own_account_id,
        own_comment_ids=own_comment_ids,
    )
    return JiraDelivery(
        delivery_id=delivery_id,
        type=event_type,
        occurred_at=occurred_at,
        ticket_id=context.ticket_id,
        external_id=context.external_id,
        event=builder(fields, issue, context),
        data=payload,
        content_key=_content_key(event_type, fields),
    )


# The delivery types whose bodies name a content key.
KEYED_TYPES = (ISSUE_UPDATED, COMMENT_CREATED)


def _content_key(event_type: str, f: _Fields) -> str | None:
    """What the signed body names: an update's changelog, a new comment. The builders read
    these ids and refuse a malformed one first."""
    if event_type == ISSUE_UPDATED:
        changelog = f.optional_object("changelog")
        change_id = changelog.optional_id("id") if changelog is not None else None
        return None if change_id is None else f"changelog:{change_id}"
    if event_type == COMMENT_CREATED:
        return f"{COMMENT_CREATED}:{f.object('comment').id('id')}"
    return None


def stored_content_key(event_type: str, raw: str) -> str | None:
    """The content key of a delivery stored before ingest kept one; None when its body
    names none, or no longer reads (the log keeps what it accepted then)."""
    try:
        payload = orjson.loads(raw)
        return _content_key(event_type, _Fields(payload, "")) if isinstance(payload, dict) else None
    except (orjson.JSONDecodeError, Refused):
        return None


def _epoch_ms(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _labelled_conversation(issue: object) -> str | None:
    fields = issue.get("fields") if isinstance(issue, dict) else None
    labels = fields.get("labels") if isinstance(fields, dict) else None
    if not isinstance(labels, list):
        return None
    return conversation_in([label for label in labels if isinstance(label, str)])


_Fields = Fields


@dataclass(frozen=True)
class _Context:
    ticket_id: str
    external_id: str | None
    occurred_at: datetime
    own_account_id: str | None
    own_comment_ids: Collection[str]


def _account_id(f: _Fields | None) -> str | None:
    return None if f is None else f.optional_id("accountId")


# ---------------------------------------------------------------- jira:issue_updated


def _issue_updated(f: _Fields, issue: _Fields, context: _Context) -> TicketEvent | None:
    actor_id = _account_id(f.optional_object("user"))
    changelog = f.optional_object("changelog")
    items = changelog.list("items") if changelog is not None else []
    # Signed, unlike the identifier header, and increasing: what a replay or an overtaken
    # retry is told by (projections/ordering.py).
    change_id = changelog.optional_id("id") if changelog is not None else None
    by_field: dict[str, _Fields] = {}
    for item in items:
        name = item.data.get("fieldId") or item.data.get("field")
        if isinstance(name, str):
            by_field.setdefault(name.lower(), item)
    if "status" in by_field:
        status = issue.object("fields").object("status")
        category = status.object("statusCategory").id("key")
        return TicketStatusChanged(
            system=SYSTEM,
            ticket_id=context.ticket_id,
            status="solved" if category == DONE else "open",
            previous=None,  # the changelog names the old status only, not its category
            actor_id=actor_id,
            external_id=context.external_id,
            occurred_at=context.occurred_at,
            status_name=name if isinstance(name := status.data.get("name"), str) else None,
            change_id=change_id,
        )
    if "assignee" in by_field:
        item = by_field["assignee"]
        return TicketAssigneeChanged(
            system=SYSTEM,
            ticket_id=context.ticket_id,
            assignee_id=item.optional_id("to"),
            assignee=item.optional_text("toString"),
            actor_id=actor_id,
            external_id=context.external_id,
            occurred_at=context.occurred_at,
            change_id=change_id,
        )
    if "priority" in by_field:
        name = by_field["priority"].optional_text("toString")
        priority = PRIORITY_FROM_JIRA.get(name.strip().lower()) if name else None
        if name is not None and priority is None:
            # A site's own priority name: ticketsync has no word for it, so nothing to reflect.
            return None
        return TicketPriorityChanged(
            system=SYSTEM,
            ticket_id=context.ticket_id,
            priority=priority,
            actor_id=actor_id,
            external_id=context.external_id,
            occurred_at=context.occurred_at,
            change_id=change_id,
        )
    return None


# ---------------------------------------------------------------- comment_created


def _comment_created(f: _Fields, issue: _Fields, context: _Context) -> TicketCommentAdded:
    comment = f.object("comment")
    comment_id = comment.id("id")
    author = comment.optional_object("author")
    author_id = _account_id(author)
    body = comment.data.get("body")
    if body is not None and not isinstance(body, str | dict):
        raise comment.fail("body", "a wiki-markup string or an ADF document")
    # Internal: a JSM internal note reads back as jsdPublic false; a Jira Software comment
    # restricted to a role or group carries `visibility`.
    jsd_public = comment.data.get("jsdPublic")
    if jsd_public is not None and not isinstance(jsd_public, bool):
        raise comment.fail("jsdPublic", "true or false")
    internal = jsd_public is False or bool(comment.data.get("visibility"))
    account_type = author.data.get("accountType") if author is not None else None
    own = (
        author_id is not None and author_id == context.own_account_id
    ) or comment_id in context.own_comment_ids
    return TicketCommentAdded(
        system=SYSTEM,
        ticket_id=context.ticket_id,
        comment_id=comment_id,
        body=adf.to_text(body),
        public=not internal,
        author_id=author_id,
        author_name=author.optional_text("displayName") if author is not None else None,
        author_is_agent=not own and account_type != CUSTOMER_ACCOUNT_TYPE,
        external_id=context.external_id,
        occurred_at=context.occurred_at,
    )


_BUILDERS: Mapping[str, Callable[[_Fields, _Fields, _Context], TicketEvent | None]] = {
    ISSUE_UPDATED: _issue_updated,
    COMMENT_CREATED: _comment_created,
}
