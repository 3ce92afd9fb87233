"""Zendesk Support through its REST API: the HelpDesk port when TICKETSYNC_TICKETING=zendesk.

The API facts relied on are in docs/zendesk.md, cited as "ref §N". Every failure is raised
as one of the classes in adapters/ports.py, with `status` the HTTP status when there was an
answer and None when there was not:

    connection refused, connect timeout       Retryable       nothing was sent
    read timeout, connection dropped after    OutcomeUnknown  the request may have been applied
      sending, 500, 502, 504
    503                                       Retryable       retry_after from Retry-After
    429                                       RateLimited     retry_after from Retry-After, else 60
    404                                       NotFound        deleted, or merged away
    422 "closed prevents ticket update"       TicketClosed    under details.status or .base
    401, 403, any other 4xx                   Permanent       Zendesk's error and description

The answers with a status are sorted by `REFUSALS`, the first row that matches deciding;
what each class asks of the outbox is projections.refusals' decision.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from ticketsync.adapters.http_answers import json_object, transport_failure
from ticketsync.adapters.ports import (
    CallFailed,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Retryable,
    TicketClosed,
)
from ticketsync.adapters.retry_after import parse_retry_after
from ticketsync.events.tickets import (
    TICKET_STATUSES,
    Comment,
    DeskComment,
    NewTicket,
    Priority,
    Requester,
    TicketChange,
    TicketRef,
    TicketSnapshot,
    TicketStatus,
)

logger = logging.getLogger(__name__)

SYSTEM = "zendesk"
# CONTRACT section 4: ticketsync's "medium" is Zendesk's "normal".
PRIORITY_TO_ZENDESK: Mapping[Priority, str] = {
    "low": "low",
    "medium": "normal",
    "high": "high",
    "urgent": "urgent",
}
PAGE_SIZE = 100  # ref §7: the largest cursor page.
PRIORITY_FROM_ZENDESK: Mapping[str, Priority] = {
    zendesk: ours for ours, zendesk in PRIORITY_TO_ZENDESK.items()
}
# Users whose comments are staff's: Zendesk's roles are end-user, agent and admin (ref §4).
STAFF_ROLES = frozenset({"agent", "admin"})
# ref §5: Zendesk sends Retry-After on 429; without a readable one, wait a minute.
DEFAULT_RATE_LIMIT_WAIT = 60.0
# ref §3: the refusal of any update to a closed ticket. The key under `details` varies
# (`status`, `base`), and older accounts word it "Status closed prevents…".
CLOSED_MARKER = "closed prevents ticket update"
CLOSED_DETAILS = ("status", "base")
# A group created in Zendesk after the list was read is found on the next miss after this.
GROUP_REFRESH_SECONDS = 300.0
REQUESTER_CACHE_SIZE = 10_000
MAX_DETAIL_CHARS = 500


class ZendeskHelpDesk:
    """The HelpDesk port on Zendesk Support, through a synchronous httpx client.

    Authenticates with an API token (ref §6). Every method raises the CallFailed subclasses
    listed in the module docstring.
    """

    system = SYSTEM

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        conversation_field_id: int | None = None,
        summary_field_id: int | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.conversation_field_id = conversation_field_id
        self.summary_field_id = summary_field_id
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=(f"{email}/token", api_token),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._groups: dict[str, int] = {}
        self._groups_read_at: float | None = None
        self._requesters: OrderedDict[int, int] = OrderedDict()
        self._api_user_id: str | None = None

    def __repr__(self) -> str:
        return f"ZendeskHelpDesk({self.base_url!r})"  # Never the token.

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> ZendeskHelpDesk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the HelpDesk port

    def create_ticket(self, ticket: NewTicket, *, idempotency_key: str) -> TicketRef:
        """Create a ticket whose first comment is the summary, as an internal note.

        The same key and body within Zendesk's idempotency window (about two hours, ref §3)
        answer with the ticket the first call created. Raises CallFailed.
        """
        body = {"ticket": self._new_ticket_fields(ticket)}
        response = self._call(
            "POST", "/api/v2/tickets", json=body, headers={"Idempotency-Key": idempotency_key}
        )
        ref = self._ref(_ticket_in(response))
        logger.info(
            "zendesk.ticket_created",
            extra={
                "zendesk_ticket_id": ref.id,
                "conversation_id": ticket.external_id,
                "idempotency_lookup": response.headers.get("x-idempotency-lookup"),
            },
        )
        return ref

    def find_tickets(self, external_id: str) -> list[TicketRef]:
        """Every ticket whose external id is `external_id`, oldest first. Raises CallFailed."""
        tickets = [
            ticket
            for page in self._pages("/api/v2/tickets", "tickets", {"external_id": external_id})
            for ticket in page
            if _is_id(ticket.get("id"))
        ]
        # Zendesk promises no order here; ticket ids grow with creation time.
        return [self._ref(ticket) for ticket in sorted(tickets, key=lambda t: t["id"])]

    def add_comment(self, ticket_id: str, comment: Comment) -> None:
        """Add a public comment or an internal note; one by the requester is authored as them.

        Raises TicketClosed on a closed ticket, NotFound, and the other CallFailed.
        """
        number = _ticket_number(ticket_id)
        fields: dict[str, Any] = {"body": comment.body, "public": comment.public}
        if comment.by_requester:
            # ref §3: a comment's author defaults to the API user; author_id makes it the
            # customer's, which is also what reopens a solved ticket.
            fields["author_id"] = self._requester_id(number)
        ticket: dict[str, Any] = {"comment": fields}
        if comment.keep_status is not None:
            # ref §3: a solved ticket reopens when its requester comments, unless the same
            # update sets its status.
            ticket["status"] = comment.keep_status
        self._call("PUT", f"/api/v2/tickets/{number}", json={"ticket": ticket})
        logger.info(
            "zendesk.comment_added",
            extra={
                "zendesk_ticket_id": str(number),
                "public": comment.public,
                "by_requester": comment.by_requester,
            },
        )

    def has_comment(self, ticket_id: str, body: str) -> bool:
        """Whether the ticket has a comment whose body is exactly `body`. Raises CallFailed."""
        number = _ticket_number(ticket_id)
        # Newest first: the comment asked about is usually the last one sent.
        pages = self._pages(
            f"/api/v2/tickets/{number}/comments", "comments", {"sort": "-created_at"}
        )
        return any(comment.get("body") == body for page in pages for comment in page)

    def change_ticket(self, ticket_id: str, change: TicketChange) -> TicketRef:
        """Apply the fields `change` sets and return the ticket after the change.

        Tags are added to the ticket's own. A close from any status but solved goes through
        solved. Closing a ticket that is already closed is done, not an error. Raises
        TicketClosed when a closed ticket would have to change, and the other CallFailed.
        """
        number = _ticket_number(ticket_id)
        if change.add_tags:
            # Update Ticket replaces the tag list, and Zendesk documents additional_tags for
            # Update Many Tickets only, so tags go through the Add Tags endpoint. They go first
            # because the tag endpoints refuse closed tickets.
            # developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/
            self._call(
                "PUT", f"/api/v2/tickets/{number}/tags", json={"tags": list(change.add_tags)}
            )
        fields = self._changed_fields(change)
        if not fields:
            ref = self._ref(_ticket_in(self._call("GET", f"/api/v2/tickets/{number}")))
        else:
            ref = self._update(number, fields)
        if "requester_id" in fields:
            self._requesters.pop(number, None)  # the customer's comments are theirs from now
        logger.info(
            "zendesk.ticket_changed",
            extra={
                "zendesk_ticket_id": ref.id,
                "fields": sorted(fields) + (["tags"] if change.add_tags else []),
            },
        )
        return ref

    def read_ticket(
        self, ticket_id: str, *, since: datetime | None = None
    ) -> TicketSnapshot | None:
        """The ticket and its latest comments (up to a page, oldest first, none made before
        `since`) as Zendesk's API shows them, each comment's author's role read from the
        users Zendesk sideloads; None when Zendesk has no such ticket. Raises CallFailed.

        The ticket is read first: every comment made before its `updated_at` is then in the
        comments read after it, so a later read need not look at them again.
        """
        if not (ticket_id.isascii() and ticket_id.isdecimal()):
            return None  # not an id Zendesk can have
        number = int(ticket_id)
        try:
            # ref §8: `include` sideloads the users and groups a ticket names.
            shown = _json(
                self._call("GET", f"/api/v2/tickets/{number}", params={"include": "users,groups"})
            )
            # ref §8: newest first, so one page holds the latest; its users are the authors.
            listed = _json(
                self._call(
                    "GET",
                    f"/api/v2/tickets/{number}/comments",
                    params={"include": "users", "sort": "-created_at", "page[size]": PAGE_SIZE},
                )
            )
        except NotFound:
            return None
        ticket = shown.get("ticket")
        comments = listed.get("comments")
        if not isinstance(ticket, dict) or not isinstance(comments, list):
            raise Retryable(f"Zendesk's answer for ticket {number} has no ticket or comments")
        users = {**_by_id(shown.get("users")), **_by_id(listed.get("users"))}
        read = [
            _desk_comment(comment, users)
            for comment in comments
            if isinstance(comment, dict) and _is_id(comment.get("id"))
        ]
        groups = _by_id(shown.get("groups"))
        group_id, assignee_id = ticket.get("group_id"), ticket.get("assignee_id")
        priority = ticket.get("priority")
        snapshot = TicketSnapshot(
            status=_status(ticket.get("status")),
            priority=PRIORITY_FROM_ZENDESK.get(priority) if isinstance(priority, str) else None,
            group_id=str(group_id) if _is_id(group_id) else None,
            group=_text(groups.get(group_id, {}).get("name")),
            assignee_id=str(assignee_id) if _is_id(assignee_id) else None,
            assignee=_text(users.get(assignee_id, {}).get("name")),
            updated_at=_time(ticket.get("updated_at")),
            # Oldest first, as the help desk's events come; comments made before `since`
            # were in the read that showed the ticket at that time.
            comments=tuple(
                comment
                for comment in reversed(read)
                if since is None or comment.created_at is None or comment.created_at >= since
            ),
        )
        logger.info(
            "zendesk.ticket_read",
            extra={"zendesk_ticket_id": str(number), "comments": len(snapshot.comments)},
        )
        return snapshot

    def api_user_id(self) -> str:
        """The id of the user the API token belongs to, whose comments are ticketsync's own.

        Raises CallFailed.
        """
        if self._api_user_id is None:
            user = _json(self._call("GET", "/api/v2/users/me")).get("user")
            if not isinstance(user, dict) or not _is_id(user.get("id")):
                raise Retryable("Zendesk's /users/me answer has no user id", status=200)
            self._api_user_id = str(user["id"])
        return self._api_user_id

    # ------------------------------------------------------------------ request bodies

    def _new_ticket_fields(self, ticket: NewTicket) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "subject": ticket.subject,
            # CONTRACT section 4: the summary is an internal note, never shown to the customer.
            "comment": {"body": ticket.summary, "public": False},
        }
        if ticket.requester is not None:
            person = _person(ticket.requester)
            if person:
                # ref §3: Zendesk finds the user by email, or creates one.
                fields["requester"] = person
        fields["priority"] = PRIORITY_TO_ZENDESK[ticket.priority]
        if ticket.group is not None:
            group_id = self._group_id(ticket.group)
            if group_id is not None:
                fields["group_id"] = group_id
        # Sent even when empty: a follow-up without `tags` inherits the closed ticket's (ref §3).
        fields["tags"] = list(ticket.tags)
        fields["external_id"] = ticket.external_id
        custom_fields = [
            {"id": field_id, "value": value}
            for field_id, value in (
                (self.conversation_field_id, ticket.external_id),
                (self.summary_field_id, ticket.summary),
            )
            if field_id is not None
        ]
        if custom_fields:
            fields["custom_fields"] = custom_fields
        if ticket.follow_up_of is not None:
            fields["via_followup_source_id"] = _ticket_number(ticket.follow_up_of)
        return fields

    def _changed_fields(self, change: TicketChange) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if change.priority is not None:
            fields["priority"] = PRIORITY_TO_ZENDESK[change.priority]
        if change.group is not None:
            group_id = self._group_id(change.group)
            if group_id is not None:
                fields["group_id"] = group_id
        if change.assignee is not None:
            assignee = change.assignee
            fields["assignee_id"] = (
                int(assignee) if assignee.isascii() and assignee.isdecimal() else assignee
            )
        if change.status is not None:
            fields["status"] = change.status
        if change.requester is not None:
            person = _person(change.requester)
            if person:
                # ref §4: finds the user by email, or creates an end-user; ref §3: PUT takes
                # requester_id.
                user = _json(
                    self._call("POST", "/api/v2/users/create_or_update", json={"user": person})
                ).get("user")
                if not isinstance(user, dict) or not _is_id(user.get("id")):
                    raise Retryable("Zendesk's create_or_update answer has no user id", status=200)
                fields["requester_id"] = user["id"]
        return fields

    def _update(self, number: int, fields: dict[str, Any]) -> TicketRef:
        path = f"/api/v2/tickets/{number}"
        try:
            return self._ref(_ticket_in(self._call("PUT", path, json={"ticket": fields})))
        except TicketClosed:
            if fields.get("status") == "closed":
                # Already where it was asked to go, e.g. a retry after an unknown outcome
                # (a priority sent along was set by the update that closed it).
                return TicketRef(
                    system=SYSTEM, id=str(number), url=self._url(number), status="closed"
                )
            raise
        except Permanent as refused:
            if fields.get("status") != "closed" or refused.status != 422:
                raise
        # Zendesk refuses to close a ticket that is not solved; solve it, then close it.
        logger.info("zendesk.close_through_solved", extra={"zendesk_ticket_id": str(number)})
        self._call("PUT", path, json={"ticket": {**fields, "status": "solved"}})
        closed = self._call("PUT", path, json={"ticket": {"status": "closed"}})
        return self._ref(_ticket_in(closed))

    # ------------------------------------------------------------------ lookups

    def _group_id(self, name: str) -> int | None:
        """The id of the group called `name`, or None (logged) when Zendesk has none."""
        if name in self._groups:
            return self._groups[name]
        now = time.monotonic()
        if self._groups_read_at is None or now - self._groups_read_at >= GROUP_REFRESH_SECONDS:
            groups: dict[str, int] = {}
            for page in self._pages("/api/v2/groups", "groups", {}):
                for group in page:
                    if isinstance(group.get("name"), str) and _is_id(group.get("id")):
                        groups.setdefault(group["name"], group["id"])
            self._groups, self._groups_read_at = groups, now
        group_id = self._groups.get(name)
        if group_id is None:
            # Not an error: the ticket is still worth creating, in no group.
            logger.warning("zendesk.group_unknown", extra={"group_name": name})
        return group_id

    def _requester_id(self, number: int) -> int:
        cached = self._requesters.get(number)
        if cached is not None:
            return cached
        ticket = _ticket_in(self._call("GET", f"/api/v2/tickets/{number}"))
        requester_id = ticket.get("requester_id")
        if not _is_id(requester_id):
            raise Retryable(f"Zendesk ticket {number} has no requester_id", status=200)
        self._requesters[number] = requester_id
        if len(self._requesters) > REQUESTER_CACHE_SIZE:
            self._requesters.popitem(last=False)
        return requester_id

    def _pages(
        self, path: str, key: str, params: Mapping[str, str]
    ) -> Iterator[list[dict[str, Any]]]:
        """The items under `key`, a page at a time, by cursor pagination (ref §7)."""
        query: dict[str, str | int] = {**params, "page[size]": PAGE_SIZE}
        while True:
            body = _json(self._call("GET", path, params=query))
            items = body.get(key)
            if not isinstance(items, list):
                raise Retryable(f"Zendesk's answer to GET {path} has no {key!r} list", status=200)
            yield [item for item in items if isinstance(item, dict)]
            meta = body.get("meta")
            after = meta.get("after_cursor") if isinstance(meta, dict) else None
            if not (isinstance(meta, dict) and meta.get("has_more") and isinstance(after, str)):
                return
            if after == query.get("page[after]"):
                raise Retryable(f"Zendesk's pagination of GET {path} repeats", status=200)
            query = {**params, "page[size]": PAGE_SIZE, "page[after]": after}

    # ------------------------------------------------------------------ HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; return a 2xx response or raise the CallFailed it amounts to."""
        started = time.monotonic()
        try:
            response = self._client.request(method, path, params=params, json=json, headers=headers)
        except httpx.RequestError as error:
            failure = transport_failure(error, "Zendesk")
            logger.warning(
                "zendesk.request_failed",
                extra={
                    "method": method,
                    "path": path,
                    "error": type(error).__name__,
                    "outcome": type(failure).__name__,
                },
            )
            raise failure from error
        elapsed_ms = round((time.monotonic() - started) * 1000)
        fields = {"method": method, "path": path, "status": response.status_code}
        if response.is_success:
            logger.debug("zendesk.request", extra={**fields, "duration_ms": elapsed_ms})
            return response
        failure = _http_failure(response)
        logger.warning(
            "zendesk.request_refused",
            extra={**fields, "duration_ms": elapsed_ms, "outcome": type(failure).__name__},
        )
        raise failure

    def _url(self, number: int | str) -> str:
        return f"{self.base_url}/agent/tickets/{number}"

    def _ref(self, ticket: Mapping[str, Any]) -> TicketRef:
        return TicketRef(
            system=SYSTEM,
            id=str(ticket["id"]),
            url=self._url(ticket["id"]),
            status=_status(ticket.get("status")),
        )


