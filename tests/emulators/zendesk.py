"""In-memory emulator of the Zendesk Support REST API, for end-to-end tests.

Behaviour follows docs/zendesk.md, cited below as "ref §N". Where the
reference is silent the emulator still has to answer something; those answers are marked
"emulator wording" or "emulator choice" so nobody mistakes them for Zendesk's own.

    emulator = ZendeskEmulator(email="bot@example.com", api_token="secret")
    with serve(emulator) as base_url:
        with httpx.Client(base_url=base_url, auth=emulator.auth) as client:
            client.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "Hi"}}})
        assert emulator.tickets()[0]["status"] == "new"

Tests steer it with fail_next(), drop_after_commit(), delay() and clear_faults(), play the
people on the Zendesk side with act_as_agent() and act_as_requester(), and read what the
client did with requests() and creates(). Operations that Zendesk refuses raise ApiError,
which the HTTP layer turns into Zendesk's error body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from http import HTTPStatus
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

import anyio
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = [
    "DEFAULT_GROUPS",
    "ApiError",
    "RecordedRequest",
    "ZendeskEmulator",
    "serve",
]

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_TYPES = ("problem", "incident", "question", "task")
ROLES = ("end-user", "agent", "admin")
DEFAULT_GROUPS = (
    "Support Tier 1",
    "Support Tier 2",
    "Billing Team",
    "Engineering",
    "Product",
    "Retention",
    "Security",
)

IDEMPOTENCY_TTL = timedelta(hours=2)  # ref §3 Idempotency (P).
MAX_COMMENTS = 5000  # ref §3: the 5001st comment is refused with 422.
MAX_PAGE_SIZE = 100  # ref §7.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

# ref §5 gives no 429 body. This shape is the one Zendesk clients report seeing; it is
# unverified, and fail_next(body=...) can send anything else, including plain text.
RATE_LIMITED_BODY = {
    "error": "APIRateLimitExceeded",
    "description": "Number of allowed API requests per minute exceeded",
}
IDEMPOTENCY_MISMATCH_BODY = {  # ref §3 Idempotency.
    "error": "IdempotentRequestError",
    "description": "Request parameters don't match the given idempotency key",
}

# How often a withheld answer or a delay checks whether serve() is stopping.
_POLL_INTERVAL = 0.05


class ApiError(Exception):
    """An error answer in Zendesk's shape: raised by operations, rendered by the HTTP layer."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, before authentication or fault injection."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # Names are lower-case.
    json: Any  # The parsed body; None when the body is empty or not JSON.
    received_at: datetime


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any  # JSON-serialisable, or str/bytes to send as text/plain.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Call:
    """What an operation needs from a request that passed authentication."""

    request: RecordedRequest
    params: Mapping[str, Any]
    user_id: int


_Operation = Callable[[_Call], _Reply]


@dataclass
class _Rule:
    """A fault a test asked for, applied to the next matching requests."""

    method: str | None
    path: re.Pattern[str] | None
    remaining: int | None  # None: applies until clear_faults().
    reply: _Reply | None = None
    seconds: float = 0.0

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or self.path.fullmatch(request.path) is not None


@dataclass(frozen=True)
class _StoredReply:
    fingerprint: bytes
    reply: _Reply
    stored_at: datetime


@dataclass
class _User:
    id: int
    name: str
    email: str | None
    role: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class _Group:
    id: int
    name: str
    created_at: datetime


@dataclass
class _Comment:
    id: int
    author_id: int
    body: str
    html_body: str
    public: bool
    audit_id: int
    created_at: datetime


@dataclass(frozen=True)
class _NewComment:
    """A validated comment from a request, not yet stored."""

    body: str
    html_body: str
    public: bool
    author_id: int


@dataclass
class _Ticket:
    id: int
    subject: str | None
    description: str
    status: str
    priority: str | None
    type: str | None
    requester_id: int
    submitter_id: int
    assignee_id: int | None
    group_id: int | None
    tags: list[str]
    external_id: str | None
    custom_fields: dict[int, Any]
    followup_source_id: int | None
    followup_ids: list[int]
    is_public: bool
    created_at: datetime
    updated_at: datetime


class ZendeskEmulator:
    """Zendesk Support API state in memory, served by the Starlette application in `app`.

    Uvicorn serves `app` on its own thread while tests read state from theirs, so every
    access to state holds `_lock`. The lock is never held across an `await`.
    """

    def __init__(
        self,
        *,
        email: str = "ticketsync@example.com",
        api_token: str = "emulator-token",
        groups: Sequence[str] = DEFAULT_GROUPS,
        subdomain: str = "ticketsync",
        clock: Callable[[], datetime] | None = None,
        rate_limit: int = 700,
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.rate_limit = rate_limit
        # URLs in answers (ticket url, Location, pagination links) start with this. serve()
        # and every request point it at the address the client actually used.
        self.base_url = f"https://{subdomain}.zendesk.com"
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # Each kind of id has its own range, so a user id passed where a ticket id belongs
        # finds nothing instead of the wrong record. Comment ids come from the audit event
        # sequence because in Zendesk a comment's id is the id of its audit event.
        self._ids = {
            "ticket": itertools.count(1),
            "user": itertools.count(10_001),
            "group": itertools.count(20_001),
            "audit": itertools.count(30_001),
            "event": itertools.count(40_001),
        }
        self._tickets: dict[int, _Ticket] = {}
        self._comments: dict[int, list[_Comment]] = {}
        self._users: dict[int, _User] = {}
        self._groups: dict[int, _Group] = {}
        self._idempotency: dict[str, _StoredReply] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Rule] = []
        self._drops: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._rate_window: datetime | None = None
        self._rate_used = 0

        now = self._clock()
        self.api_user_id = self._new_user("Ticketsync API", email, "agent", None, now).id
        # A human agent distinct from the API user, so tests can tell ticketsync's own
        # comments (which come back in webhooks, ref §2b) from a person's.
        self.agent_id = self._new_user(
            "Avery Agent", "avery.agent@example.com", "agent", None, now
        ).id
        for name in groups:
            group_id = next(self._ids["group"])
            self._groups[group_id] = _Group(group_id, name, now)

        self.app = Starlette(
            routes=self._routes(),
            # Unknown paths and wrong methods go through the same pipeline as real endpoints,
            # so they are recorded and answered with JSON like everything else.
            exception_handlers={HTTPException: self._unrouted},
        )

    # ------------------------------------------------------------------ test controls

    @property
    def auth(self) -> tuple[str, str]:
        """Credentials for httpx: Basic auth as `{email}/token` and the token (ref §6)."""
        return (f"{self.email}/token", self.api_token)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        retry_after: int | str | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
    ) -> None:
        """Answer the next n matching requests with `status` without processing them.

        `path` is a regular expression the whole request path must match. A str or bytes
        `body` goes out as text/plain, as some real Zendesk errors do (ref §5).
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        reply = _Reply(status, _default_failure_body(status) if body is None else body, headers)
        with self._lock:
            self._failures.append(_Rule(*_predicate(method, path), remaining=n, reply=reply))

    def drop_after_commit(
        self, n: int = 1, *, method: str | None = None, path: str | re.Pattern[str] | None = None
    ) -> None:
        """Process the next n matching requests fully, then never answer them.

        The connection stays open without a response until the client gives up (its read
        timeout fires), so the client cannot tell whether the request took effect. A client
        without a timeout waits until serve() stops, and then gets a 503.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._drops.append(_Rule(*_predicate(method, path), remaining=n))

    def delay(
        self,
        seconds: float,
        *,
        times: int | None = None,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
    ) -> None:
        """Hold matching answers for `seconds` after processing; `times=None` means until cleared.

        The state change happens before the pause, so a client that times out during a delay
        sees the same outcome as with drop_after_commit().
        """
        if seconds < 0 or (times is not None and times < 1):
            raise ValueError("seconds must be >= 0 and times >= 1")
        with self._lock:
            self._delays.append(_Rule(*_predicate(method, path), remaining=times, seconds=seconds))

    def clear_faults(self) -> None:
        """Forget every fault set by fail_next(), drop_after_commit() and delay()."""
        with self._lock:
            self._failures.clear()
            self._drops.clear()
            self._delays.clear()

    def add_user(
        self,
        name: str,
        email: str | None = None,
        *,
        role: str = "end-user",
        external_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a user directly in state and return it as the API shows it."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self._lock:
            return self._render_user(self._new_user(name, email, role, external_id, self._clock()))

    def act_as_agent(
        self,
        ticket_id: int,
        *,
        status: str | None = None,
        comment: str | None = None,
        public: bool = True,
        author_id: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Update a ticket as a person in the Zendesk agent UI would, and return the audit.

        The audit's `events` list what changed. The same rules as PUT apply, so a closed
        ticket raises ApiError; an unknown ticket raises KeyError. `fields` are any other
        ticket fields PUT accepts, such as priority or assignee_id.
        """
        data: dict[str, Any] = dict(fields)
        if status is not None:
            data["status"] = status
        if comment is not None:
            data["comment"] = {"body": comment, "public": public}
        with self._lock:
            ticket = self._tickets[ticket_id]
            return self._apply_update(ticket, data, actor_id=author_id or self.agent_id)

    def close_solved_tickets(self) -> list[int]:
        """Close every solved ticket, as Zendesk's default automation does some days after a
        ticket is solved (ref §3: closed tickets take no more updates). Like the real
        automation, it sends no webhook unless one is set up. Returns the ids it closed."""
        with self._lock:
            now = self._clock()
            closed = []
            for ticket in self._tickets.values():
                if ticket.status == "solved":
                    ticket.status = "closed"
                    ticket.updated_at = now
                    closed.append(ticket.id)
            return closed

    def delete_ticket(self, ticket_id: int) -> None:
        """Delete a ticket as an agent would: from now on the API answers 404 for it and no
        list shows it (ref §5: RecordNotFound). Raises KeyError for an unknown ticket."""
        with self._lock:
            del self._tickets[ticket_id]
            self._comments.pop(ticket_id, None)

    def act_as_requester(self, ticket_id: int, comment: str) -> dict[str, Any]:
        """Add a public comment from the ticket's requester (an email reply, say); return the audit."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            data = {"comment": {"body": comment, "public": True}}
            return self._apply_update(ticket, data, actor_id=ticket.requester_id)

    # ------------------------------------------------------------------ inspection

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket as GET /api/v2/tickets/{id} would show it, by id."""
        with self._lock:
            return [self._render_ticket(t) for _, t in sorted(self._tickets.items())]

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """One ticket as the API shows it; raises KeyError when there is none."""
        with self._lock:
            return self._render_ticket(self._tickets[ticket_id])

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        """A ticket's comments, oldest first; raises KeyError for an unknown ticket."""
        with self._lock:
            return [self._render_comment(c) for c in self._comments[ticket_id]]

    def users(self) -> list[dict[str, Any]]:
        """Every user, by id."""
        with self._lock:
            return [self._render_user(u) for _, u in sorted(self._users.items())]

    def group_id(self, name: str) -> int:
        """The id of the group called `name`; raises KeyError when there is none."""
        with self._lock:
            for group in self._groups.values():
                if group.name == name:
                    return group.id
        raise KeyError(name)

    def requests(
        self, method: str | None = None, path: str | re.Pattern[str] | None = None
    ) -> list[RecordedRequest]:
        """Requests received so far, in order; `path` is a regular expression for the whole path."""
        rule = _Rule(*_predicate(method, path), remaining=None)
        with self._lock:
            return [r for r in self._requests if rule.matches(r)]

    def creates(self) -> list[RecordedRequest]:
        """Every POST /api/v2/tickets received, including refused and replayed ones."""
        return self.requests("POST", r"/api/v2/tickets(\.json)?")

    # ------------------------------------------------------------------ HTTP layer

    def _routes(self) -> list[Route]:
        table: list[tuple[str, str, _Operation]] = [
            ("/api/v2/tickets", "POST", self._create_ticket),
            ("/api/v2/tickets", "GET", self._list_tickets),
            ("/api/v2/tickets/{ticket_id:int}", "GET", self._show_ticket),
            ("/api/v2/tickets/{ticket_id:int}", "PUT", self._update_ticket),
            ("/api/v2/tickets/{ticket_id:int}/comments", "GET", self._list_comments),
            ("/api/v2/tickets/{ticket_id:int}/tags", "PUT", self._add_tags),
            ("/api/v2/groups", "GET", self._list_groups),
            ("/api/v2/users/me", "GET", self._show_me),
            ("/api/v2/users/search", "GET", self._search_users),
            ("/api/v2/users/create_or_update", "POST", self._create_or_update_user),
            ("/api/v2/users/{user_id:int}", "GET", self._show_user),
        ]
        routes = []
        for path, method, operation in table:
            # Zendesk accepts every path with and without a ".json" suffix, and its own
            # URLs (ticket url, next_page) use the suffix.
            for variant in (path, f"{path}.json"):
                routes.append(Route(variant, self._endpoint(operation), methods=[method]))
        return routes

    def _endpoint(self, operation: _Operation) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(request, operation)

        return endpoint

    async def _unrouted(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)

        def refuse(call: _Call) -> _Reply:
            if exc.status_code == 405:
                body = {"error": "MethodNotAllowed", "description": "Method Not Allowed"}
                raise ApiError(405, body, exc.headers)  # Emulator wording.
            # Zendesk's usual answer to an unknown endpoint; not in the reference (U).
            raise ApiError(404, {"error": "InvalidEndpoint", "description": "Not found"})

        return await self._handle(request, refuse)

    async def _handle(self, request: Request, operation: _Operation) -> Response:
        raw = await request.body()
        try:
            payload, malformed = (orjson.loads(raw) if raw else None), False
        except orjson.JSONDecodeError:
            payload, malformed = None, True
        with self._lock:
            now = self._clock()
            recorded = RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=MappingProxyType(dict(request.query_params)),
                headers=MappingProxyType(dict(request.headers.items())),
                json=payload,
                received_at=now,
            )
            self._requests.append(recorded)
            self._count_request(now)
            failure = _take(self._failures, recorded)
            drop = _take(self._drops, recorded) if failure is None else None
            delay = _take(self._delays, recorded)

        if failure is not None and failure.reply is not None:
            reply = failure.reply
        else:
            reply = self._process(operation, request, recorded, malformed)
        if delay is not None:
            await self._pause(delay.seconds)
        if drop is not None:
            return _WithheldAnswer(self._stopping)
        with self._lock:
            rate_headers = self._rate_headers(now, exhausted=reply.status == 429)
        return _render(reply, rate_headers)

    def _process(
        self, operation: _Operation, request: Request, recorded: RecordedRequest, malformed: bool
    ) -> _Reply:
        try:
            with self._lock:
                self.base_url = str(request.base_url).rstrip("/")
                user_id = self._authenticate(recorded.headers.get("authorization", ""))
                if malformed:
                    # Emulator wording: the reference does not record Zendesk's answer.
                    raise ApiError(400, {"error": "InvalidJSON", "description": "Invalid JSON"})
                return operation(_Call(recorded, dict(request.path_params), user_id))
        except ApiError as error:
            return _Reply(error.status, error.body, error.headers)

    def _authenticate(self, header: str) -> int:
        # ref §6: an API token is Basic auth with username "{email}/token" and the token
        # as the password.
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            username, _, password = decoded.partition(":")
            email, _, suffix = username.rpartition("/")
            if (
                suffix == "token"
                and email.casefold() == self.email.casefold()
                and hmac.compare_digest(password.encode(), self.api_token.encode())
            ):
                return self.api_user_id
        raise ApiError(401, {"error": "Couldn't authenticate you"})

    def _count_request(self, now: datetime) -> None:
        window = now.replace(second=0, microsecond=0)
        if window != self._rate_window:
            self._rate_window, self._rate_used = window, 0
        self._rate_used += 1

    def _rate_headers(self, now: datetime, *, exhausted: bool) -> dict[str, str]:
        # ref §5. The emulator counts requests per clock minute but never refuses on its own:
        # with a frozen test clock every request falls in one minute, and a surprise 429
        # would be a flaky test. Use fail_next(n, 429) to rate-limit.
        remaining = 0 if exhausted else max(self.rate_limit - self._rate_used, 0)
        return {
            "X-Rate-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "ratelimit-limit": str(self.rate_limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(60 - now.second),
        }

    async def _pause(self, seconds: float) -> None:
        # Sleep in short steps so that serve() can stop without waiting out a long delay.
        deadline = anyio.current_time() + seconds
        while not self._stopping.is_set():
            left = deadline - anyio.current_time()
            if left <= 0:
                return
            await anyio.sleep(min(left, _POLL_INTERVAL))

    # ------------------------------------------------------------------ tickets

    def _create_ticket(self, call: _Call) -> _Reply:
        # ref §3 Idempotency: only ticket creation honours Idempotency-Key.
        key = call.request.headers.get("idempotency-key")
        if key is None:
            return self._open_ticket(call)
        now = self._clock()
        # Compare parsed bodies, not bytes: Zendesk matches "request parameters", and a
        # retry that serialises the same JSON with other spacing or key order is the same request.
        fingerprint = orjson.dumps(call.request.json, option=orjson.OPT_SORT_KEYS)
        stored = self._idempotency.get(key)
        if stored is not None and now - stored.stored_at >= IDEMPOTENCY_TTL:
            del self._idempotency[key]
            stored = None
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise ApiError(400, dict(IDEMPOTENCY_MISMATCH_BODY))
            return replace(
                stored.reply, headers={**stored.reply.headers, "x-idempotency-lookup": "hit"}
            )
        # Emulator choice: only a successful create uses up the key, so a client may fix a
        # refused (422) body and retry with the same key.
        reply = self._open_ticket(call)
        reply = replace(reply, headers={**reply.headers, "x-idempotency-lookup": "miss"})
        self._idempotency[key] = _StoredReply(fingerprint, reply, now)
        return reply

    def _open_ticket(self, call: _Call) -> _Reply:
        data = _object_param(call.request.json, "ticket")
        first = data.get("comment")
        if not isinstance(first, dict) or not (first.get("body") or first.get("html_body")):
            # The description is the first comment, so Zendesk needs one. Emulator wording.
            raise _record_invalid("description", "Description: cannot be blank", "BlankValue")
        # Validate everything before changing anything, so a refused request leaves no trace.
        # ref §3: the first comment's author defaults to the authenticated user.
        comment = self._comment_param(first, default_author=call.user_id)
        status = _choice(data, "status", STATUSES) if "status" in data else "new"
        priority = (
            _choice(data, "priority", PRIORITIES, nullable=True) if "priority" in data else None
        )
        ticket_type = _choice(data, "type", TICKET_TYPES, nullable=True) if "type" in data else None
        group_id = self._group_param(data.get("group_id"))
        assignee_id = self._assignee_param(data)
        source = self._followup_source_param(data.get("via_followup_source_id"))
        if "tags" in data:
            tags = _tags_param(data["tags"])
        else:
            # ref §3: a follow-up inherits the closed ticket's tags unless the request sends tags.
            tags = list(source.tags) if source is not None else []
        custom_fields = _custom_fields_param(data.get("custom_fields", []))
        submitter_id = self._user_param(data.get("submitter_id", call.user_id), "submitter_id")
        requester = self._requester_param(data, default=call.user_id)

        now = self._clock()
        if isinstance(requester, int):
            requester_id = requester
        else:
            # ref §3: a requester given by name and email is created when no user has that email.
            requester_id = self._new_user(*requester, "end-user", None, now).id
        ticket = _Ticket(
            id=next(self._ids["ticket"]),
            subject=_optional_str(data, "subject"),
            description=comment.body,
            status=status,
            priority=priority,
            type=ticket_type,
            requester_id=requester_id,
            submitter_id=submitter_id,
            assignee_id=assignee_id,
            group_id=group_id,
            tags=tags,
            external_id=_external_id(data.get("external_id")),
            custom_fields=custom_fields,
            followup_source_id=source.id if source is not None else None,
            followup_ids=[],
            is_public=comment.public,
            created_at=now,
            updated_at=now,
        )
        self._tickets[ticket.id] = ticket
        self._comments[ticket.id] = []
        self._store_comment(ticket, comment, next(self._ids["audit"]), now)
        if source is not None:
            source.followup_ids.append(ticket.id)
        # ref §3: 201 with a Location header and {"ticket": ...}.
        location = f"{self.base_url}/api/v2/tickets/{ticket.id}.json"
        return _Reply(201, {"ticket": self._render_ticket(ticket)}, {"Location": location})

    def _list_tickets(self, call: _Call) -> _Reply:
        tickets = sorted(self._tickets.values(), key=lambda t: t.id)
        if "external_id" in call.request.query:
            # ref §3: external_id is not unique, so this can return several tickets.
            wanted = call.request.query["external_id"]
            tickets = [t for t in tickets if t.external_id == wanted]
        items = [self._render_ticket(t) for t in tickets]
        return _Reply(200, self._paginate(call, "tickets", items))

    def _show_ticket(self, call: _Call) -> _Reply:
        ticket = self._ticket_or_404(call.params["ticket_id"])
        body: dict[str, Any] = {"ticket": self._render_ticket(ticket)}
        # ref §8: `include` sideloads the records a ticket names, each under its own key.
        wanted = _includes(call.request.query)
        if "users" in wanted:
            named = (ticket.requester_id, ticket.submitter_id, ticket.assignee_id)
            body["users"] = self._render_users(named)
        if "groups" in wanted:
            group = self._groups.get(ticket.group_id or 0)
            body["groups"] = [self._render_group(group)] if group is not None else []
        return _Reply(200, body)

    def _update_ticket(self, call: _Call) -> _Reply:
        ticket = self._ticket_or_404(call.params["ticket_id"])
        data = _object_param(call.request.json, "ticket")
        audit = self._apply_update(ticket, data, actor_id=call.user_id)
        # ref §3: PUT answers 200 with the ticket and the audit of what changed.
        return _Reply(200, {"ticket": self._render_ticket(ticket), "audit": audit})

    def _list_comments(self, call: _Call) -> _Reply:
        ticket = self._ticket_or_404(call.params["ticket_id"])
        comments = [self._render_comment(c) for c in self._comments[ticket.id]]
        # ref §3: ascending by default; sort=-created_at reverses.
        if call.request.query.get("sort") == "-created_at":
            comments.reverse()
        body = self._paginate(call, "comments", comments)
        if "users" in _includes(call.request.query):
            # ref §8: the users the listed comments name, their authors first of all, with
            # the role that says whether each is staff.
            body["users"] = self._render_users(c["author_id"] for c in body["comments"])
        return _Reply(200, body)

    def _add_tags(self, call: _Call) -> _Reply:
        # Zendesk's Add Tags endpoint adds to the ticket's tags where PUT /tickets/{id}
        # replaces them, and answers with every tag the ticket then has. Zendesk documents
        # `additional_tags` only for Update Many Tickets, so the single-ticket PUT ignores it
        # here as it does any other unknown field. The endpoints under /tags "cannot be used"
        # on closed tickets; the exact refusal is not documented, so the emulator gives the
        # 422 every other update of a closed ticket gets (emulator choice).
        # developer.zendesk.com/api-reference/ticketing/ticket-management/tags/#add-tags
        # developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/
        ticket = self._ticket_or_404(call.params["ticket_id"])
        payload = call.request.json
        if not isinstance(payload, dict) or "tags" not in payload:
            # Emulator wording: the reference does not record Zendesk's answer.
            body = {"error": "InvalidParameter", "description": "Expected a list under 'tags'"}
            raise ApiError(400, body)
        added = _tags_param(payload["tags"])
        self._apply_update(ticket, {"tags": [*ticket.tags, *added]}, actor_id=call.user_id)
        return _Reply(200, {"tags": list(ticket.tags)})

    def _apply_update(self, ticket: _Ticket, data: dict[str, Any], actor_id: int) -> dict[str, Any]:
        """Validate and apply a PUT body; return the audit. Raises ApiError, changing nothing."""
        if ticket.status == "closed":
            # ref §3 (C): every update to a closed ticket is refused with exactly this body.
            # Clients must open a follow-up with via_followup_source_id instead.
            raise _record_invalid("status", "Status: closed prevents ticket update", error=None)
        changes: dict[str, Any] = {}
        if "status" in data:
            status = _choice(data, "status", STATUSES)
            if status != ticket.status:
                _check_transition(ticket.status, status)
                changes["status"] = status
        if "priority" in data:
            changes["priority"] = _choice(data, "priority", PRIORITIES, nullable=True)
        if "type" in data:
            changes["type"] = _choice(data, "type", TICKET_TYPES, nullable=True)
        if "subject" in data:
            changes["subject"] = _optional_str(data, "subject")
        if "external_id" in data:
            changes["external_id"] = _external_id(data["external_id"])
        if "group_id" in data:
            changes["group_id"] = self._group_param(data["group_id"])
        if "assignee_id" in data or "assignee_email" in data:
            changes["assignee_id"] = self._assignee_param(data)
        if "requester_id" in data:
            changes["requester_id"] = self._user_param(data["requester_id"], "requester_id")
        if "tags" in data:
            changes["tags"] = _tags_param(data["tags"])  # ref §3: tags replace on PUT.
        custom_fields = _custom_fields_param(data.get("custom_fields", []))
        comment = None
        if "comment" in data:
            comment = self._comment_param(data["comment"], default_author=actor_id)
            if len(self._comments[ticket.id]) >= MAX_COMMENTS:
                raise _record_invalid("comment", f"Comment: a ticket holds at most {MAX_COMMENTS}")
            # ref §3: Zendesk's native rules reopen a solved ticket when its end-user requester
            # replies publicly. A status sent in the same update wins.
            if (
                comment.public
                and "status" not in data
                and ticket.status == "solved"
                and comment.author_id == ticket.requester_id
                and self._users[comment.author_id].role == "end-user"
            ):
                changes["status"] = "open"

        now = self._clock()
        audit_id = next(self._ids["audit"])
        events: list[dict[str, Any]] = []
        for name, value in changes.items():
            previous = getattr(ticket, name)
            if value != previous:
                setattr(ticket, name, value)
                events.append(self._change_event(name, value, previous))
        for field_id, value in custom_fields.items():
            previous = ticket.custom_fields.get(field_id)
            if value != previous:
                ticket.custom_fields[field_id] = value
                events.append(self._change_event(str(field_id), value, previous))
        if comment is not None:
            stored = self._store_comment(ticket, comment, audit_id, now)
            events.append({"type": "Comment", **self._render_comment(stored)})
        if events:
            ticket.updated_at = now
        return {
            "id": audit_id,
            "ticket_id": ticket.id,
            "created_at": _timestamp(now),
            "author_id": actor_id,
            "metadata": {},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": events,
        }

    def _change_event(self, name: str, value: Any, previous: Any) -> dict[str, Any]:
        return {
            "id": next(self._ids["event"]),
            "type": "Change",
            "field_name": name,
            "value": value,
            "previous_value": previous,
        }

    def _store_comment(
        self, ticket: _Ticket, comment: _NewComment, audit_id: int, now: datetime
    ) -> _Comment:
        stored = _Comment(
            id=next(self._ids["event"]),
            author_id=comment.author_id,
            body=comment.body,
            html_body=comment.html_body,
            public=comment.public,
            audit_id=audit_id,
            created_at=now,
        )
        self._comments[ticket.id].append(stored)
        return stored

    def _ticket_or_404(self, ticket_id: int) -> _Ticket:
        ticket = self._tickets.get(ticket_id)
        if ticket is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})  # ref §5.
        return ticket

    # ------------------------------------------------------------------ parameters

    def _comment_param(self, value: Any, *, default_author: int) -> _NewComment:
        if not isinstance(value, dict):
            raise _record_invalid("comment", "Comment: must be an object")
        body, html_body = value.get("body"), value.get("html_body")
        if isinstance(html_body, str) and html_body:
            text = _plain_text(html_body)
        elif isinstance(body, str) and body:
            text, html_body = body, f"<p>{escape(body)}</p>"
        else:
            raise _record_invalid("comment", "Comment: cannot be blank", "BlankValue")
        public = value.get("public", True)  # ref §3: comments are public unless told otherwise.
        if not isinstance(public, bool):
            raise _record_invalid("comment", "Comment: public must be true or false")
        author_id = self._user_param(value.get("author_id", default_author), "author_id")
        return _NewComment(text, html_body, public, author_id)

    def _user_param(self, value: Any, name: str) -> int:
        if _is_id(value) and value in self._users:
            return value
        raise _record_invalid(name, f"{_label(name)}: no user with id {value!r}")

    def _group_param(self, value: Any) -> int | None:
        if value is None or (_is_id(value) and value in self._groups):
            return value
        raise _record_invalid("group_id", f"Group: no group with id {value!r}")

    def _assignee_param(self, data: dict[str, Any]) -> int | None:
        if data.get("assignee_email") is not None:
            user = self._user_by_email(data["assignee_email"])
        elif data.get("assignee_id") is not None:
            user = self._users.get(data["assignee_id"]) if _is_id(data["assignee_id"]) else None
        else:
            return None
        if user is None or user.role == "end-user":
            raise _record_invalid("assignee_id", "Assignee: is not an agent")
        return user.id

    def _requester_param(
        self, data: dict[str, Any], *, default: int
    ) -> int | tuple[str, str | None]:
        """The requester's id, or (name, email) of an end-user to create once all is valid."""
        if "requester_id" in data:
            return self._user_param(data["requester_id"], "requester_id")
        if "requester" not in data:
            return default
        requester = data["requester"]
        if not isinstance(requester, dict):
            raise _record_invalid("requester", "Requester: must be an object")
        name, email = _optional_str(requester, "name"), _optional_str(requester, "email")
        if email:
            existing = self._user_by_email(email)
            if existing is not None:
                return existing.id
        if not (name or email):
            raise _record_invalid("requester", "Requester: needs a name or an email", "BlankValue")
        return (name or str(email).partition("@")[0], email)

    def _followup_source_param(self, value: Any) -> _Ticket | None:
        if value is None:
            return None
        source = self._tickets.get(value) if _is_id(value) else None
        if source is None or source.status != "closed":
            # ref §3: via_followup_source_id only works with closed tickets. Emulator wording.
            raise _record_invalid(
                "via_followup_source_id",
                "Via followup source id: only closed tickets can have follow-ups",
            )
        return source

    # ------------------------------------------------------------------ users and groups

    def _show_me(self, call: _Call) -> _Reply:
        return _Reply(200, {"user": self._render_user(self._users[call.user_id])})

    def _show_user(self, call: _Call) -> _Reply:
        user = self._users.get(call.params["user_id"])
        if user is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return _Reply(200, {"user": self._render_user(user)})

    def _search_users(self, call: _Call) -> _Reply:
        query = call.request.query
        users = sorted(self._users.values(), key=lambda u: u.id)
        if "external_id" in query:
            # ref §4: external_id is an exact match, not search syntax.
            found = [u for u in users if u.external_id == query["external_id"]]
        elif "query" in query:
            found = [u for u in users if _matches_search(u, query["query"])]
        else:
            found = []
        items = [self._render_user(u) for u in found]
        # ref §4: user search has offset pagination only.
        return _Reply(200, self._paginate(call, "users", items, cursor=False))

    def _create_or_update_user(self, call: _Call) -> _Reply:
        data = _object_param(call.request.json, "user")
        email = _optional_str(data, "email")
        external_id = _external_id(data.get("external_id"))
        role = _choice(data, "role", ROLES) if "role" in data else None
        name = _optional_str(data, "name")
        # ref §4: match by email, or by external_id ignoring case.
        user = self._user_by_email(email) if email else None
        if user is None and external_id is not None:
            user = next(
                (
                    u
                    for u in self._users.values()
                    if u.external_id is not None
                    and u.external_id.casefold() == external_id.casefold()
                ),
                None,
            )
        now = self._clock()
        if user is not None:
            for attribute, value in (
                ("name", name),
                ("email", email),
                ("external_id", external_id),
                ("role", role),
            ):
                if value is not None:
                    setattr(user, attribute, value)
            user.updated_at = now
            status = 200
        else:
            if not name:
                raise _record_invalid(
                    "name", "Name: is too short", "BlankValue"
                )  # Emulator wording.
            user = self._new_user(name, email, role or "end-user", external_id, now)
            status = 201
        # ref §4: 200 for an existing user, 201 for a new one, with a Location header.
        location = f"{self.base_url}/api/v2/users/{user.id}.json"
        return _Reply(status, {"user": self._render_user(user)}, {"Location": location})

    def _list_groups(self, call: _Call) -> _Reply:
        items = [self._render_group(g) for _, g in sorted(self._groups.items())]
        return _Reply(200, self._paginate(call, "groups", items))

    def _new_user(
        self, name: str, email: str | None, role: str, external_id: str | None, now: datetime
    ) -> _User:
        user = _User(next(self._ids["user"]), name, email, role, external_id, now, now)
        self._users[user.id] = user
        return user

    def _user_by_email(self, email: Any) -> _User | None:
        if not isinstance(email, str):
            return None
        wanted = email.casefold()
        return next(
            (u for u in self._users.values() if u.email and u.email.casefold() == wanted), None
        )

    # ------------------------------------------------------------------ pagination

    def _paginate(
        self, call: _Call, key: str, items: list[dict[str, Any]], *, cursor: bool = True
    ) -> dict[str, Any]:
        # ref §7: page[size] selects cursor pagination; without it, offset pagination.
        if cursor and "page[size]" in call.request.query:
            return self._cursor_page(call, key, items)
        return self._offset_page(call, key, items)

    def _offset_page(self, call: _Call, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        query = call.request.query
        per_page = _int_query(query, "per_page", default=MAX_PAGE_SIZE, high=MAX_PAGE_SIZE)
        page = _int_query(query, "page", default=1)
        start = (page - 1) * per_page
        has_next = start + per_page < len(items)
        return {
            key: items[start : start + per_page],
            "next_page": self._link(call, page=page + 1, per_page=per_page) if has_next else None,
            "previous_page": self._link(call, page=page - 1, per_page=per_page)
            if page > 1
            else None,
            "count": len(items),
        }

    def _cursor_page(self, call: _Call, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        query = call.request.query
        size = _int_query(query, "page[size]", default=MAX_PAGE_SIZE, high=MAX_PAGE_SIZE)
        ids = [item["id"] for item in items]
        if "page[after]" in query:
            start = _cursor_position(ids, query["page[after]"]) + 1
            end = start + size
        elif "page[before]" in query:
            end = _cursor_position(ids, query["page[before]"])
            start = max(end - size, 0)
        else:
            start, end = 0, size
        chunk = items[start:end]
        has_more = end < len(items)
        after = _cursor(chunk[-1]["id"]) if chunk else None
        before = _cursor(chunk[0]["id"]) if chunk else None
        return {
            key: chunk,
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
            "links": {
                "next": self._link(call, **{"page[size]": size, "page[after]": after})
                if has_more
                else None,
                "prev": self._link(call, **{"page[size]": size, "page[before]": before})
                if start > 0
                else None,
            },
        }

    def _link(self, call: _Call, **page: Any) -> str:
        kept = {
            k: v
            for k, v in call.request.query.items()
            if k not in {"page", "per_page", "page[size]", "page[after]", "page[before]"}
        }
        return f"{self.base_url}{call.request.path}?{urlencode({**kept, **page})}"

    # ------------------------------------------------------------------ rendering

    def _render_ticket(self, ticket: _Ticket) -> dict[str, Any]:
        source: dict[str, Any] = {"from": {}, "to": {}, "rel": None}
        parent = self._tickets.get(ticket.followup_source_id or 0)
        if parent is not None:
            # Zendesk records a follow-up's parent in via.source, not in a ticket field. (P)
            source = {
                "from": {"ticket_id": parent.id, "subject": parent.subject},
                "to": {},
                "rel": "follow_up",
            }
        return {
            "url": f"{self.base_url}/api/v2/tickets/{ticket.id}.json",
            "id": ticket.id,
            "external_id": ticket.external_id,
            "via": {"channel": "api", "source": source},
            "created_at": _timestamp(ticket.created_at),
            "updated_at": _timestamp(ticket.updated_at),
            "type": ticket.type,
            "subject": ticket.subject,
            "raw_subject": ticket.subject,
            "description": ticket.description,
            "priority": ticket.priority,
            "status": ticket.status,
            "requester_id": ticket.requester_id,
            "submitter_id": ticket.submitter_id,
            "assignee_id": ticket.assignee_id,
            "organization_id": None,
            "group_id": ticket.group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "is_public": ticket.is_public,
            "due_at": None,
            "tags": list(ticket.tags),
            "custom_fields": [{"id": k, "value": v} for k, v in ticket.custom_fields.items()],
            "followup_ids": list(ticket.followup_ids),
            "has_incidents": False,
            "allow_attachments": True,
        }

    def _render_comment(self, comment: _Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "type": "Comment",
            "author_id": comment.author_id,
            "body": comment.body,
            "html_body": comment.html_body,
            "plain_body": comment.body,
            "public": comment.public,
            "attachments": [],
            "audit_id": comment.audit_id,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {},
            "created_at": _timestamp(comment.created_at),
        }

    def _render_users(self, ids: Iterable[int | None]) -> list[dict[str, Any]]:
        """The users `ids` name, each once, in the order named."""
        known = [self._users[i] for i in dict.fromkeys(ids) if i is not None and i in self._users]
        return [self._render_user(user) for user in known]

    def _render_user(self, user: _User) -> dict[str, Any]:
        return {
            "id": user.id,
            "url": f"{self.base_url}/api/v2/users/{user.id}.json",
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "external_id": user.external_id,
            "active": True,
            "verified": True,
            "created_at": _timestamp(user.created_at),
            "updated_at": _timestamp(user.updated_at),
        }

    def _render_group(self, group: _Group) -> dict[str, Any]:
        return {
            "id": group.id,
            "url": f"{self.base_url}/api/v2/groups/{group.id}.json",
            "name": group.name,
            "description": "",
            "default": False,
            "deleted": False,
            "is_public": True,
            "created_at": _timestamp(group.created_at),
            "updated_at": _timestamp(group.created_at),
        }


class _WithheldAnswer(Response):
    """A response that never comes: it sends nothing until the client hangs up.

    ASGI has no way to reset a connection, and an app that raises before answering makes
    uvicorn send a 500. Returning without a response after the client disconnected is the
    ordinary ASGI way to end a request, so this waits for `http.disconnect` instead.
    """

    def __init__(self, stopping: threading.Event) -> None:
        super().__init__(status_code=503)
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while not self._stopping.is_set():
            with anyio.move_on_after(_POLL_INTERVAL):
                if (await receive())["type"] == "http.disconnect":
                    return
        # serve() is stopping and uvicorn waits for open requests; answer so it can finish.
        body = {"error": "EmulatorStopped", "description": "The emulator shut down"}
        await _render(_Reply(503, body, {"Connection": "close"}), {})(scope, receive, send)


@contextmanager
def serve(emulator: ZendeskEmulator, *, startup_timeout: float = 5.0) -> Iterator[str]:
    """Serve the emulator with uvicorn on 127.0.0.1 in a background thread; yield its base URL.

    Raises RuntimeError when the server is not up within `startup_timeout` seconds.
    """
    # Binding port 0 here and handing uvicorn the socket avoids the race between finding
    # a free port and binding it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # log_config=None leaves the process's logging alone; uvicorn's loggers propagate to root.
    config = uvicorn.Config(
        emulator.app, http="h11", lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="zendesk-emulator", daemon=True
    )
    emulator._stopping.clear()
    emulator.base_url = base_url
    thread.start()
    try:
        _wait_until(lambda: server.started or not thread.is_alive(), startup_timeout)
        if not server.started:
            raise RuntimeError(f"Zendesk emulator did not start on {base_url}")
        yield base_url
    finally:
        # Release withheld answers and delays first: uvicorn's graceful shutdown waits for
        # every open request to finish.
        emulator._stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


# ---------------------------------------------------------------------- helpers


def _predicate(
    method: str | None, path: str | re.Pattern[str] | None
) -> tuple[str | None, re.Pattern[str] | None]:
    return (method.upper() if method else None, re.compile(path) if path is not None else None)


def _take(rules: list[_Rule], request: RecordedRequest) -> _Rule | None:
    """The first rule matching `request`, used up by one; None when no rule matches."""
    for rule in rules:
        if rule.matches(request):
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    rules.remove(rule)
            return rule
    return None


def _default_failure_body(status: int) -> dict[str, Any]:
    if status == 429:
        return dict(RATE_LIMITED_BODY)
    # Emulator wording: the reference did not capture Zendesk's 5xx bodies (ref §5, U).
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = f"HTTP {status}"
    return {"error": phrase.replace(" ", ""), "description": phrase}


def _render(reply: _Reply, rate_headers: Mapping[str, str]) -> Response:
    if isinstance(reply.body, (bytes, str)):
        content, content_type = reply.body, TEXT_CONTENT_TYPE
    else:
        content, content_type = orjson.dumps(reply.body), JSON_CONTENT_TYPE
    headers = {**rate_headers, **reply.headers, "Content-Type": content_type}
    return Response(content, status_code=reply.status, headers=headers)


def _record_invalid(name: str, description: str, error: str | None = "InvalidValue") -> ApiError:
    """A 422 in Zendesk's RecordInvalid shape, with one detail under `name` (ref §5)."""
    detail = {"description": description}
    if error is not None:
        detail["error"] = error
    body = {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {name: [detail]},
    }
    return ApiError(422, body)


def _check_transition(current: str, new: str) -> None:
    # Zendesk never lets a ticket return to New. Emulator wording.
    if new == "new":
        raise _record_invalid("status", "Status: cannot be changed back to new")
    # Closed is only reached from solved, so clients close through solved. Emulator wording.
    if new == "closed" and current != "solved":
        raise _record_invalid(
            "status", f"Status: {current} cannot change to closed; solve it first"
        )


def _object_param(payload: Any, name: str) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get(name), dict):
        # Emulator wording: the reference does not record Zendesk's answer.
        body = {"error": "InvalidParameter", "description": f"Expected an object under {name!r}"}
        raise ApiError(400, body)
    return payload[name]


def _choice(
    data: dict[str, Any], name: str, allowed: Sequence[str], *, nullable: bool = False
) -> str | None:
    value = data[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise _record_invalid(name, f"{_label(name)}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise _record_invalid(name, f"{_label(name)}: must be a string")
    return value


def _external_id(value: Any) -> str | None:
    # ref §2b/§3: external ids are strings, so a number sent by a client comes back as one.
    return None if value is None else str(value)


def _tags_param(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _record_invalid("tags", "Tags: must be a list of strings")
    return list(dict.fromkeys(value))  # Zendesk keeps a tag once.


def _custom_fields_param(value: Any) -> dict[int, Any]:
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and _is_id(item.get("id")) for item in value
    ):
        raise _record_invalid("custom_fields", 'Custom fields: must be a list of {"id", "value"}')
    return {item["id"]: item.get("value") for item in value}


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _matches_search(user: _User, query: str) -> bool:
    """Enough of Zendesk's search syntax for `email:x` and plain words (ref §4)."""
    for term in query.split():
        if term.startswith("email:"):
            wanted = term.removeprefix("email:").strip('"').casefold()
            if (user.email or "").casefold() != wanted:
                return False
        elif term.casefold() not in f"{user.name} {user.email or ''}".casefold():
            return False
    return bool(query.split())


def _includes(query: Mapping[str, str]) -> set[str]:
    """The sideloads `include` asks for (ref §8: a comma-separated list); Zendesk answers
    without the ones an endpoint does not offer (emulator choice: ignored, not refused)."""
    return {name.strip() for name in query.get("include", "").split(",") if name.strip()}


def _int_query(
    query: Mapping[str, str], name: str, *, default: int, high: int | None = None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        # Emulator wording.
        raise ApiError(400, {"error": "InvalidPaginationParameter", "description": f"Bad {name}"})
    return min(value, high) if high is not None else value


def _cursor(item_id: int) -> str:
    # Opaque to clients, as Zendesk's cursors are; it names the item the page ends at.
    return base64.urlsafe_b64encode(f"id:{item_id}".encode()).decode()


def _cursor_position(ids: list[int], cursor: str) -> int:
    try:
        item_id = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("id:"))
        return ids.index(item_id)
    except (ValueError, binascii.Error):
        # Emulator wording.
        body = {"error": "InvalidPaginationParameter", "description": "Bad cursor"}
        raise ApiError(400, body) from None


def _timestamp(moment: datetime) -> str:
    # Zendesk writes ISO-8601 UTC with seconds, e.g. 2021-03-25T05:09:27Z (ref §1).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain_text(html_body: str) -> str:
    """The text of an html_body comment, as Zendesk fills `body` from it."""
    parser = _TextExtractor()
    parser.feed(html_body)
    parser.close()
    return "".join(parser.parts).strip()


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