# ---------------------------------------------------------------------- answers


def _says_closed(response: httpx.Response) -> bool:
    """Whether a refusal is Zendesk's "closed prevents ticket update" (ref §3).

    Read under `details.status` or `details.base` of the JSON error; a body that is not a
    JSON object (some Zendesk errors are text/plain, ref §5) is read as text.
    """
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return CLOSED_MARKER in response.text.lower()
    details = body.get("details")
    if not isinstance(details, dict):
        return False
    for key in CLOSED_DETAILS:
        entries = details.get(key)
        for entry in entries if isinstance(entries, list) else [entries]:
            text = entry.get("description") if isinstance(entry, dict) else entry
            if isinstance(text, str) and CLOSED_MARKER in text.lower():
                return True
    return False


# How Zendesk's answers with an error status are read: the first matching row decides.
# A 500, or a gateway's 502/504, can come after Zendesk applied the request, so the caller
# looks before sending it again (OutcomeUnknown is still Retryable).
REFUSALS: tuple[
    tuple[Callable[[int], bool], Callable[[httpx.Response], bool], type[CallFailed]], ...
] = (
    (lambda status: status == 429, lambda _: True, RateLimited),
    (lambda status: status == 503, lambda _: True, Retryable),
    (lambda status: status >= 500, lambda _: True, OutcomeUnknown),
    (lambda status: status == 404, lambda _: True, NotFound),
    (lambda status: status == 422, _says_closed, TicketClosed),
    (lambda status: True, lambda _: True, Permanent),
)


def _http_failure(response: httpx.Response) -> CallFailed:
    status = response.status_code
    detail = f"Zendesk answered {status}: {_describe(response)}"
    kind = next(kind for code, body, kind in REFUSALS if code(status) and body(response))
    if kind is RateLimited:
        wait = _retry_after(response)
        return RateLimited(
            detail, status=status, retry_after=DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        )
    if issubclass(kind, Retryable):
        return kind(detail, status=status, retry_after=_retry_after(response))
    return kind(detail, status=status)


def _describe(response: httpx.Response) -> str:
    """Zendesk's error code, description and details, or the start of a non-JSON body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        text = " ".join(response.text.split())
        return (text or response.reason_phrase or "no body")[:MAX_DETAIL_CHARS]
    parts: list[str] = []
    error = body.get("error")
    if isinstance(error, dict):  # Some endpoints answer {"error": {"title", "message"}}.
        parts += [str(error[k]) for k in ("title", "message") if error.get(k)]
    elif error:
        parts.append(str(error))
    if body.get("description"):
        parts.append(str(body["description"]))
    details = body.get("details")
    if isinstance(details, dict):
        for name, entries in details.items():
            for entry in entries if isinstance(entries, list) else [entries]:
                text = entry.get("description") if isinstance(entry, dict) else entry
                if text:
                    parts.append(f"{name}: {text}")
    text = "; ".join(parts) if parts else orjson.dumps(body).decode()
    return text[:MAX_DETAIL_CHARS]


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (ref §5), as seconds or an HTTP date; None when absent or unreadable."""
    # An HTTP date is compared with the wall clock: both sides mean the same moment by it.
    return parse_retry_after(response.headers.get("retry-after"), now=time.time())


def _json(response: httpx.Response) -> dict[str, Any]:
    return json_object(response, "Zendesk")


def _ticket_in(response: httpx.Response) -> dict[str, Any]:
    ticket = _json(response).get("ticket")
    if not isinstance(ticket, dict) or not _is_id(ticket.get("id")):
        failure = Retryable if response.request.method == "GET" else OutcomeUnknown
        raise failure(
            f"Zendesk answered {response.status_code} without a ticket",
            status=response.status_code,
        )
    return ticket


def _ticket_number(ticket_id: str) -> int:
    """A ticket id as Zendesk's integer; raises NotFound for one Zendesk cannot have."""
    if not (ticket_id.isascii() and ticket_id.isdecimal()):
        raise NotFound(f"{ticket_id!r} is not a Zendesk ticket id")
    return int(ticket_id)


def _status(value: Any) -> TicketStatus | None:
    for status in TICKET_STATUSES:
        if value == status:
            return status
    return None


def _person(requester: Requester) -> dict[str, str]:
    """The name and email Zendesk knows a requester by, where given."""
    return {
        key: value for key, value in (("name", requester.name), ("email", requester.email)) if value
    }


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _by_id(items: Any) -> dict[int, dict[str, Any]]:
    """A sideloaded list (`users`, `groups`) by id; anything malformed is left out."""
    if not isinstance(items, list):
        return {}
    return {item["id"]: item for item in items if isinstance(item, dict) and _is_id(item.get("id"))}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> datetime | None:
    """Zendesk's times (`2026-11-25T10:00:05Z`, ref §1) as aware UTC; None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _desk_comment(
    comment: Mapping[str, Any], users: Mapping[int, Mapping[str, Any]]
) -> DeskComment:
    """A comment as Zendesk lists it. Whether its author is staff is their role among the
    sideloaded users; an author Zendesk did not show is taken for no agent, so that nothing
    unknown reaches the chat as an agent's reply."""
    author_id = comment.get("author_id")
    author = users.get(author_id, {}) if _is_id(author_id) else {}
    body = comment.get("body")
    return DeskComment(
        id=str(comment["id"]),
        body=body if isinstance(body, str) else "",
        public=comment.get("public") is True,
        author_id=str(author_id) if _is_id(author_id) else None,
        author_name=_text(author.get("name")),
        author_is_agent=author.get("role") in STAFF_ROLES,
        created_at=_time(comment.get("created_at")),
    )
